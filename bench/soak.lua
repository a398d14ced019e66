-- bench/soak.lua — the soak driver (Lua 5.4), run by bench/soak against a
-- private simulator whose settings are in ACCELERATE_* variables.
--
--   lua5.4 bench/soak.lua [CALLS] [CLIENTS] [SAMPLE_EVERY]
--
-- Phase 1: one client makes CALLS requests (default 100000): list_instances
-- and task_detail for the most part, a task_details batch of 4 every 50th
-- step, a detail of an unknown id (an api error) every 100th, a create every
-- 5000th.  Phase 2: CLIENTS clients (default 1000) each make one call; half
-- are closed explicitly, half are dropped for __gc.  The driver's resident
-- memory (VmRSS) and open descriptors (/proc/PID/fd) are sampled after a
-- full collection every SAMPLE_EVERY calls and at the end of each phase, and
-- printed as a table with a verdict (start = after SOAK_WARMUP calls, default
-- 30%).  Always exits 0 unless a call that must succeed fails (a benchmark,
-- not a test).
local root = (arg[0]:match("^(.*)/bench/[^/]*$") or ".")
package.path = root .. "/lua/?.lua;" .. package.path
package.cpath = root .. "/build/lua5.4/?.so;" .. package.cpath

local accelerate = require "accelerate"

local CALLS = tonumber(arg[1]) or 100000
local CLIENTS = tonumber(arg[2]) or 1000
local EVERY = tonumber(arg[3]) or 10000
local WARMUP = tonumber(os.getenv("SOAK_WARMUP") or "") or math.floor(CALLS * 0.3)
local PLAN = "5468b0c0462e40e08e44108d8164c7c3"
-- "flat": growth after warm-up within these bounds
local RSS_TOLERANCE_KB = tonumber(os.getenv("SOAK_RSS_TOLERANCE_KB") or "") or 1024
local FD_TOLERANCE = 0

local PID = assert(io.open("/proc/self/stat")):read("*l"):match("^(%d+)")

local function rss_kb()
    local f = assert(io.open("/proc/" .. PID .. "/status"))
    local s = f:read("*a")
    f:close()
    return tonumber(s:match("VmRSS:%s*(%d+)"))
end

-- Descriptors of this process (the popen pipe counts one, always).
local function fds()
    local p = io.popen("ls /proc/" .. PID .. "/fd | wc -l")
    local n = tonumber(p:read("*l"))
    p:close()
    return n - 1
end

