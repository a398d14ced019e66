-- bench/campaign.lua — list requests of a campaign's polls, against what a
-- full sweep at every poll would have taken, on one scenario.
--
-- A private simulator (spec/helpers.lua) with one plan of TABLES tables in
-- a resource group running SLOTS instances at once; a campaign of TASKS
-- tasks of 30 days (dateIntervalOfLot 1: 30 x TABLES instances each),
-- max_in_flight 2, pageSize PAGE, run to the end with campaign.run.  The
-- list requests come from the simulator's request log; the polls from the
-- run's on_progress (each round polls the backfills in flight at the end
-- of the round before).  Prints the list requests, the polls, and their
-- ratio to POLLS x PAGES (a full sweep at every poll, what the campaign
-- did before it polled through workflow/sweep).  A benchmark, not a test:
-- prints figures, asserts none (timings vary with the machine; the ratio
-- depends on how the polls fall against the backfill's progress).
--
--   lua5.4 bench/campaign.lua [--tree DIR]      (make bench-campaign)
-- --tree DIR: run the campaign with DIR's lua/ and build/lua5.4 core
-- (another checkout, `make -C DIR build`): the figures before a change.
local root = (arg[0]:match("^(.*)/bench/[^/]*$") or ".")
local tree = root
if arg[1] == "--tree" then tree = assert(arg[2], "--tree DIR") end
package.path = tree .. "/lua/?.lua;" .. tree .. "/lua/?/init.lua;" .. root .. "/?.lua;" .. package.path
package.cpath = tree .. "/build/lua5.4/?.so;" .. package.cpath

local helpers = require "spec.helpers"
local accelerate = require "accelerate"
local campaign = require "accelerate.campaign"

local TABLES, SLOTS, TASKS, PAGE = 100, 600, 4, 500
local PLAN = "b3f1c0de5a7e4d2f9c8b6a5e4d3c2b1a"

local tables = {}
for i = 1, TABLES do tables[i] = ("dw.bench.metric_%03d_daily"):format(i) end
local scenario = helpers.scenario {
  name = "bench-campaign", seed = 20251207, speed = 300, request_log = 100000,
  concurrency = { bench = SLOTS },
  timing = { schedule_delay = { 1, 5 }, duration = { 60, 180 }, retry_delay = 10 },
  failures = { probability = 0, retries = 2, partitions = {} },
}
scenario.tenants.t1.plans = { { id = PLAN, name = "bench_daily", resourceGroup = "bench", tables = tables } }

local sim = helpers.start_sim { scenario = "test" }
local ok, err = pcall(function()
  sim:scenario(scenario)
  local client = assert(accelerate.new(sim:client_options()))
  local journal = os.tmpname()
  os.remove(journal)
  local polls, in_flight = 0, 0
  local t0 = helpers.now()
  local report = assert(campaign.run(client, {
    backfills = { { planId = PLAN, startTime = "2025-01-01",
      endTime = os.date("!%Y-%m-%d", os.time { year = 2025, month = 1, day = 30 * TASKS, hour = 0 }),
      dateIntervalOfLot = 1 } },
    chunk = 30, max_in_flight = 2,
  }, {
    journal = journal, interval = 0.1, max_interval = 0.1, timeout = 600, page_size = PAGE,
    on_progress = function(r)
      polls = polls + in_flight
      in_flight = r.in_flight
    end,
  }))
  local elapsed = helpers.now() - t0
  os.remove(journal)
  client:close()
  assert(report.ok, "the campaign did not succeed")
  local lists = #sim:requests { route = "list" }
  local per_task = report.total / #report.tasks
  local pages = math.ceil(per_task / PAGE)
  print(("bench/campaign: %s; %d tasks of %d instances (%d pages of %d), %.1f s"):format(
    tree == root and "this tree" or tree, #report.tasks, per_task, pages, PAGE, elapsed))
  print(("bench/campaign: %d polls, %d list requests: %.2f per poll, %.2f of a full sweep at every poll (%d)")
    :format(polls, lists, lists / polls, lists / (polls * pages), polls * pages))
  print(("bench/campaign: final counts SUCCESS %d of %d"):format(report.counts.SUCCESS, report.total))
end)
sim:stop()
if not ok then
  io.stderr:write("bench/campaign: ", tostring(err), "\n")
  os.exit(1)
end
