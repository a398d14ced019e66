-- Shared state.  Everything mutable lives in the shared dict "sim" so that
-- every nginx worker sees the same run; each worker keeps only caches that a
-- version number ("ver") invalidates: the decoded scenario and decoded dags
-- (a dag's timeline never changes once created).
local cjson = require "cjson.safe"
local scenario = require "accelerate_sim.scenario"

local ngx = ngx
local dict = ngx.shared.sim

local _M = { dict = dict }

local cache = { ver = nil, scenario = nil, dags = {}, ndags = 0 }
local MAX_CACHED_DAGS = 512

local function refresh()
    local ver = dict:get("ver")
    if ver ~= cache.ver then
        local s, err = scenario.decode(dict:get("scenario"))
        if not s then error("stored scenario is unusable: " .. tostring(err)) end
        cache.ver, cache.scenario, cache.dags, cache.ndags = ver, s, {}, 0
    end
end

function _M.scenario()
    refresh()
    return cache.scenario
end

-- Simulated time in seconds since the epoch: it runs `speed` times as fast as
-- the wall clock and can be moved forward by the admin API.
function _M.now()
    local base_sim = dict:get("clock:sim")
    local base_real = dict:get("clock:real")
    local speed = dict:get("clock:speed")
    return base_sim + (ngx.now() - base_real) * speed
end

function _M.advance(seconds)
    dict:incr("clock:sim", seconds)
end

-- The simulated clock starts this many real seconds' worth of simulated
-- time behind the wall clock (speed x 12 hours, at most 10 years): it runs
-- `speed` times as fast, so that is how long it takes to catch up, and
-- until then no time the simulator reports is later than the wall clock
-- (docs/sim-contract.md, "Simulated time").  The admin API's advance can
-- still move it past.
local CATCH_UP = 12 * 3600
local MAX_BEHIND = 10 * 365 * 86400
_M.CATCH_UP, _M.MAX_BEHIND = CATCH_UP, MAX_BEHIND

local function start_clock(speed)
    ngx.update_time()
    local now = ngx.now()
    local behind = math.min(speed * CATCH_UP, MAX_BEHIND)
    -- A whole second, so that a seed's timeline prints the same stamps.
    dict:set("clock:sim", math.floor(now - behind))
    dict:set("clock:real", now)
    dict:set("clock:speed", speed)
end

-- Replaces the scenario (JSON text already checked) and forgets every dag,
-- fault and logged request.
function _M.install(text, checked)
    -- Versions must never repeat, or a worker would trust a stale cache.
    local ver = (dict:get("ver") or 0) + 1
    local faults_ver = (dict:get("faults_ver") or 0) + 1
    dict:flush_all()
    dict:flush_expired()
    ngx.shared.sim_log:flush_all()
    ngx.shared.sim_log:flush_expired()
    dict:set("scenario", text)
    dict:set("faults_ver", faults_ver)
    start_clock(checked.speed)
    local ok, err = dict:set("ver", ver)
    if not ok then error("shared dict: " .. tostring(err)) end
end

function _M.reset()
    local text = dict:get("scenario")
    local s = assert(scenario.decode(text))
    _M.install(text, s)
end

function _M.store_dag(dag)
    local text = cjson.encode(dag)
    local ok, err = dict:safe_set("dag:" .. dag.name, text)
    if not ok then return nil, err end
    for i, inst in ipairs(dag.insts) do
        ok, err = dict:safe_set("inst:" .. inst.id, dag.name .. "\n" .. i)
        if not ok then return nil, err end
    end
    return true
end

function _M.dag(name)
    refresh()
    local dag = cache.dags[name]
    if dag then return dag end
    local text = dict:get("dag:" .. name)
    if not text then return nil end
    dag = cjson.decode(text)
    if cache.ndags >= MAX_CACHED_DAGS then cache.dags, cache.ndags = {}, 0 end
    cache.dags[name] = dag
    cache.ndags = cache.ndags + 1
    return dag
end

-- The dag and index of an instance id, or nil.
function _M.instance(id)
    local ref = dict:get("inst:" .. id)
    if not ref then return nil end
    local name, index = ref:match("^(.*)\n(%d+)$")
    local dag = _M.dag(name)
    if not dag then return nil end
    return dag, dag.insts[tonumber(index)]
end

-- A crude cross-worker lock for create, which reads and writes the resource
-- group's slots.  Creates are rare and quick, so spinning is fine.
function _M.with_lock(key, fn, ...)
    local lock = "lock:" .. key
    for _ = 1, 2000 do
        if dict:add(lock, true, 5) then
            local res = { pcall(fn, ...) }
            dict:delete(lock)
            if not res[1] then error(res[2], 0) end
            return unpack(res, 2, table.maxn(res))
        end
        ngx.sleep(0.001)
    end
    error("lock " .. key .. " busy for too long")
end

return _M
