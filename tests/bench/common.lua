-- common.lua: what every benchmark script shares (loaded by describe.lua, list.lua,
-- create.lua, call.lua). The requests look like an AWS SDK's: an awsJson POST with X-Amz-Target
-- and a SigV4 Authorization header (signatures are not checked by sagemock nor by moto; the
-- credential scope names the region and the signing service). done() prints one
-- machine-readable line, BENCH_RESULT {json}, that tests/bench/bench.py reads.

local common = {}

common.headers = {
   ["Content-Type"] = "application/x-amz-json-1.1",
   ["X-Amz-Date"] = "20240101T000000Z",
   ["Authorization"] = "AWS4-HMAC-SHA256 Credential=AKIDBENCHMARK/20240101/us-east-1/"
      .. "sagemaker/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, "
      .. "Signature=0000000000000000000000000000000000000000000000000000000000000000",
}

function common.post(operation, body)
   local h = {}
   for k, v in pairs(common.headers) do h[k] = v end
   h["X-Amz-Target"] = "SageMaker." .. operation
   return wrk.format("POST", "/", h, body)
end

-- Any awsJson call: target "Logs_20140328.GetLogEvents", content type
-- "application/x-amz-json-1.0" or "-1.1", service the SigV4 signing name ("logs", "monitoring").
function common.rpc(target, content_type, service, body)
   local h = {}
   for k, v in pairs(common.headers) do h[k] = v end
   h["Content-Type"] = content_type
   h["X-Amz-Target"] = target
   h["Authorization"] = h["Authorization"]:gsub("/sagemaker/", "/" .. service .. "/", 1)
   return wrk.format("POST", "/", h, body)
end

function common.read(path)
   local f = assert(io.open(path, "rb"))
   local s = f:read("*a")
   f:close()
   return s
end

-- One thread id per wrk thread, for unique names and random seeds.
local next_id = 0
function common.setup(thread)
   next_id = next_id + 1
   thread:set("thread_id", next_id)
end

function common.done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      'BENCH_RESULT {"requests":%d,"duration_us":%d,"bytes":%d,'
      .. '"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,'
      .. '"p50_us":%d,"p99_us":%d,"mean_us":%.1f,"max_us":%d}\n',
      summary.requests, summary.duration, summary.bytes,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency:percentile(50), latency:percentile(99), latency.mean, latency.max))
end

return common
