-- wrk script: POST /v1/me/licenses, cycling over the customers that `issuance_bench setup`
-- wrote to $FOUNT_BENCH_CLIENTS (one "token device title" per line).
--
-- With $FOUNT_BENCH_RATE (requests per second, all threads together) and
-- $FOUNT_BENCH_THREADS (wrk's -t), requests are paced instead of sent as fast as answers
-- come: each thread keeps a schedule of evenly spaced sends on a monotonic clock, as an open
-- loop does. A thread that falls behind (its connections all waiting on slow answers) sends
-- as soon as a connection is free until it is back on schedule, so a pause of the server is
-- made up afterwards rather than lost; it gives up on the slots more than CATCH_UP_MS old,
-- so a server that cannot keep the rate shows it as a rate below the one asked.
local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } fount_timespec;
  int clock_gettime(int clock, fount_timespec *ts);
]]
local CLOCK_MONOTONIC = 1
local ts = ffi.new("fount_timespec")
local function now_ms()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

local clients = {}
local n = 0
local interval -- ms between two requests of this thread; nil when not paced
local next_at

function init(args)
  for line in io.lines(os.getenv("FOUNT_BENCH_CLIENTS")) do
    local token, device, title = line:match("(%S+) (%S+) (%S+)")
    -- Formatted once: wrk shares the two cores with the server, so what it spends building
    -- a request is the server's capacity lost.
    clients[#clients + 1] = wrk.format("POST", "/v1/me/licenses",
      { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token },
      '{"title":"' .. title .. '","device":"' .. device .. '"}')
  end
  n = math.random(#clients)
  local rate = tonumber(os.getenv("FOUNT_BENCH_RATE") or "")
  if rate then
    interval = 1000 * tonumber(os.getenv("FOUNT_BENCH_THREADS") or "1") / rate
  end
end

-- How far behind its schedule a thread may fall and still catch up, in ms.
local CATCH_UP_MS = 1000

function delay()
  if not interval then return 0 end
  local t = now_ms()
  local at = math.max(next_at or t, t - CATCH_UP_MS)
  next_at = at + interval
  return math.max(0, math.floor(at - t + 0.5))
end

function request()
  n = n % #clients + 1
  return clients[n]
end
