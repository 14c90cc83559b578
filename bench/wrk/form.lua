-- wrk script: POST a form over and over, one identifier after another, and report as JSON.
--
--   wrk -t T -c C -d S -s form.lua http://127.0.0.1:PORT -- PATH FIELD NAMES_FILE TOKEN
--       COOKIE EXPECT [EXTRA]
--
-- Every connection sends the same CSRF cookie and token (fetched once by bench/load.py) and
-- the next identifier from NAMES_FILE (one per line) in FIELD, plus EXTRA (already encoded,
-- e.g. "&password=..."). A response whose status is not EXPECT counts as an error.

local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

local function urlencode(text)
  return (text:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

function init(args)
  path, field, token, cookie = args[1], args[2], args[4], args[5]
  expect, extra = tonumber(args[6]), args[7] or ""
  names = {}
  for line in io.lines(args[3]) do
    if line ~= "" then table.insert(names, urlencode(line)) end
  end
  counter, errors, statuses = id * 7919, 0, {}
  headers = {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Cookie"] = cookie,
    ["Origin"] = wrk.scheme .. "://" .. wrk.host .. ":" .. wrk.port,
    ["Accept-Language"] = "es-CO",
    ["User-Agent"] = "portero-bench/1",  -- as bench/harness.py BROWSER_HEADERS
  }
end

function request()
  counter = counter + 1
  local body = "csrfmiddlewaretoken=" .. token .. "&" .. field .. "=" ..
               names[(counter % #names) + 1] .. extra
  return wrk.format("POST", path, headers, body)
end

function response(status, hdrs, body)
  if status ~= expect then
    errors = errors + 1
    statuses[status] = true
  end
end

function done(summary, latency, requests)
  local errors_total, seen = 0, {}
  for _, thread in ipairs(threads) do
    errors_total = errors_total + thread:get("errors")
    for status, _ in pairs(thread:get("statuses")) do seen[#seen + 1] = tostring(status) end
  end
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "errors": %d, ' ..
    '"socket_errors": %d, "error_statuses": [%s]}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    errors_total, summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.timeout, table.concat(seen, ",")))
end
