-- wrk script for bench/http_bench.sh: POST /orders, every request a new user (so no per-user
-- limit or idempotency replay interferes), one unit of the product "bench".
local counter = 0
local thread_id = 0
local threads = {}

function setup(thread)
  thread:set("tid", thread_id)
  thread_id = thread_id + 1
end

function init(args)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  counter = counter + 1
  local body = string.format('{"user_id":"u-%d-%d","product_id":"bench","quantity":1}', tid, counter)
  return wrk.format(nil, "/orders", nil, body)
end
