-- accelerate.metrics: a campaign's numbers for Prometheus, shared by the
-- OpenResty runner (GET P metrics) and `accelerate campaign run --metrics`
-- (a file for node_exporter's textfile collector).
--
--   local client = metrics.counting(client, store)   -- counts every call
--   local text = metrics.render { campaigns = {...}, store = store, leader = ... }
--   local seconds = metrics.eta(report)               -- also the progress line's
--
-- Pure Lua, 5.1 syntax, no nginx and no C core: the counter store is a
-- plain table (the command) or an ngx.shared.DICT (the runner: counters
-- every worker adds to, kept across a HUP), told apart once, in adder().
-- A counter's key in the store is its sample's text (name and labels), so
-- rendering a store is reading it back.  docs/campaign.md, "Metrics".

local statuses = require "accelerate.statuses"

local type = type
local pairs = pairs
local ipairs = ipairs
local pcall = pcall
local error = error
local tostring = tostring
local tonumber = tonumber
local setmetatable = setmetatable
local floor = math.floor
local huge = math.huge
local str_format = string.format
local str_gsub = string.gsub
local str_find = string.find
local str_sub = string.sub
local str_byte = string.byte
local tbl_concat = table.concat
local tbl_sort = table.sort

local _M = {}

-- The vocabularies the families are drawn over; every value is written,
-- 0 included, so that a series exists from the first scrape.  Instance
-- statuses are accelerate.statuses' classes (one home).
local TASK_STATES = { "pending", "running", "succeeded", "failed" }
local CAMPAIGN_STATES = { "pending", "running", "succeeded", "failed", "stopped", "needs_attention" }
local CREATE_OUTCOMES = { "created", "refused", "unknown" }
_M.TASK_STATES, _M.CAMPAIGN_STATES, _M.CREATE_OUTCOMES = TASK_STATES, CAMPAIGN_STATES, CREATE_OUTCOMES

local REQUESTS = "accelerate_requests_total"
local CREATES = "accelerate_creates_total"

-- name -> {type, help}
local FAMILIES = {
  accelerate_campaign_tasks = { "gauge", "Tasks of the campaign by state." },
  accelerate_campaign_instances = { "gauge",
    "Instances of the campaign's backfills by status class (every failed status counts as FAILED)." },
  accelerate_campaign_state = { "gauge", "1 for the campaign's state, 0 for the others." },
  accelerate_campaign_info = { "gauge", "Always 1: the campaign's name." },
  accelerate_campaign_eta_seconds = { "gauge",
    "Seconds left at the pace the campaign's tasks settled so far (absent when unknown)." },
  [REQUESTS] = { "counter",
    "API calls by call and outcome (ok, or the error's kind); a call's own retries are one call." },
  [CREATES] = { "counter", "Backfill creates by outcome: created, refused, or unknown (the answer was lost)." },
  accelerate_runner_leader = { "gauge", "1 in the worker that runs the campaigns, 0 in the others." },
}

-- Text ------------------------------------------------------------------------

-- s with every byte that is not part of valid UTF-8 replaced by U+FFFD:
-- Prometheus refuses a scrape whose label value is not UTF-8 (a journal
-- named in Latin-1, a server's bytes).
local function utf8_clean(s)
  if not str_find(s, "[\128-\255]") then return s end
  local out, i, n = {}, 1, #s
  while i <= n do
    local c = str_byte(s, i)
    local len = (c < 0x80 and 1) or (c >= 0xC2 and c <= 0xDF and 2) or (c >= 0xE0 and c <= 0xEF and 3)
      or (c >= 0xF0 and c <= 0xF4 and 4) or 0
    local ok = len > 0 and i + len - 1 <= n
    if ok and len > 1 then
      for k = i + 1, i + len - 1 do
        local b = str_byte(s, k)
        if b < 0x80 or b > 0xBF then ok = false break end
      end
      -- no overlong form, no surrogate, nothing above U+10FFFF
      local b2 = str_byte(s, i + 1)
      if ok and ((c == 0xE0 and b2 < 0xA0) or (c == 0xED and b2 > 0x9F) or (c == 0xF0 and b2 < 0x90)
          or (c == 0xF4 and b2 > 0x8F)) then
        ok = false
      end
    end
    if ok then
      out[#out + 1] = str_sub(s, i, i + len - 1)
      i = i + len
    else
      out[#out + 1] = "\239\191\189"
      i = i + 1
    end
  end
  return tbl_concat(out)
end

local LABEL_ESCAPE = { ["\\"] = "\\\\", ['"'] = '\\"', ["\n"] = "\\n" }
local HELP_ESCAPE = { ["\\"] = "\\\\", ["\n"] = "\\n" }

-- A label value as the exposition format writes it (between the quotes).
local function label_value(v)
  return (str_gsub(utf8_clean(tostring(v)), '[\\"\n]', LABEL_ESCAPE))
end
_M.label_value = label_value

-- syntax: text = metrics.number(v)
-- v as Prometheus parses it back exactly: integers without a fraction,
-- NaN, +Inf, -Inf, else the shortest %g that reads back as v.
local function number(v)
  v = tonumber(v)
  if v == nil or v ~= v then return "NaN" end
  if v == huge then return "+Inf" end
  if v == -huge then return "-Inf" end
  if v == floor(v) and v > -2 ^ 53 and v < 2 ^ 53 then return str_format("%d", v) end
  local s = str_format("%.15g", v)
  if tonumber(s) ~= v then s = str_format("%.17g", v) end
  return s
end
_M.number = number

-- syntax: key = metrics.series(name, labels)
-- A sample's name and labels as text: labels = { {name, value}, ... } in
-- that order; `name` alone when there is none.  The key of a counter in
-- the store.
local function series(name, labels)
  if not labels or #labels == 0 then return name end
  local parts = {}
  for i, l in ipairs(labels) do parts[i] = l[1] .. '="' .. label_value(l[2]) .. '"' end
  return name .. "{" .. tbl_concat(parts, ",") .. "}"
end
_M.series = series

-- The store ---------------------------------------------------------------------

-- A field of v, or nil where reading it raises (a userdata client).
local function field(v, k)
  local ok, f = pcall(function() return v[k] end)
  if ok then return f end
  return nil
end

-- add(key, n) for a store: an ngx.shared.DICT (incr with an initial 0,
-- atomic across workers; a full dict drops the count rather than fail a
-- call) or a plain table.
local function adder(store)
  if type(field(store, "incr")) == "function" then
    return function(key, n) store:incr(key, n, 0) end
  end
  return function(key, n) store[key] = (tonumber(store[key]) or 0) + n end
end

local COUNTERS = { REQUESTS .. "{", CREATES .. "{" }

local function is_counter(key)
  if type(key) ~= "string" then return false end
  for _, prefix in ipairs(COUNTERS) do
    if str_sub(key, 1, #prefix) == prefix then return true end
  end
  return false
end

-- {key = value} of the counters in store; other keys (a runner's dict
-- holds its leases too) are left out.
local function counters_of(store)
  local out = {}
  if type(store) ~= "table" and type(store) ~= "userdata" then return out end
  if type(field(store, "get_keys")) == "function" then
    for _, k in ipairs(store:get_keys(0) or {}) do
      if is_counter(k) then
        local v = store:get(k)
        if type(v) == "number" then out[k] = v end
      end
    end
    return out
  end
  for k, v in pairs(store) do
    if is_counter(k) and type(v) == "number" then out[k] = v end
  end
  return out
end

-- The counting client -----------------------------------------------------------

-- An error's kind as a label: a word, else "error" (a bounded vocabulary).
local function outcome_of(err)
  local kind = type(err) == "table" and err.kind
  if type(kind) == "string" and str_find(kind, "^[%w_]+$") then return kind end
  return "error"
end

-- The API call each method makes (list_into is a list_instances answer
-- reduced as it comes; find_plan, a listing and a detail inside the
-- client, counts as one call of its own).
local SINGLE = { create_task = "create_task", list_instances = "list_instances", list_into = "list_instances",
  task_detail = "task_detail", list_plans = "list_plans", plan_detail = "plan_detail", find_plan = "find_plan" }
-- Iterators, one call per page fetched (their state's `requests`).
local PAGED = { instances = "list_instances", plans = "list_plans" }

-- syntax: counted = metrics.counting(client, store)
-- A client that makes the calls of `client` and counts each in store:
-- accelerate_requests_total{call, outcome} (outcome "ok" or the error's
-- kind; task_details counts each id, instances and plans each page) and,
-- for create_task, accelerate_creates_total{outcome} (created, refused, or
-- unknown: err.outcome_unknown).  A call that raises (bad arguments, a
-- closed client) sent nothing and is not counted.  Only the methods client
-- has are there; every other field is client's (url, tenant_id, close ...).
function _M.counting(client, store)
  if type(client) ~= "table" and type(client) ~= "userdata" then
    error("bad argument #1 to 'counting' (client expected, got " .. type(client) .. ")", 2)
  end
  if type(store) ~= "table" and type(store) ~= "userdata" then
    error("bad argument #2 to 'counting' (table or ngx.shared.DICT expected, got " .. type(store) .. ")", 2)
  end
  local add = adder(store)
  local function count(call, err, n)
    add(series(REQUESTS, { { "call", call }, { "outcome", err == nil and "ok" or outcome_of(err) } }), n or 1)
  end
  local w, bound = {}, {}

  for m, call in pairs(SINGLE) do
    local f = field(client, m)
    if type(f) == "function" then
      local function counted(res, err, ...)
        count(call, res == nil and (err or false) or nil)
        if m == "create_task" then
          local o = res ~= nil and "created" or (type(err) == "table" and err.outcome_unknown == true and "unknown")
            or "refused"
          add(series(CREATES, { { "outcome", o } }), 1)
        end
        return res, err, ...
      end
      w[m] = function(_, ...) return counted(f(client, ...)) end
    end
  end

  for m, call in pairs(PAGED) do
    local f = field(client, m)
    if type(f) == "function" then
      w[m] = function(_, ...)
        local it, state = f(client, ...)
        local seen = 0
        -- the pages fetched since the last step; the last one failed when
        -- the step raised err
        local function settle(err)
          local n = type(state) == "table" and tonumber(state.requests) or nil
          if not n or n <= seen then return end
          local d = n - seen
          seen = n
          if err == nil then return count(call, nil, d) end
          if d > 1 then count(call, nil, d - 1) end
          count(call, err, 1)
        end
        return function(...)
          local ok, item, st = pcall(it, ...)
          settle((not ok) and (item or false) or nil)
          if not ok then error(item, 0) end
          return item, st
        end, state
      end
    end
  end

  local many = field(client, "task_details")
  if type(many) == "function" then
    w.task_details = function(_, ids, opts)
      local details, errs = many(client, ids, opts)
      if details == nil then
        count("task_detail", errs or false)   -- refused whole (a bad concurrency): nothing sent
      else
        local n = 0
        for _ in pairs(details) do n = n + 1 end
        if n > 0 then count("task_detail", nil, n) end
        if type(errs) == "table" then
          for _, e in pairs(errs) do count("task_detail", e) end
        end
      end
      return details, errs
    end
  end

  return setmetatable(w, {
    -- a method of client called on the wrapper gets client as self
    __index = function(_, k)
      local v = client[k]
      if type(v) ~= "function" then return v end
      local b = bound[v]
      if not b then
        b = function(self, ...)
          if self == w then self = client end
          return v(self, ...)
        end
        bound[v] = b
      end
      return b
    end,
    __tostring = function() return tostring(client) end,
  })
end

-- Campaign numbers ----------------------------------------------------------------

-- syntax: seconds = metrics.eta(report)
-- Seconds left at the pace tasks settled so far, or nil: none settled,
-- all settled, the run stopped, or no elapsed time in report (a journal's
-- status).  report: a campaign report, campaign.run's on_progress or the
-- --json object.  The one ETA: the progress line shows this one too.
function _M.eta(r)
  if type(r) ~= "table" or type(r.tasks) ~= "table" or type(r.states) ~= "table" then return nil end
  local elapsed = tonumber(r.elapsed)
  local n = #r.tasks
  local settled = (tonumber(r.states.succeeded) or 0) + (tonumber(r.states.failed) or 0)
  if not elapsed or settled == 0 or settled >= n or type(r.stopped) == "string" then return nil end
  return elapsed / settled * (n - settled)
end

-- {state = n} of a report: its `states`, else counted from its tasks.
local function task_states(r)
  if type(r.states) == "table" then return r.states end
  local out = {}
  for _, t in ipairs(type(r.tasks) == "table" and r.tasks or {}) do
    if type(t) == "table" and type(t.state) == "string" then out[t.state] = (out[t.state] or 0) + 1 end
  end
  return out
end

-- {class = n} of a report's counts, over accelerate.statuses' classes.
local function instance_classes(r)
  local out = {}
  for _, c in ipairs(statuses.CLASSES) do out[c] = 0 end
  if type(r.counts) == "table" then
    for status, n in pairs(r.counts) do
      local c = statuses.class_of(status)
      out[c] = out[c] + (tonumber(n) or 0)
    end
  end
  return out
end

-- Rendering -----------------------------------------------------------------------

-- The families being built: by name, each {samples = {{key, value}}}; a
-- series already there is not added again (two campaigns of one id).
local function collector()
  local fams, seen = {}, {}
  local function add(name, labels, v)
    local key = series(name, labels)
    if seen[key] then return end
    seen[key] = true
    local f = fams[name]
    if not f then
      f = { name = name, samples = {} }
      fams[name] = f
    end
    f.samples[#f.samples + 1] = { key, v }
  end
  return fams, add
end

local function add_campaign(add, c)
  local id = c.id
  if id == nil then return end
  local r = type(c.report) == "table" and c.report or {}
  local states = task_states(r)
  for _, s in ipairs(TASK_STATES) do
    add("accelerate_campaign_tasks", { { "campaign", id }, { "state", s } }, tonumber(states[s]) or 0)
  end
  local classes = instance_classes(r)
  for _, s in ipairs(statuses.CLASSES) do
    add("accelerate_campaign_instances", { { "campaign", id }, { "status", s } }, classes[s])
  end
  if type(c.state) == "string" then
    for _, s in ipairs(CAMPAIGN_STATES) do
      add("accelerate_campaign_state", { { "campaign", id }, { "state", s } }, c.state == s and 1 or 0)
    end
    add("accelerate_campaign_state", { { "campaign", id }, { "state", c.state } }, 1)
  end
  if c.name ~= nil then add("accelerate_campaign_info", { { "campaign", id }, { "name", c.name } }, 1) end
  local eta = tonumber(c.eta) or _M.eta(r)
  if eta then add("accelerate_campaign_eta_seconds", { { "campaign", id } }, eta) end
end

-- syntax: text = metrics.render { campaigns = {...}, store = store, leader = leader }
-- The text exposition format 0.0.4 (Content-Type: text/plain;
-- version=0.0.4).  campaigns[i] = {id, name, state, report, eta}: id is
-- the campaign label; report a campaign report, on_progress's or the
-- --json object; state one of CAMPAIGN_STATES (nil: no state family); eta
-- seconds (nil: metrics.eta(report), omitted when that is nil too).
-- store: the counters (metrics.counting's).  leader: nil (no family), a
-- number, or {[worker] = 0 | 1} (a label per worker).  Families sorted by
-- name, each with HELP and TYPE once before its samples.
function _M.render(t)
  t = type(t) == "table" and t or {}
  local fams, add = collector()
  for _, c in ipairs(type(t.campaigns) == "table" and t.campaigns or {}) do
    if type(c) == "table" then add_campaign(add, c) end
  end
  local counters = counters_of(t.store)
  for _, o in ipairs(CREATE_OUTCOMES) do
    local key = series(CREATES, { { "outcome", o } })
    if counters[key] == nil then counters[key] = 0 end
  end
  local keys = {}
  for k in pairs(counters) do keys[#keys + 1] = k end
  tbl_sort(keys)
  for _, k in ipairs(keys) do
    local name = str_sub(k, 1, str_find(k, "{", 1, true) - 1)
    fams[name] = fams[name] or { name = name, samples = {} }
    local s = fams[name].samples
    s[#s + 1] = { k, counters[k] }
  end
  local leader = t.leader
  if type(leader) == "number" then
    add("accelerate_runner_leader", nil, leader)
  elseif type(leader) == "table" then
    local workers = {}
    for w in pairs(leader) do workers[#workers + 1] = tostring(w) end
    tbl_sort(workers)
    for _, w in ipairs(workers) do
      add("accelerate_runner_leader", { { "worker", w } }, leader[w] or leader[tonumber(w)])
    end
  end
  local names = {}
  for name in pairs(fams) do names[#names + 1] = name end
  tbl_sort(names)
  local out = {}
  for _, name in ipairs(names) do
    local meta = FAMILIES[name]
    out[#out + 1] = "# HELP " .. name .. " " .. (str_gsub(meta[2], "[\\\n]", HELP_ESCAPE))
    out[#out + 1] = "# TYPE " .. name .. " " .. meta[1]
    for _, s in ipairs(fams[name].samples) do out[#out + 1] = s[1] .. " " .. number(s[2]) end
  end
  return tbl_concat(out, "\n") .. "\n"
end

-- The Content-Type of render's text.
_M.CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

return _M
