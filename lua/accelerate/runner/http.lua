-- The runner's routes under its prefix P (docs/openresty.md):
--   GET  P                         the live page
--   GET  P campaigns               every campaign: {id, name, state, counts, tasks, states, created_at}
--   POST P campaigns               a campaign spec: 202 {id, tasks}; 400 and nothing kept if it is bad
--   GET  P campaigns/ID            the command's --json object, with id, name, state, created_at, eta
--   POST P campaigns/ID/stop       no new create; the running backfills are watched to the end
--   POST P campaigns/ID/resume     undoes a stop; goes on after a failure budget's stop
--   POST P campaigns/ID/resolve    {"task": K, "adopt": DAG} or {"task": K, "force_create": true}
--   GET  P metrics                 Prometheus text exposition 0.0.4
-- Any worker answers: what a run knows is in the shared dict (leader.lua),
-- the rest is read from the folder.  A person's requests are files in the
-- folder (store.lua), so that they outlive a restart and the worker that
-- runs the campaign, wherever it is, sees them.

local campaign = require "accelerate.campaign"
local definition = require "accelerate.campaign.definition"
local tasks_mod = require "accelerate.campaign.tasks"
local summary = require "accelerate.campaign.summary"
local checks = require "accelerate.workflow.checks"
local leader = require "accelerate.runner.leader"
local view = require "accelerate.runner.view"
local util = require "accelerate.util"

local ngx = ngx
local type = type
local ipairs = ipairs
local pcall = pcall
local tostring = tostring
local str_sub = string.sub
local str_match = string.match
local json_encode = util.json_encode
local json_decode = util.json_decode
local array = util.array

local _M = {}

local MAX_BODY = 1024 * 1024   -- a spec is a few KB; this is plenty
local STATUS_TTL = 1           -- seconds a journal's reading is reused by the handlers
local ENDED_TTL = 60           -- the same, for a campaign whose journal says it ended

local function reply(status, body, ctype)
  ngx.status = status
  ngx.header["Content-Type"] = ctype or "application/json"
  ngx.header["Cache-Control"] = "no-store"
  if ctype then ngx.print(body) else ngx.say(json_encode(body)) end
end

local function fail(status, kind, message, extra)
  local e = { kind = kind, message = message }
  for k, v in pairs(extra or {}) do e[k] = v end
  return reply(status, { error = e })
end

-- An accelerate error as an answer: what the caller must fix is 400; what
-- the API did not answer is the gateway's 502/504.
local function fail_with(R, err)
  local kind = type(err) == "table" and err.kind or "error"
  -- the message alone: the answer's kind says the rest
  local msg = R.redact(type(err) == "table" and type(err.message) == "string" and err.message or util.errstr(err))
  if kind == "invalid" or kind == "usage" or kind == "not_found"
    or (kind == "api" and (err.code == "400" or err.code == "404" or err.status == 404)) then
    return fail(400, kind, msg)
  end
  -- the runner's own folder (a full disk, a lost permission) is this server's fault
  if kind == "journal" then return fail(500, kind, msg) end
  return fail(kind == "timeout" and 504 or 502, kind, msg)
end

local function method(allowed)
  local m = ngx.req.get_method()
  if m == allowed then return true end
  ngx.header["Allow"] = allowed
  fail(405, "usage", "use " .. allowed)
  return false
end

-- The request's JSON body, a table; nil and the answer made otherwise.
local function body_json()
  ngx.req.read_body()
  local text = ngx.req.get_body_data()
  if not text then
    local file = ngx.req.get_body_file()
    if file then
      local f = io.open(file, "rb")
      if f then
        text = f:read(MAX_BODY + 1)
        f:close()
      end
    end
  end
  if text and #text > MAX_BODY then return nil, fail(413, "invalid", "the body is over " .. MAX_BODY .. " bytes") end
  local v, err = json_decode(text or "")
  if type(v) ~= "table" then
    return nil, fail(400, "invalid", "the body must be a JSON object" .. (err and (": " .. tostring(err)) or ""))
  end
  return v
end

