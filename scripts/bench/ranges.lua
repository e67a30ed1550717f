-- wrk script: GET $FOUNT_BENCH_PATH with a Range of 1 to 4 spans of four whole sealed chunks
-- (16 KiB of audio and a 16-byte tag each, so 64 KiB of audio a span) at a random span of a
-- file of $FOUNT_BENCH_SIZE bytes, as a player seeking and reading ahead asks for them.
-- Without FOUNT_BENCH_SIZE, the whole file.
local path = os.getenv("FOUNT_BENCH_PATH")
local size = tonumber(os.getenv("FOUNT_BENCH_SIZE") or "0")
-- Spans start after the file's 68-byte header, so each is whole chunks.
local header = 68
local chunk = 4 * (16384 + 16)

function init(args)
  math.randomseed(os.time() + math.floor(os.clock() * 1000000))
end

function request()
  if size == 0 then
    return wrk.format("GET", path)
  end
  local chunks = math.floor((size - header) / chunk)
  local span = math.random(4)
  local first = header + math.random(0, chunks - span) * chunk
  local last = math.min(first + span * chunk, size) - 1
  return wrk.format("GET", path, { ["Range"] = "bytes=" .. first .. "-" .. last })
end