local rows = {}
local t0 = accelerate.now()
local function sample(phase, calls)
    collectgarbage()
    collectgarbage()
    local row = { phase = phase, calls = calls, rss = rss_kb(), fds = fds(),
                  lua_kb = math.floor(collectgarbage("count")), t = accelerate.now() - t0 }
    rows[#rows + 1] = row
    io.stderr:write(("soak: %-9s %7d calls  rss %6d kB  fds %3d  lua heap %5d kB  %6.1f s\n"):format(
        row.phase, row.calls, row.rss, row.fds, row.lua_kb, row.t))
    return row
end

local function must(v, err, what)
    if v == nil then
        io.stderr:write("soak: ", what, " failed: ", tostring(err), "\n")
        os.exit(1)
    end
    return v
end

local function new_client()
    local c, err = accelerate.new { timeout = 10, retries = 2 }
    return must(c, err, "accelerate.new")
end

-- Phase 1 -----------------------------------------------------------------
local baseline = sample("baseline", 0) -- no client yet
local client = new_client()
local dags, ids = {}, {}
local function create(n)
    local day = 1 + n % 28
    local dag, err = client:create_task { planId = PLAN, startTime = ("2025-02-%02d"):format(day),
        endTime = ("2025-02-%02d"):format(day), dateIntervalOfLot = 1 }
    dags[#dags + 1] = must(dag, err, "create_task")
    local page = must(client:list_instances { dagName = dag, pageSize = 100 })
    for _, inst in ipairs(page.instances) do ids[#ids + 1] = inst.id end
end

create(0)
sample("start", 0)
local calls, creates, errors_seen = 0, 1, 0
local step, next_sample = 0, EVERY
while calls < CALLS do
    step = step + 1
    if step % 5000 == 0 then
        create(step)
        creates = creates + 1
        calls = calls + 2
    elseif step % 100 == 0 then
        local det, err = client:task_detail("99999999")
        if det or not err or err.kind ~= "api" then must(nil, err, "the unknown-id detail") end
        errors_seen = errors_seen + 1
        calls = calls + 1
    elseif step % 50 == 0 then
        local batch = {}
        for i = 1, 4 do batch[i] = ids[1 + (step + i) % #ids] end
        local details, errs = client:task_details(batch, { concurrency = 4 })
        if errs then must(nil, errs[next(errs)], "task_details") end
        must(details, nil, "task_details")
        calls = calls + 4
    elseif step % 2 == 0 then
        must(client:list_instances(dags[1 + step % #dags]))
        calls = calls + 1
    else
        must(client:task_detail(ids[1 + step % #ids]))
        calls = calls + 1
    end
    if calls >= next_sample or calls >= CALLS then
        sample("calls", calls)
        next_sample = next_sample + EVERY
    end
end
client:close()
client = nil -- luacheck: ignore
local phase1_end = sample("closed", calls)

-- Phase 2 -----------------------------------------------------------------
local per = math.max(1, math.floor(CLIENTS / 5))
for i = 1, CLIENTS do
    local c = new_client()
    must(c:task_detail(ids[1 + i % #ids]))
    if i % 2 == 0 then c:close() end
    c = nil -- luacheck: ignore (the odd ones are left to __gc)
    if i % per == 0 then sample("clients", i) end
end
local phase2_end = sample("end", CLIENTS)

-- Report ------------------------------------------------------------------
-- Warm-up: the first sample after WARMUP calls.  libcurl keeps a bounded
-- cache of connections: every create opens a fresh one (it is never sent on
-- a reused connection), which joins the cache, so the descriptor count climbs
-- for the first few creates (one per 5000 steps) and then stays put.
-- Descriptors are compared with an open client during the calls, and with
-- the baseline (no client) once the clients are closed or collected.
local warm
for _, r in ipairs(rows) do
    if r.phase == "calls" and r.calls >= WARMUP then warm = r break end
end
warm = warm or rows[#rows]
local last_call
for _, r in ipairs(rows) do if r.phase == "calls" then last_call = r end end
last_call = last_call or warm
local function verdict(drss, dfd)
    local flat = drss <= RSS_TOLERANCE_KB and dfd <= FD_TOLERANCE
    return flat and "flat" or "GROWING", drss, dfd
end

print(("soak: %d calls on one client (%d creates, %d api errors), then %d clients (half closed, half to __gc)")
    :format(calls, creates, errors_seen, CLIENTS))
print()
print(("%-9s %8s %10s %5s %12s %8s"):format("phase", "calls", "rss_kB", "fds", "lua_heap_kB", "secs"))
for _, r in ipairs(rows) do
    print(("%-9s %8d %10d %5d %12d %8.1f"):format(r.phase, r.calls, r.rss, r.fds, r.lua_kb, r.t))
end
print()
local v1, d1, f1 = verdict(last_call.rss - warm.rss, last_call.fds - warm.fds)
local vc, _, fc = verdict(0, phase1_end.fds - baseline.fds)
local v2, d2, f2 = verdict(phase2_end.rss - phase1_end.rss, phase2_end.fds - baseline.fds)
local all = (v1 == "flat" and vc == "flat" and v2 == "flat") and "flat" or "GROWING"
print(("start (after %d warm-up calls): rss %d kB, fds %d (baseline without a client: %d kB, %d fds)")
    :format(warm.calls, warm.rss, warm.fds, baseline.rss, baseline.fds))
print(("end of the calls:               rss %d kB, fds %d"):format(last_call.rss, last_call.fds))
print(("end (all clients gone):         rss %d kB, fds %d"):format(phase2_end.rss, phase2_end.fds))
print(("calls phase:   %+d kB, %+d fds (open client) -> %s"):format(d1, f1, v1))
print(("after close:   %+d fds against the baseline -> %s"):format(fc, vc))
print(("clients phase: %+d kB, %+d fds against the baseline -> %s"):format(d2, f2, v2))
print(("verdict: %s (tolerance %d kB, %d fds)"):format(all, RSS_TOLERANCE_KB, FD_TOLERANCE))
