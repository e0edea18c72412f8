-- create.lua: CreateTrainingJob with fresh names: PREFIX-<thread>-<n>, a counter per thread.
-- wrk ... -s create.lua URL -- PREFIX   (PREFIX: letters, digits and hyphens, <= 40 chars)
-- The body is request.json with its @NAME@ replaced.
local dir = debug.getinfo(1, "S").source:sub(2):match("^(.*)/[^/]*$") or "."
local common = dofile(dir .. "/common.lua")
local prefix, head, tail
local n = 0

setup = common.setup
done = common.done

function init(args)
   prefix = (args[1] or "bench") .. "-" .. tostring(thread_id or 0) .. "-"
   local template = common.read(dir .. "/request.json"):gsub("%s+$", "")
   local at = assert(template:find("@NAME@", 1, true), "request.json has no @NAME@")
   head, tail = template:sub(1, at - 1), template:sub(at + 6)
end

function request()
   n = n + 1
   return common.post("CreateTrainingJob", head .. prefix .. n .. tail)
end
