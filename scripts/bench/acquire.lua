-- wrk script: POST /v1/me/licenses, cycling over the customers that `issuance_bench setup`
-- wrote to $FOUNT_BENCH_CLIENTS (one "token device title" per line).
local clients = {}
local n = 0

function init(args)
  for line in io.lines(os.getenv("FOUNT_BENCH_CLIENTS")) do
    local token, device, title = line:match("(%S+) (%S+) (%S+)")
    clients[#clients + 1] = {
      headers = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token },
      body = '{"title":"' .. title .. '","device":"' .. device .. '"}',
    }
  end
  n = math.random(#clients)
end

function request()
  n = n % #clients + 1
  local c = clients[n]
  return wrk.format("POST", "/v1/me/licenses", c.headers, c.body)
end
