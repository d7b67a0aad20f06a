-- wrk script for bench/cluster_headline.sh: POST /orders, every request a new user (as
-- bench/orders.lua: no per-user limit, no Idempotency-Key) for one unit of PRODUCT, and a record
-- of every answer, in files named after OUT (one wrk process's prefix) and the thread:
--   OUT-<thread>.ids        the order id of every 201, one a line (written as they come)
--   OUT-<thread>.timeline   "second status count" lines: answers per wall-clock second and
--                           status; a status other than 201 and 409 comes with the error
--                           code of its body ("503:unavailable"), and a 503 without
--                           Retry-After ends in ":no-retry-after" (an error)
--   OUT.summary             wrk's own counts (requests, socket errors), requests sent, the last second of
--                           each thread's timeline ("tail" lines) and the latency quantiles
-- TAG makes the user ids of one wrk process differ from every other's.
local thread_id = 0
local threads = {}
local product = os.getenv("PRODUCT") or "bench"
local out = os.getenv("OUT") or "/tmp/headline"
local tag = os.getenv("TAG") or "x"

function setup(thread)
  thread:set("tid", thread_id)
  thread_id = thread_id + 1
  table.insert(threads, thread)
end

function init(args)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  counter = 0
  second = nil
  per = {}
  ids = io.open(string.format("%s-%d.ids", out, tid), "w")
  ids:setvbuf("line")
  timeline = io.open(string.format("%s-%d.timeline", out, tid), "w")
  timeline:setvbuf("line")
end

function request()
  counter = counter + 1
  local body = string.format('{"user_id":"u-%s-%d-%d","product_id":"%s","quantity":1}', tag, tid,
                             counter, product)
  return wrk.format(nil, "/orders", nil, body)
end

local function flush()
  if second then
    for status, n in pairs(per) do
      timeline:write(string.format("%d %s %d\n", second, status, n))
    end
  end
  per = {}
end

function response(status, headers, body)
  local now = os.time()
  if now ~= second then
    flush()
    second = now
  end
  local key = tostring(status)
  if status ~= 201 and status ~= 409 then
    -- which refusal: the error code of the body ("503:unavailable"), or "-" when there is none
    key = key .. ":" .. (string.match(body, '"code":"([^"]+)"') or "-")
  end
  if status == 201 then
    ids:write((string.match(body, '"order_id":"([^"]+)"') or "?"), "\n")
  elseif status == 503 then
    local retry = false
    for name, _ in pairs(headers) do
      if string.lower(name) == "retry-after" then
        retry = true
      end
    end
    if not retry then
      key = key .. ":no-retry-after"
    end
  end
  per[key] = (per[key] or 0) + 1
end

function done(summary, latency, requests)
  local f = io.open(out .. ".summary", "w")
  -- The last second of each thread: its counts are still in the thread's state.
  for _, t in ipairs(threads) do
    local s, p = t:get("second"), t:get("per")
    if s and p then
      for status, n in pairs(p) do
        f:write(string.format("tail %d %s %d\n", s, status, n))
      end
    end
  end
  -- Requests sent (request() runs once a connection is up, so a refused connect sends none):
  -- sent - answered is the buyers whose request went out and never got an answer.
  local sent = 0
  for _, t in ipairs(threads) do
    sent = sent + (t:get("counter") or 0)
  end
  f:write(string.format("sent %d\n", sent))
  local e = summary.errors
  f:write(string.format("requests %d\nduration_us %d\nconnect %d\nread %d\nwrite %d\n" ..
                        "status %d\ntimeout %d\n", summary.requests, summary.duration,
                        e.connect, e.read, e.write, e.status, e.timeout))
  -- The latency distribution as quantiles (wrk's stats cannot be read bucket by bucket from
  -- Lua): "q <percent> <µs>", fine above the 90th, for merging across processes.
  if summary.requests > 0 then
    for i = 1, 89 do
      f:write(string.format("q %.2f %d\n", i, latency:percentile(i)))
    end
    for i = 9000, 9999 do
      f:write(string.format("q %.2f %d\n", i / 100, latency:percentile(i / 100)))
    end
    f:write(string.format("q 100 %d\n", latency.max))
  end
  f:close()
end
