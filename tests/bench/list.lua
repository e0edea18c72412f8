-- list.lua: ListTrainingJobs, 100 per page, newest first, with a status filter.
-- wrk ... -s list.lua URL
local dir = debug.getinfo(1, "S").source:sub(2):match("^(.*)/[^/]*$") or "."
local common = dofile(dir .. "/common.lua")
local req

setup = common.setup
done = common.done

function init(args)
   req = common.post("ListTrainingJobs",
      '{"MaxResults":100,"StatusEquals":"Completed","SortBy":"CreationTime",'
      .. '"SortOrder":"Descending"}')
end

function request()
   return req
end
