-- The plan commands and --plan, through bin/accelerate against the
-- simulator's test scenario (t1: sales_daily RESULT DAY, gmv_monthly RESULT
-- MONTH, traffic_weekly ACCELERATE WEEK, ledger_external EXTERNAL MONTH):
-- plans and plan, a --plan that names no plan (refused before any create),
-- a range that cuts a MONTH plan's months, an EXTERNAL plan (refused
-- without --force), and backfill --dry-run.  What was sent is read from
-- the simulator's request log.
local helpers = require "spec.helpers"
helpers.paths()

local json = helpers.json
local sh = helpers.sh

local SALES = "5468b0c0462e40e08e44108d8164c7c3"
local GMV = "result_34bfe9036e2e65328e9849430f54cdf5"
local TRAFFIC = "accelerate_0b6f2d94c1e84a7f9e3d5c2a1b8f7e60"
local LEDGER = "9c41f2a7d6e84b0f8a1d3e5c7b9f0a12"

describe("accelerate plans, plan and --plan (simulator)", function()
  assert(helpers.read_file(helpers.root .. "/build/lua5.4/accelerate/core.so"), "make build LUA_VERSION=5.4 first")
  local sim, tmp

  -- bin/accelerate with the simulator's settings; exit code, stdout, stderr
  local function cmd(argv)
    local env = {
      "ACCELERATE_URL=" .. helpers.quote(sim.url), "ACCELERATE_TENANT_ID=" .. sim.tenant_id,
      "ACCELERATE_AUTH_TYPE=" .. sim.auth_type, "ACCELERATE_AUTH_VALUE=" .. helpers.quote(sim.auth_value),
      "HOME=/nonexistent/accelerate-spec-home", "XDG_CONFIG_HOME=/nonexistent/accelerate-spec-home", "NO_COLOR=1",
    }
    local code, out = sh("cd " .. helpers.quote(helpers.root) .. " && env " .. table.concat(env, " ")
      .. " bin/accelerate " .. argv .. " 2>" .. tmp .. ".err")
    return code, out, helpers.read_file(tmp .. ".err") or ""
  end

  local function requests(route) return sim:requests { route = route } end
  local function create_bodies()
    local out = {}
    for i, r in ipairs(requests("create")) do out[i] = json.decode(r.body) end
    return out
  end

  setup(function()
    sim = helpers.start_sim { scenario = "test" }
    tmp = os.tmpname()
  end)
  teardown(function()
    if sim then sim:stop() end
    os.remove(tmp .. ".err")
    os.remove(tmp)
  end)
  before_each(function()
    sim:reset()
  end)

  describe("plans", function()
    it("prints every plan with its type and granularity, one detail call per plan", function()
      local code, out, err = cmd("plans")
      assert.equal(0, code, err)
      local lines = {}
      for line in out:gmatch("[^\n]+") do lines[#lines + 1] = line end
      assert.equal(6, #lines)
      assert.matches("^NAME%s+DISPLAY NAME%s+TYPE%s+GRANULARITY%s+ID$", lines[1])
      assert.matches("^sales_daily%s+Sales daily%s+RESULT%s+DAY%s+" .. SALES .. "$", lines[2])
      assert.matches("^gmv_monthly%s+GMV monthly%s+RESULT%s+MONTH%s+" .. GMV .. "$", lines[3])
      assert.matches("^traffic_weekly%s+.-%s+ACCELERATE%s+WEEK%s+" .. TRAFFIC .. "$", lines[4])
      assert.matches("^ledger_external%s+General ledger %(external%)%s+EXTERNAL%s+MONTH%s+" .. LEDGER .. "$", lines[5])
      assert.equal("4 plans", lines[6])
      -- columns line up: every ID starts where the header's does
      local at = lines[1]:find("ID$")
      for i = 2, 5 do assert.equal(at, lines[i]:find("%S+$")) end
      assert.equal("", err)
      assert.equal(4, #requests("plan"))
    end)

    it("--json is an array, --type filters on the server, --no-details makes no detail call", function()
      local code, out = cmd("plans --json")
      assert.equal(0, code)
      local list = json.decode(out)
      assert.equal(4, #list)
      assert.same({ id = GMV, name = "gmv_monthly", displayName = "GMV monthly", materializeType = "RESULT",
        metricTimeGranularity = "MONTH" }, list[2])
      sim:clear_requests()
      code, out = cmd("plans --type ACCELERATE --json")
      assert.equal(0, code)
      list = json.decode(out)
      assert.equal(1, #list)
      assert.equal(TRAFFIC, list[1].id)
      assert.equal("WEEK", list[1].metricTimeGranularity)
      local sent = requests("plans")
      assert.equal(1, #sent)
      assert.equal("ACCELERATE", json.decode(sent[1].body).materializeType)
      sim:clear_requests()
      code, out = cmd("plans --type external --no-details")
      assert.equal(0, code)
      assert.matches("\nledger_external%s+General ledger %(external%)%s+EXTERNAL%s+%-%s+" .. LEDGER .. "\n", out)
      assert.matches("\n1 plan of type EXTERNAL\n$", out)
      assert.equal(0, #requests("plan"))
    end)

    it("lists every plan when a page overlaps the one before (a plan added during the listing)", function()
      sim:scenario(helpers.scenario { max_page_size = 2 })
      finally(function() sim:scenario(helpers.scenario {}) end)
      sim:fault { route = "plans", kind = "paging", shift = 1, times = -1 }
      local code, out, err = cmd("plans --no-details")
      assert.equal(0, code, err)
      assert.matches("\nledger_external%s", out)
      assert.matches("\n4 plans\n$", out)
      code, out, err = cmd("plan ledger_external")
      assert.equal(0, code, err)
      assert.matches("\nid%s+" .. LEDGER .. "\n", out)
    end)

    it("refuses a --type that is not a materializeType, sending nothing", function()
      local code, out, err = cmd("plans --type DAILY")
      assert.equal(2, code)
      assert.equal("", out)
      assert.matches("%-%-type must be RESULT, ACCELERATE or EXTERNAL", err)
      assert.equal(0, #requests("plans"))
    end)

    it("has help pages with examples", function()
      for _, c in ipairs { "plans", "plan" } do
        local code, out = cmd(c .. " --help")
        assert.equal(0, code)
        assert.matches("^usage: accelerate " .. c .. " ", out)
        assert.matches("\nExamples:\n  accelerate " .. c .. "[ \n]", out)
      end
      local _, main = cmd("--help")
      assert.matches("\n  plans ", main)
      assert.matches("\n  plan ", main)
    end)
  end)

  describe("plan", function()
    it("shows a plan found by name", function()
      local code, out, err = cmd("plan sales_daily")
      assert.equal(0, code, err)
      assert.matches("^name%s+sales_daily\n", out)
      assert.matches("\ndisplay name%s+Sales daily\n", out)
      assert.matches("\nid%s+" .. SALES .. "\n", out)
      assert.matches("\ntype%s+RESULT\n", out)
      assert.matches("\ngranularity%s+DAY\n", out)
      assert.matches("\ntable%s+dw%.sales%.orders_daily\n", out)
      assert.matches("\nmetrics%s+2: amount, orders\n", out)
      assert.matches("\ndimensions%s+1: dim_region\n", out)
      assert.matches("\nrefresh%s+cron=0 0 2 %* %* %?, scheduleType=SCHEDULE, timeZone=UTC\n", out)
    end)

    it("shows a plan found by id, as JSON too, and says who schedules an EXTERNAL one", function()
      local code, out = cmd("plan " .. LEDGER)
      assert.equal(0, code)
      assert.matches("^name%s+ledger_external\n", out)
      assert.matches("\ntype%s+EXTERNAL\n", out)
      assert.matches("\ngranularity%s+MONTH\n", out)
      assert.matches("\ndimensions%s+2: account, cost_center\n", out)
      assert.matches("\ntime constraint%s+month >= '2023%-01' AND month <= '2025%-12'\n", out)
      assert.matches("its owner's scheduler does %(finance%-airflow%)", out)
      code, out = cmd("plan " .. GMV .. " --json")
      assert.equal(0, code)
      local d = json.decode(out)
      assert.equal(GMV, d.id)
      assert.equal("MONTH", d.metricTimeGranularity)
      assert.equal("catalog", d.tablePath.tableCatalog)
      assert.equal(0, d.exit)
    end)

    it("exits 2 for a name that names no plan, with the names near it", function()
      local code, out, err = cmd("plan gmv_montly")
      assert.equal(2, code)
      assert.equal("", out)
      assert.matches("no plan named 'gmv_montly'; did you mean 'gmv_monthly'", err)
      code, out = cmd("plan zzzz --json")
      assert.equal(2, code)
      local r = json.decode(out)
      assert.equal("invalid", r.error.kind)
      assert.equal("no plan named 'zzzz'", r.error.message)
    end)
  end)

  describe("--plan", function()
    it("refuses a typo with a suggestion and exit 2, creating nothing", function()
      for _, c in ipairs {
        "create --plan sales_dialy --start 2025-01-01 --end 2025-01-02",
        "backfill --plan sales_dialy --start 2025-01-01 --end 2025-01-02 --interval 0.05",
        "repair some-dag --plan sales_dialy",
      } do
        sim:clear_requests()
        local code, out, err = cmd(c)
        assert.equal(2, code, c)
        assert.equal("", out)
        assert.matches("no plan named 'sales_dialy'; did you mean 'sales_daily'", err)
        assert.equal(0, #requests("create"))
        assert.equal(0, #requests("list"))
      end
    end)

    it("creates and journals the id of the plan a display name names", function()
      local journal = tmp .. ".journal"
      os.remove(journal)
      local code, out, err = cmd("create --plan 'Sales daily' --start 2025-01-01 --end 2025-01-02 --journal "
        .. journal .. " --json")
      assert.equal(0, code, err)
      assert.equal(SALES, json.decode(out).params.planId)
      local bodies = create_bodies()
      assert.equal(1, #bodies)
      assert.equal(SALES, bodies[1].planId)
      assert.is_nil(bodies[1].planName)
      local text = assert(helpers.read_file(journal))
      assert.truthy(text:find('"planId":"' .. SALES .. '"', 1, true))
      assert.is_nil(text:find("Sales daily", 1, true))
      os.remove(journal)
    end)

    it("keeps --plan-id and --plan-name as they were: sent as given, nothing looked up", function()
      local code = cmd("create --plan-name sales_daily --start 2025-01-01 --end 2025-01-02")
      assert.equal(0, code)
      assert.same({ { planName = "sales_daily", startTime = "2025-01-01", endTime = "2025-01-02" } },
        create_bodies())
      assert.equal(0, #requests("plans") + #requests("plan"))
      local _, err
      code, _, err = cmd("create --plan sales_daily --plan-id " .. SALES .. " --start 2025-01-01 --end 2025-01-02")
      assert.equal(2, code)
      assert.matches("give %-%-plan or %-%-plan%-id/%-%-plan%-name, not both", err)
    end)

    it("warns that a range cuts a MONTH plan's months and names the aligned range", function()
      local warning = "gmv_monthly is MONTH: 2025-01-15 .. 2025-02-10 cuts months; "
        .. "the aligned range is 2025-01-01 .. 2025-02-28"
      local code, out, err = cmd("lots 2025-01-15 2025-02-10 7 --plan gmv_monthly")
      local _
      assert.equal(0, code)
      assert.equal("accelerate: warning: " .. warning .. "\n", err)
      assert.matches("^plan gmv_monthly %(GMV monthly%): RESULT, granularity MONTH, id " .. GMV .. "\n", out)
      assert.matches("\n   4  2025%-02%-05 %.%. 2025%-02%-10  6 days\n$", out)
      -- the same check before a real create, which still goes ahead
      code, _, err = cmd("create --plan gmv_monthly --start 2025-01-15 --end 2025-02-10")
      assert.equal(0, code)
      assert.truthy(err:find(warning, 1, true))
      assert.equal(GMV, create_bodies()[1].planId)
      -- an aligned range, and a DAY plan, are not warned about
      code, _, err = cmd("lots 2025-01-01 2025-02-28 --plan gmv_monthly")
      assert.equal(0, code)
      assert.equal("", err)
      code, _, err = cmd("lots 2025-01-15 2025-02-10 --plan sales_daily")
      assert.equal(0, code)
      assert.equal("", err)
    end)

    it("refuses an EXTERNAL plan without --force, and creates it with --force", function()
      local code, out, err = cmd("create --plan ledger_external --start 2025-01-01 --end 2025-01-31 --lot 31")
      assert.equal(2, code)
      assert.equal("", out)
      assert.matches("ledger_external is an EXTERNAL plan: AnyMetrics does not schedule its data, its owner's "
        .. "scheduler does %(finance%-airflow%).-%-%-force", err)
      code = cmd("backfill --plan ledger_external --start 2025-01-01 --end 2025-01-31 --lot 31 --interval 0.05")
      assert.equal(2, code)
      assert.equal(0, #requests("create"))
      code, out, err = cmd("create --plan ledger_external --start 2025-01-01 --end 2025-01-31 --lot 31 --force")
      assert.equal(0, code, err)
      assert.matches("^%x+%-[%x%-]+\n$", out)
      assert.matches("creating the backfill anyway %(%-%-force%)", err)
      assert.same({ { planId = LEDGER, startTime = "2025-01-01", endTime = "2025-01-31", dateIntervalOfLot = 31 } },
        create_bodies())
    end)

    it("backfill --dry-run shows the plan, its granularity and the lots, and creates nothing", function()
      local code, out, err = cmd("backfill --plan traffic_weekly --start 2025-01-06 --end 2025-01-19 --lot 7 --dry-run")
      assert.equal(0, code, err)
      assert.equal("plan traffic_weekly (Traffic weekly): ACCELERATE, granularity WEEK, id " .. TRAFFIC .. "\n"
        .. "would create: 2025-01-06 .. 2025-01-19, 2 lots of 7 day(s); nothing sent\n"
        .. "   1  2025-01-06 .. 2025-01-12  7 days\n"
        .. "   2  2025-01-13 .. 2025-01-19  7 days\n", out)
      assert.equal("", err)   -- Monday .. Sunday: whole ISO weeks
      code, out, err = cmd("backfill --plan ledger_external --start 2025-01-15 --end 2025-02-10 --dry-run --json")
      assert.equal(0, code)
      local r = json.decode(out)
      assert.is_true(r.dryRun)
      assert.equal(0, r.exit)
      assert.equal(LEDGER, r.params.planId)
      assert.equal(27, #r.lots)
      assert.equal("MONTH", r.plan.metricTimeGranularity)
      assert.equal(2, #r.warnings)
      assert.matches("cuts months; the aligned range is 2025%-01%-01 %.%. 2025%-02%-28", r.warnings[1])
      assert.matches("EXTERNAL plan.-a create needs %-%-force", r.warnings[2])
      assert.matches("accelerate: warning: ledger_external is an EXTERNAL plan", err)
      assert.equal(0, #requests("create"))
    end)

    it("backfill --dry-run with --plan-id needs no connection settings and sends nothing", function()
      local code, out = sh("cd " .. helpers.quote(helpers.root) .. " && env -i PATH=\"$PATH\" HOME=/nonexistent/accelerate-spec-home "
        .. "XDG_CONFIG_HOME=/nonexistent/accelerate-spec-home bin/accelerate backfill --plan-id " .. SALES
        .. " --start 2025-01-01 --end 2025-01-03 --lot 2 --dry-run 2>&1")
      assert.equal(0, code, out)
      assert.equal("plan id " .. SALES .. " (sent as given, not looked up)\n"
        .. "would create: 2025-01-01 .. 2025-01-03, 2 lots of 2 day(s); nothing sent\n"
        .. "   1  2025-01-01 .. 2025-01-02  2 days\n"
        .. "   2  2025-01-03 .. 2025-01-03  1 day\n", out)
      -- a real create needs them, and says so
      code = sh("cd " .. helpers.quote(helpers.root) .. " && env -i PATH=\"$PATH\" HOME=/nonexistent/accelerate-spec-home "
        .. "XDG_CONFIG_HOME=/nonexistent/accelerate-spec-home bin/accelerate backfill --plan-id " .. SALES
        .. " --start 2025-01-01 --end 2025-01-03 >/dev/null 2>&1")
      assert.equal(2, code)
    end)
  end)
end)
