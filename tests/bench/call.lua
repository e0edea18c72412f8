-- call.lua: one fixed awsJson request, of any service, again and again.
-- wrk ... -s call.lua URL -- TARGET CONTENT_TYPE SERVICE BODYFILE
--   TARGET        the X-Amz-Target, e.g. Logs_20140328.GetLogEvents
--   CONTENT_TYPE  application/x-amz-json-1.1 (SageMaker, CloudWatch Logs) or -1.0 (CloudWatch)
--   SERVICE       the SigV4 signing name of the Authorization header: sagemaker, logs, monitoring
--   BODYFILE      a file holding the JSON body (bench.py writes it, and checks the response
--                 to it once before timing)
local dir = debug.getinfo(1, "S").source:sub(2):match("^(.*)/[^/]*$") or "."
local common = dofile(dir .. "/common.lua")
local req

setup = common.setup
done = common.done

function init(args)
   assert(args[4], "usage: -- TARGET CONTENT_TYPE SERVICE BODYFILE")
   local body = common.read(args[4]):gsub("%s+$", "")
   req = common.rpc(args[1], args[2], args[3], body)
end

function request()
   return req
end
