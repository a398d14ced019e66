-- Backfill tasks and their instances over simulated time.
--
-- A create computes each instance's whole future at once (when the scheduler
-- picks it up, how long each attempt takes, whether it fails), from the
-- scenario's seed and the create's sequence number, and stores it.  What a
-- list or detail shows is then a pure function of that timeline and the
-- simulated clock, so it is the same on every worker, and the same seed gives
-- the same run.  Instances of one resource group share its concurrency slots
-- across every backfill, so a busy group makes later backfills wait.
local cjson = require "cjson.safe"
local dates = require "accelerate_sim.dates"
local prng = require "accelerate_sim.prng"
local state = require "accelerate_sim.state"
local errors = require "accelerate_sim.errors"

local dict = state.dict
local format, floor, concat = string.format, math.floor, table.concat
local null = cjson.null

local _M = {}

local FIRST_ID = 12876560

local function stamp(t)
    return os.date("!%Y-%m-%dT%H:%M:%S", floor(t))
end

local function dag_uuid(rng)
    -- Version-4 layout, from the seeded generator so that runs repeat.
    local variant = rng:int(1, 4)
    return format("%s-%s-4%s-%s%s-%s", rng:hex(8), rng:hex(4), rng:hex(3),
        ("89ab"):sub(variant, variant), rng:hex(3), rng:hex(12))
end

-- Does a failure rule fail this lot of this table?  Rules with `times` fail
-- only the first `times` backfills that cover them (a transient fault that a
-- repair gets past); `memo` makes one backfill count once per rule and table.
local function rule_fails(s, plan, guid, lot, memo)
    for i, r in ipairs(s.failures.rules) do
        if (not r.table or r.table == guid)
            and (not r.plan or r.plan == plan.id or r.plan == plan.name)
            and lot[1] <= r.last and lot[2] >= r.first then
            if not r.times then return true, r.error end
            local key = "rulehit:" .. i .. ":" .. guid
            local hits = memo[key]
            if not hits then
                hits = dict:incr(key, 1, 0)
                memo[key] = hits
            end
            if hits <= r.times then return true, r.error end
        end
    end
    return false
end

local function schedule(s, plan, first, last, interval, tenant)
    local seq = dict:incr("dag_seq", 1, 0)
    local rng = prng.new(s.seed * 7919 + seq * 104729)
    local name = dag_uuid(rng)
    while dict:get("dag:" .. name) do name = dag_uuid(rng) end

    local lots = dates.lots(first, last, interval)
    local total = #lots * #plan.tables
    if total > s.max_instances then
        return nil, format("the backfill would create %d task instances; at most %d are allowed",
            total, s.max_instances)
    end

    local group = plan.resourceGroup
    local width = s.concurrency[group] or s.concurrency["*"]
    local slots = cjson.decode(dict:get("slots:" .. group) or "[]")
    for k = #slots + 1, width do slots[k] = 0 end

    local now = state.now()
    local last_id = dict:incr("inst_seq", total, FIRST_ID - 1)
    local id = last_id - total
    local t, f = s.timing, s.failures
    local insts, memo = {}, {}
    for _, lot in ipairs(lots) do
        for ti, tbl in ipairs(plan.tables) do
            id = id + 1
            local ready = now + rng:uniform(t.schedule_delay[1], t.schedule_delay[2])
            local k = 1
            for j = 2, width do if slots[j] < slots[k] then k = j end end
            local start = ready > slots[k] and ready or slots[k]

            local fails, err = rule_fails(s, plan, tbl.guid, lot, memo)
            if not fails then fails = rng:next() < f.probability end
            local flaky = not fails and rng:next() < f.flaky_probability
            local n = fails and f.retries + 1 or (flaky and 2 or 1)
            local attempts, at = {}, start
            for a = 1, n do
                attempts[a] = at
                at = at + rng:uniform(t.duration[1], t.duration[2])
                if a < n then at = at + t.retry_delay end
            end
            slots[k] = at
            insts[#insts + 1] = {
                id = tostring(id), t = ti, s = lot[1], e = lot[2],
                c = now, r = ready, st = start, a = attempts, en = at,
                f = fails, err = fails and (err or errors.pick(rng)) or nil,
                srv = "10.161.0." .. rng:int(2, 254),
            }
        end
    end
    dict:set("slots:" .. group, cjson.encode(slots))

    local dag = {
        name = name, tenant = tenant, seq = seq, created = now,
        interval = interval, first = first, last = last,
        plan = { id = plan.id, name = plan.name, group = group, priority = plan.priority, tables = plan.tables },
        insts = insts,
    }
    local ok, serr = state.store_dag(dag)
    if not ok then return nil, "simulator storage is full (" .. tostring(serr) .. "); POST /__sim/reset" end
    return name
