-- describe.lua: DescribeTrainingJob on random existing jobs.
-- wrk ... -s describe.lua URL -- PREFIX COUNT [MOD RESIDUES]
--   jobs PREFIX0000000 .. PREFIX<COUNT-1>; with MOD and RESIDUES (comma-separated, e.g.
--   "14,15,16,17,19"), only the jobs whose index i has i % MOD among RESIDUES: bench.py's seed
--   layout (mixed_seed) gives each residue its status, so this picks finished or in-progress jobs.
-- Each thread draws a pool of up to 20,000 random names at start and cycles through it, so
-- that the client spends its time sending, not formatting (wrk shares the server's cores).
local dir = debug.getinfo(1, "S").source:sub(2):match("^(.*)/[^/]*$") or "."
local common = dofile(dir .. "/common.lua")
local pool, size, i = {}, 0, 0

setup = common.setup
done = common.done

-- A random index in [0, count) with i % mod among residues (every index when mod is nil).
local function draw(count, mod, residues)
   if not mod then return math.random(0, count - 1) end
   while true do
      local r = residues[math.random(1, #residues)]
      local k = math.random(0, math.floor((count - 1) / mod)) * mod + r
      if k < count then return k end
   end
end

function init(args)
   local prefix = args[1] or "seed-"
   local count = tonumber(args[2] or "1")
   local mod, residues = tonumber(args[3] or ""), {}
   if mod then
      for r in (args[4] or ""):gmatch("%d+") do
         local v = tonumber(r)
         assert(v < mod and v < count, "residue " .. r .. " out of range")
         residues[#residues + 1] = v
      end
      assert(#residues > 0, "MOD given without RESIDUES")
   end
   math.randomseed(os.time() * 100 + (thread_id or 0))
   size = math.min(count, 20000)
   for k = 1, size do
      local name = string.format("%s%07d", prefix, draw(count, mod, residues))
      pool[k] = common.post("DescribeTrainingJob", '{"TrainingJobName":"' .. name .. '"}')
   end
end

function request()
   i = i % size + 1
   return pool[i]
end
