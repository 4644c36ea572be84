-- wrk script for bench/redemption.py: one wrk thread per client, each a dealer with its own API token and code.
--
-- Arguments (after `--`): the clients file (one "<api token> <code token>" per line), the path to POST to, the amount
-- in minor units and a run id that keeps Idempotency-Keys unique across runs. Every request carries a fresh
-- Idempotency-Key. Prints one JSON line at the end: requests, seconds, latency percentiles in ms, and the responses
-- that were not 201 or failed at the socket level.

local threads = {}
local next_index = 1

function setup(thread)
  thread:set("index", next_index)
  next_index = next_index + 1
  table.insert(threads, thread)
end

function init(args)
  local clients_file, path, amount, run_id = args[1], args[2], args[3], args[4]
  local lines = {}
  for line in io.lines(clients_file) do
    table.insert(lines, line)
  end
  local api_token, code_token = lines[index]:match("^(%S+) (%S+)$")
  request_path = path
  key_prefix = string.format("%s-%d-", run_id, index)
  sent = 0
  not_created = 0
  headers = {
    ["Authorization"] = "Bearer " .. api_token,
    ["Content-Type"] = "application/json",
  }
  body = string.format('{"token": "%s", "amount": %s, "currency": "EUR"}', code_token, amount)
end

function request()
  sent = sent + 1
  headers["Idempotency-Key"] = key_prefix .. sent
  return wrk.format("POST", request_path, headers, body)
end

function response(status, headers, body)
  if status ~= 201 then
    not_created = not_created + 1
  end
end

function done(summary, latency, requests)
  local refused = 0
  for _, thread in ipairs(threads) do
    refused = refused + thread:get("not_created")
  end
  local errors = summary.errors
  io.write(string.format(
    '{"requests": %d, "seconds": %.6f, "p50_ms": %.3f, "p90_ms": %.3f, "p99_ms": %.3f, "max_ms": %.3f, '
      .. '"mean_ms": %.3f, "not_created": %d, "socket_errors": %d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1e3, latency:percentile(90) / 1e3,
    latency:percentile(99) / 1e3, latency.max / 1e3, latency.mean / 1e3, refused,
    errors.connect + errors.read + errors.write + errors.timeout
  ))
end
