-- The handlers of examples/openresty/nginx.conf: start a backfill, report
-- its status as JSON, and watch running backfills from a timer.  Campaigns
-- are accelerate.runner's (durable, under /accelerate/).  Every call to the API goes through accelerate.ngx
-- (cosockets), so a slow API never holds up the other requests of the worker.
local acc = require "accelerate.ngx"
local workflow = require "accelerate.workflow"
local util = require "accelerate.util"
local cjson = require "cjson.safe"

local ngx = ngx
local shared = ngx.shared.backfills

local _M = {}

local WATCH_EVERY = 1         -- seconds between scans for new backfills to watch

-- A client per use: cheap (no connection is made until a call, and
-- connections are pooled per worker), and safe to make in any handler.
local function client()
    return acc.new { timeout = tonumber(os.getenv("ACCELERATE_TIMEOUT")) or 10 }
end

-- JSON through accelerate.util: arrays built with util.array stay arrays
-- when empty (Debian's cjson 2.1.0 would write {}).
local function reply(status, tbl)
    ngx.status = status
    ngx.header["Content-Type"] = "application/json"
    ngx.say(util.json_encode(tbl))
    return ngx.exit(ngx.HTTP_OK)
end

-- The HTTP status to answer for an accelerate error: ours is a gateway,
-- except for what the API says does not exist (a backfill, an instance, a
-- plan: code 404), which does not exist here either, and a request the API
-- refused (code 400: a plan it does not know, a bad date), which is the
-- caller's to fix, with the API's message.
local function fail(err)
    local status = 502
    if err.kind == "invalid" then
        status = 400
    elseif err.kind == "timeout" then
        status = 504
    elseif err.kind == "api" and (err.code == "404" or err.status == 404) then
        status = 404
    elseif err.kind == "api" and err.code == "400" then
        status = 400
    end
    return reply(status, { error = tostring(err), kind = err.kind, code = err.code, trace_id = err.trace_id })
end

-- A handler that raised (a bug, a malformed answer nobody foresaw): the
-- error and its traceback go to the log under the request's id, and the
-- answer is a generic 500 with that id, never the message (it names files
-- of this server).
local function guarded(handler)
    return function(...)
        local ok, err = xpcall(handler, debug.traceback, ...)
        if ok then return end
        local id = ngx.var.request_id
        ngx.log(ngx.ERR, "trace ", id, ": ", tostring(err))
        return reply(500, { error = "internal error; the server's log has its cause under this trace_id",
            kind = "internal", trace_id = id })
    end
end

-- POST /backfills with create_task's parameters as JSON.
function _M.create()
    if ngx.req.get_method() ~= "POST" then
        ngx.header["Allow"] = "POST"
        return reply(405, { error = "use POST" })
    end
    ngx.req.read_body()
    local params = cjson.decode(ngx.req.get_body_data() or "")
    if type(params) ~= "table" then return reply(400, { error = "the body must be a JSON object" }) end
    local c, err = client()
    if not c then return fail(err) end
    local ok, dag
    ok, dag, err = pcall(c.create_task, c, params)
    if not ok then
        -- a field of the wrong JSON type raised; the message may name our files
        ngx.log(ngx.INFO, "create_task refused the body: ", tostring(dag))
        return reply(400, { error = "a field of the body has the wrong type (planId, startTime and endTime "
            .. "are strings, dateIntervalOfLot a number)", kind = "invalid" })
    end
    if not dag then return fail(err) end
    shared:set(dag, cjson.encode { state = "running" })
    return reply(201, { dagName = dag })
end

-- GET /backfills/DAG: counts per status, failures with their error message
-- (details fetched concurrently through light threads), and what the
-- watcher concluded, if it has.
function _M.status(dag)
    local c, err = client()
    if not c then return fail(err) end
    local counts, instances, failed = {}, 0, {}
    local ok, perr = pcall(function()
        for inst in c:instances(dag, { pageSize = 500 }) do
            instances = instances + 1
            counts[inst.status] = (counts[inst.status] or 0) + 1
            if inst.status == "FAILED" then failed[#failed + 1] = inst end
        end
    end)
    if not ok then
        if type(perr) ~= "table" then error(perr, 0) end   -- not the client's error object: a bug (guarded)
        return fail(perr)
    end
    local ids = {}
    for i, inst in ipairs(failed) do ids[i] = inst.id end
    local details = #ids > 0 and c:task_details(ids, { concurrency = 8 }) or {}
    local failures = util.array()   -- [] when none failed
    for i, inst in ipairs(failed) do
        local d = details and details[inst.id]
        failures[i] = {
            id = inst.id, mtGuid = inst.mtGuid, startPartition = inst.startPartition,
            endPartition = inst.endPartition,
            error = d and type(d.msg) == "string" and d.msg:match("^[^\n]*") or nil,
        }
    end
    local done = instances > 0 and (counts.WAITING or 0) + (counts.RUNNING or 0) == 0
    return reply(200, {
        dagName = dag, total = instances, counts = counts, done = done, failures = failures,
        watcher = cjson.decode(shared:get(dag) or "null"),
    })
end

-- GET /plans/ID: a plan's detail (the API's plan detail call).
function _M.plan(id)
    local c, err = client()
    if not c then return fail(err) end
    local d
    d, err = c:plan_detail(id)
    if not d then return fail(err) end
    return reply(200, d)
end

-- GET /instances/ID through cosockets.
function _M.detail(id)
    local c, err = client()
    if not c then return fail(err) end
    local d
    d, err = c:task_detail(id)
    if not d then return fail(err) end
    return reply(200, d)
end

-- GET /blocking/instances/ID through the libcurl client: it works, but the
-- whole worker waits for it.  Kept only to show the difference.
function _M.blocking_detail(id)
    local accelerate = require "accelerate"
    local c, err = accelerate.new { timeout = tonumber(os.getenv("ACCELERATE_TIMEOUT")) or 10 }
    if not c then return fail(err) end
    local d
    d, err = c:task_detail(id)
    c:close()
    if not d then return fail(err) end
    return reply(200, d)
end

-- Watches one backfill to its end with the workflow layer, unchanged, on the
-- cosocket client, and logs the outcome.
local function watch(premature, dag)
    if premature then return end
    local c, err = client()
    local report
    if c then
        report, err = workflow.wait(c, dag, { interval = 0.2, max_interval = 2, timeout = 3600 })
    end
    if not report then
        ngx.log(ngx.ERR, "backfill ", dag, ": watch failed: ", tostring(err))
        shared:set(dag, cjson.encode { state = "error", error = tostring(err) })
        return
    end
    local state = report.timed_out and "timed_out" or (report.ok and "succeeded" or "failed")
    ngx.log(report.ok and ngx.NOTICE or ngx.WARN, "backfill ", dag, " ", state, ": ",
        workflow.summary(report), " (", report.polls, " polls, ", report.requests or "?", " requests)")
    shared:set(dag, cjson.encode { state = state, counts = report.counts, total = report.total })
end

-- Every WATCH_EVERY seconds, worker 0 starts a watcher for each backfill
-- still marked running that has none yet.
function _M.start_watcher()
    if ngx.worker.id() ~= 0 then return end
    local watching = {}
    local ok, err = ngx.timer.every(WATCH_EVERY, function(premature)
        if premature then return end
        for _, dag in ipairs(shared:get_keys(0)) do
            local entry = cjson.decode(shared:get(dag) or "null")
            if entry and entry.state == "running" and not watching[dag] then
                local started, terr = ngx.timer.at(0, watch, dag)
                if started then
                    watching[dag] = true
                else
                    ngx.log(ngx.ERR, "cannot start a watcher for ", dag, ": ", terr)
                end
            end
        end
    end)
    if not ok then ngx.log(ngx.ERR, "cannot start the backfill watcher: ", err) end
end

-- Every request handler answers a generic 500 rather than raise.
for _, name in ipairs { "create", "status", "plan", "detail", "blocking_detail" } do
    _M[name] = guarded(_M[name])
end

return _M
