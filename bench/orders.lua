-- wrk script for bench/http_bench.sh (and bench/edge_sold_out.sh): POST /orders, every request
-- a new user (so no per-user limit or idempotency replay interferes) and no Idempotency-Key,
-- one unit of the product "bench", or of the product in the environment variable PRODUCT.
-- BODY=node adds "request_id": null, which the node reads as no key but the edge's sold-out
-- rules do not accept (node/edge_sold_out.hpp): the node answers such a buyer itself.
local counter = 0
local thread_id = 0
local threads = {}
local product = os.getenv("PRODUCT") or "bench"
local extra = os.getenv("BODY") == "node" and ',"request_id":null' or ""

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
  local body = string.format('{"user_id":"u-%d-%d","product_id":"%s","quantity":1%s}', tid,
                             counter, product, extra)
  return wrk.format(nil, "/orders", nil, body)
end