end

-- Returns the dagName, or nil and a message for the envelope.
function _M.create(s, tenant, plan, first, last, interval)
    return state.with_lock("create", schedule, s, plan, first, last, interval, tenant)
end

-- Status, retry count and the time of the latest status of an instance at
-- simulated time `now`.
local function status_at(inst, now)
    if now < inst.st then return "WAITING", 0 end
    if now < inst.en then
        local retries = 0
        for a = 2, #inst.a do if inst.a[a] <= now then retries = retries + 1 end end
        return "RUNNING", retries
    end
    return inst.f and "FAILED" or "SUCCESS", #inst.a - 1
end

local function list_row(dag, inst, now)
    local status = status_at(inst, now)
    return {
        id = inst.id,
        status = status,
        mtGuid = dag.plan.tables[inst.t].guid,
        startPartition = dates.format(inst.s),
        endPartition = dates.format(inst.e),
        startTime = now >= inst.st and stamp(inst.st) or null,
        endTime = now >= inst.en and stamp(inst.en) or null,
        resourceGroup = dag.plan.group,
        priority = dag.plan.priority,
        createTime = stamp(inst.c),
        scheduleTime = stamp(inst.r),
    }
end

-- The list answer as JSON text.  Arrays are spliced by hand: lua-cjson 2.1
-- would encode an empty page as {} instead of [].  `total` replaces the
-- real count (a "paging" fault).
function _M.list_json(dag, page_index, page_size, total, shift)
    local now = state.now()
    local rows = {}
    -- shift (a "paging" fault): the page starts that many rows back, as if
    -- rows had been added ahead of the listing once page 1 was served
    local back = page_index > 1 and shift or 0
    local first = math.max(1, (page_index - 1) * page_size + 1 - back)
    local last = page_index * page_size - back
    for i = first, math.min(last, #dag.insts) do
        rows[#rows + 1] = cjson.encode(list_row(dag, dag.insts[i], now))
    end
    local head = cjson.encode({
        dagName = dag.name, pageIndex = page_index, pageSize = page_size, total = total or #dag.insts,
    })
    return head:sub(1, -2) .. ',"instances":[' .. concat(rows, ",") .. "]}"
end

local function sql(dag, inst)
    local tbl = dag.plan.tables[inst.t]
    local from, to = dates.format(inst.s), dates.format(inst.e)
    local original = format(
        "INSERT OVERWRITE TABLE %s PARTITION (dt) SELECT dt, dim_region, SUM(amount) AS amount, COUNT(*) AS orders "
        .. "FROM %s.%s.%s_source WHERE dt >= '%s' AND dt <= '%s' GROUP BY dt, dim_region",
        tbl.guid, tbl.catalog, tbl.schema, tbl.table, from, to)
    local formatted = format(
        "INSERT OVERWRITE TABLE %s PARTITION (dt)\nSELECT\n  dt,\n  dim_region,\n  SUM(amount) AS amount,\n"
        .. "  COUNT(*) AS orders\nFROM %s.%s.%s_source\nWHERE dt >= '%s'\n  AND dt <= '%s'\nGROUP BY dt, dim_region",
        tbl.guid, tbl.catalog, tbl.schema, tbl.table, from, to)
    return { originalSql = original, formattedSql = formatted }
end

function _M.detail(dag, inst)
    local now = state.now()
    local status, retries = status_at(inst, now)
    local tbl = dag.plan.tables[inst.t]
    local times = { WAITING = stamp(inst.c) }
    if now >= inst.st then times.RUNNING = stamp(inst.st) end
    if now >= inst.en then times[status] = stamp(inst.en) end
    return {
        taskInstanceId = tonumber(inst.id),
        status = status,
        sql = sql(dag, inst),
        runType = "MANUAL",
        msg = status == "FAILED" and errors.render(inst.err, inst, tbl) or null,
        serverInfo = now >= inst.st and inst.srv or null,
        startTime = now >= inst.st and stamp(inst.st) or null,
        endTime = now >= inst.en and stamp(inst.en) or null,
        startPartitionTime = dates.format(inst.s) .. "T00:00:00",
        endPartitionTime = dates.format(inst.e) .. "T00:00:00",
        retryCnt = retries,
        mtGuid = { { catalog = tbl.catalog, schema = tbl.schema, table = tbl.table } },
        acceleratePlanUuid = { dag.plan.id },
        statusTime = times,
        taskType = "RESULT_PLAN",
    }
end

return _M