-- The object of campaign id: the run's own while one holds it (or left
-- it), else the journal's reading (cached a second for the page's polls).
local function object_of(R, id)
  local dict = R.dict
  local runner_pid = dict:get("run:" .. id)
  local running = runner_pid ~= nil
  local stop = R.store:has(id, "stop")
  local text = dict:get("c:" .. id)
  local obj = text and json_decode(text)
  if type(obj) ~= "table" then
    local cached = dict:get("s:" .. id)
    obj = cached and json_decode(cached)
    if type(obj) ~= "table" then
      local spec = json_decode(R.store:read(id, "json") or "")
      local report
      if R.store:has(id, "journal") then
        local st, err = campaign.status(R.store:path(id, "journal"))
        if not st then return nil, err end
        report = st
      else
        report = { tasks = array(), counts = {}, states = {}, total = 0 }
      end
      obj = leader.object(R, id, report, { stop = stop, running = running }, spec)
      -- an ended campaign's journal changes no more: read it once a minute
      dict:set("s:" .. id, json_encode(obj), obj.ended and ENDED_TTL or STATUS_TTL)
    end
  end
  if #obj.tasks == 0 then
    -- not yet journaled: the tasks the POST counted wait
    obj.states = { pending = dict:get("n:" .. id) or 0, running = 0, succeeded = 0, failed = 0 }
  end
  obj.state = summary.state(obj, { running = running, stop = stop })
  local etext = dict:get("e:" .. id)
  obj.error = etext and json_decode(etext) or nil
  obj.stopping = stop or nil
  -- the worker that runs it, in this nginx (a person's kill -9 finds it)
  obj.runner_pid = runner_pid
  return obj
end

-- Every campaign's object, oldest first.
local function objects(R)
  local out = array()
  for _, id in ipairs(R.store:ids()) do
    local obj = object_of(R, id)
    if obj then out[#out + 1] = obj end
  end
  return out
end

local function list(R)
  local out = array()
  for _, obj in ipairs(objects(R)) do
    out[#out + 1] = { id = obj.id, name = obj.name, state = obj.state, counts = obj.counts,
      tasks = #obj.tasks > 0 and #obj.tasks or R.dict:get("n:" .. obj.id) or 0, states = obj.states,
      created_at = obj.created_at }
  end
  return out
end

-- The campaign of the same spec identity not yet ended, if any: a second
-- POST of a spec must not create its tasks a second time.
local function same_campaign(R, identity)
  for _, id in ipairs(R.store:ids()) do
    local spec = json_decode(R.store:read(id, "json") or "")
    local ok, s = pcall(definition.normalize, spec)
    if ok and s.identity == identity then
      local obj = object_of(R, id)
      if obj and obj.state ~= "succeeded" and obj.state ~= "failed" then return id end
    end
  end
  return nil
end

local function create(R)
  local spec = body_json()
  if not spec then return end
  local s, err = campaign.check(spec)
  if not s then return fail_with(R, err) end
  local other = same_campaign(R, s.identity)
  if other then
    return fail(409, "invalid", "campaign " .. other .. " runs the same spec and has not ended", { id = other })
  end
  -- the plans looked up, the tasks made and checked as a run would,
  -- before anything is kept
  local tasks, terr = campaign.preview(R.client, spec)
  if not tasks then return fail_with(R, terr) end
  local ok, refusal = pcall(function()
    local _, r = tasks_mod.check(tasks, s, true)
    return r
  end)
  if not ok then return fail_with(R, refusal) end
  if refusal then return fail_with(R, refusal) end
  local id, ierr = R.store:new_id(ngx.time())
  if not id then return fail_with(R, ierr) end
  local wok, werr = R.store:write(id, "json", json_encode(spec) .. "\n")
  if not wok then return fail_with(R, werr) end
  -- until the runner has journaled them, the list tells how many there are
  R.dict:set("n:" .. id, #tasks)
  return reply(202, { id = id, tasks = #tasks })
end

local function stop(R, id, obj)
  if obj.ended then return fail(409, "invalid", "campaign " .. id .. " has ended") end
  local ok, err = R.store:write(id, "stop", json_encode { at = ngx.time() } .. "\n")
  if not ok then return fail_with(R, err) end
  R.dict:delete("s:" .. id)
  return reply(202, { id = id, stop = true })
end

local function resume(R, id, obj)
  if obj.ended then return fail(409, "invalid", "campaign " .. id .. " has ended") end
  if obj.stopped == "failure_budget" then
    local ok, err = R.store:write(id, "go", json_encode { at = ngx.time() } .. "\n")
    if not ok then return fail_with(R, err) end
  end
  R.store:remove(id, "stop")
  R.dict:delete("s:" .. id)
  return reply(202, { id = id, resume = true })
end

-- The command's --adopt / --force-create for the create whose answer was
-- lost; a dagName is asked of the server before it is kept.
local function resolve(R, id, obj)
  local body = body_json()
  if not body then return end
  local first = type(obj.unresolved) == "table" and obj.unresolved[1]
  if not first then return fail(409, "invalid", "campaign " .. id .. " has no create whose answer was lost") end
  if body.task ~= first.task then
    return fail(400, "invalid", "task " .. tostring(body.task) .. " is not the one to resolve: task "
      .. tostring(first.task) .. " is", { task = first.task })
  end
  local adopt, force = body.adopt, body.force_create
  if (adopt == nil) == (force == nil) then
    return fail(400, "invalid", "give one of adopt (a dagName) or force_create (true)")
  end
  if force ~= nil and force ~= true then return fail(400, "invalid", "force_create must be true") end
  if adopt ~= nil then
    if type(adopt) ~= "string" or adopt == "" then return fail(400, "invalid", "adopt must be a dagName") end
    local ok, err = pcall(checks.check_dag, R.client, adopt, checks.new_stats(), first.params)
    if not ok then return fail_with(R, err) end
  end
  local ok, err = R.store:write(id, "resolve", json_encode { task = first.task, adopt = adopt,
    force_create = force } .. "\n")
  if not ok then return fail_with(R, err) end
  R.dict:delete("s:" .. id)
  return reply(202, { id = id, task = first.task, adopt = adopt, force_create = force })
end

local ACTIONS = { stop = stop, resume = resume, resolve = resolve }

local function campaign_route(R, id, action)
  if not R.store_mod.is_id(id) or not R.store:has(id, "json") then
    return fail(404, "not_found", "no campaign " .. id)
  end
  if not action then
    if not method("GET") then return end
    local obj, err = object_of(R, id)
    if not obj then return fail_with(R, err) end
    return reply(200, obj)
  end
  local handler = ACTIONS[action]
  if not handler then return fail(404, "not_found", "no such action: " .. action) end
  if not method("POST") then return end
  local obj, err = object_of(R, id)
  if not obj then return fail_with(R, err) end
  return handler(R, id, obj)
end

local function route(R, prefix)
  local uri = ngx.var.uri
  if str_sub(uri, 1, #prefix) ~= prefix then return fail(404, "not_found", "not under " .. prefix) end
  local rest = str_sub(uri, #prefix + 1)
  if rest == "campaigns" then
    local m = ngx.req.get_method()
    if m == "POST" then return create(R) end
    if not method("GET") then return end
    return reply(200, list(R))
  end
  local id, action = str_match(rest, "^campaigns/([^/]+)/?([^/]*)$")
  if id then return campaign_route(R, id, action ~= "" and action or nil) end
  if rest == "metrics" then
    if not method("GET") then return end
    return view.metrics(R, function() return objects(R) end)
  end
  if rest == "" then
    if not method("GET") then return end
    return view.page(prefix, function() return objects(R) end)
  end
  return fail(404, "not_found", "no route " .. rest)
end

-- syntax: http.serve(R, prefix)
function _M.serve(R, prefix)
  if type(prefix) ~= "string" or str_sub(prefix, -1) ~= "/" then
    return fail(500, "invalid", "runner.serve needs its location's prefix, ending in /")
  end
  if not R or R.failed then
    return fail(503, "invalid", R and R.redact and R.redact(util.errstr(R.failed))
      or ("the runner is not set up: " .. (R and util.errstr(R.failed) or "runner.init was not called")))
  end
  local ok, err = xpcall(route, debug.traceback, R, prefix)
  if ok then return end
  -- a bug: its traceback in the log, a generic answer
  ngx.log(ngx.ERR, "accelerate.runner: ", R.redact(tostring(err)))
  return fail(500, "internal", "internal error; the server's log has its cause")
end

return _M
