-- describe.lua: DescribeTrainingJob on random existing jobs.
-- wrk ... -s describe.lua URL -- PREFIX COUNT   (jobs PREFIX0000000 .. PREFIX<COUNT-1>)
-- Each thread draws a pool of up to 20,000 random names at start and cycles through it, so
-- that the client spends its time sending, not formatting (wrk shares the server's cores).
local dir = debug.getinfo(1, "S").source:sub(2):match("^(.*)/[^/]*$") or "."
local common = dofile(dir .. "/common.lua")
local pool, size, i = {}, 0, 0

setup = common.setup
done = common.done

function init(args)
   local prefix = args[1] or "seed-"
   local count = tonumber(args[2] or "1")
   math.randomseed(os.time() * 100 + (thread_id or 0))
   size = math.min(count, 20000)
   for k = 1, size do
      local name = string.format("%s%07d", prefix, math.random(0, count - 1))
      pool[k] = common.post("DescribeTrainingJob", '{"TrainingJobName":"' .. name .. '"}')
   end
end

function request()
   i = i % size + 1
   return pool[i]
end
