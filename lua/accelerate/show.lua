-- accelerate.show: the one-line `tostring` of every object the library
-- hands back (a page, an instance, a detail, a plan page, a plan, a report,
-- a task), so that a REPL prints what an answer is and what matters in it
-- instead of `table: 0x...`.  Only __name and __tostring are set: the
-- tables stay plain data (fields, `#`, pairs, cjson.encode unchanged, as
-- no __index/__len/__pairs is added).  The call policy (accelerate.client)
-- marks what both transports decode, so both print alike.  Pure Lua.
local type, tostring, tonumber, pairs, ipairs, setmetatable, getmetatable, rawget =
  type, tostring, tonumber, pairs, ipairs, setmetatable, getmetatable, rawget
local tbl_concat, tbl_sort = table.concat, table.sort
local statuses = require "accelerate.statuses"
local ceil, max = math.ceil, math.max

local _M = {}

local MAX_TEXT = 72

local function short(s, n)
  s = tostring(s)
  n = n or MAX_TEXT
  if #s > n then return s:sub(1, n - 3) .. "..." end
  return s
end

-- a long id (a dagName, a plan uuid) cut to its first 8 characters
local function short_id(s)
  if s == nil then return "?" end
  s = tostring(s)
  if #s > 12 then return s:sub(1, 8) .. "..." end
  return s
end

local ORDER = statuses.STATUS_ORDER   -- the vocabulary is written once

-- "SUCCESS 3 FAILED 1" over an array of instances: the usual statuses
-- first, any other after them in name order
local function status_counts(list)
  local counts, extra = {}, {}
  for _, inst in ipairs(list) do
    local st = type(inst) == "table" and inst.status or nil
    st = st ~= nil and tostring(st) or "?"
    counts[st] = (counts[st] or 0) + 1
  end
  local parts, known = {}, {}
  for _, k in ipairs(ORDER) do
    known[k] = true
    if counts[k] then parts[#parts + 1] = k .. " " .. counts[k] end
  end
  for k in pairs(counts) do if not known[k] then extra[#extra + 1] = k end end
  tbl_sort(extra)
  for _, k in ipairs(extra) do parts[#parts + 1] = k .. " " .. counts[k] end
  return tbl_concat(parts, " ")
end

local function pages_of(t, n, index_key)
  local size, total = tonumber(t.pageSize), tonumber(t.total)
  -- %s, not %d: a fractional number from a server must not make
  -- tostring raise (5.3+ refuses %d of 1.5)
  local index = tonumber(t[index_key]) or 1
  local of = (size and size > 0 and total) and (" of " .. tostring(max(1, ceil(total / size)))) or ""
  return ("page %s%s (%d of %s)"):format(tostring(index), of, n, total and tostring(total) or "?")
end

-- The first line of an error stack that says what went wrong: the
-- innermost "...Error: ..." or "...Exception: ..." line, else the first.
local function cause(msg)
  if type(msg) ~= "string" or msg == "" then return nil end
  local found
  for line in msg:gmatch("[^\n]+") do
    local c = line:match("([%w_%.%$]+Error: .*)") or line:match("([%w_%.%$]+Error)%s*$")
    if c then found = c end
  end
  if not found then
    for line in msg:gmatch("[^\n]+") do
      local c = line:match("([%w_%.%$]+Exception: .*)")
      if c then found = c end
    end
  end
  return found or msg:match("[^\n]+")
end

local R = {}

function R.instance(i)
  return ("accelerate.instance{%s %s %s %s}"):format(tostring(i.id), tostring(i.status),
    tostring(i.mtGuid or i.dagName or "?"), tostring(i.startPartition or "?"))
end

-- a report's instances (accelerate.instances, the collection)
function R.instances(list)
  local counts = status_counts(list)
  return ("accelerate.instances{%d instances%s}"):format(#list, counts ~= "" and (": " .. counts) or "")
end

function R.page(p)
  local list = type(p.instances) == "table" and p.instances or {}
  local counts = status_counts(list)
  return ("accelerate.page{dag=%s, %s%s}"):format(short_id(p.dagName), pages_of(p, #list, "pageIndex"),
    counts ~= "" and (": " .. counts) or "")
end

function R.detail(d)
  local why = cause(d.msg)
  return ("accelerate.detail{%s %s retries=%s%s}"):format(tostring(d.taskInstanceId or d.id),
    tostring(d.status), tostring(d.retryCnt or 0), why and (": " .. short(why)) or "")
end

function R.plan(p)
  local path = type(p.tablePath) == "table"
    and ((p.tablePath.tableCatalog or "?") .. "." .. (p.tablePath.tableSchema or "?") .. "."
      .. (p.tablePath.tableName or "?")) or nil
  local parts = { tostring(p.name or p.displayName or "?"), tostring(p.materializeType or "?") }
  if p.metricTimeGranularity then parts[#parts + 1] = tostring(p.metricTimeGranularity) end
  if path then parts[#parts + 1] = path end
  parts[#parts + 1] = short_id(p.id)
  return "accelerate.plan{" .. tbl_concat(parts, " ") .. "}"
end

function R.plan_page(p)
  local list = type(p.plans) == "table" and p.plans or {}
  local names = {}
  for i, plan in ipairs(list) do
    if i > 4 then names[#names + 1] = "..."; break end
    names[#names + 1] = tostring(type(plan) == "table" and plan.name or "?")
  end
  return ("accelerate.plan_page{%s%s%s}"):format(pages_of(p, #list, "pageNumber"),
    p.hasNext == true and ", more follow" or "", #names > 0 and (": " .. tbl_concat(names, ", ")) or "")
end

-- counts of a report (a table of status -> n) in the usual order
local function count_line(counts)
  if type(counts) ~= "table" then return "" end
  local parts, known, extra = {}, {}, {}
  for _, k in ipairs(ORDER) do
    known[k] = true
    if (tonumber(counts[k]) or 0) > 0 then parts[#parts + 1] = k .. " " .. counts[k] end
  end
  for k, v in pairs(counts) do
    if not known[k] and (tonumber(v) or 0) > 0 then extra[#extra + 1] = k end
  end
  tbl_sort(extra)
  for _, k in ipairs(extra) do parts[#parts + 1] = k .. " " .. counts[k] end
  return tbl_concat(parts, " ")
end

local function outcome(r)
  if r.timed_out then return "timed out" end
  if r.stopped then return "stopped: " .. tostring(r.stopped) end
  if r.ok == true then return "ok" end
  if r.ok == false then return "failed" end
  return "running"
end

-- a workflow's report (workflow.wait, workflow.backfill)
function R.report(r)
  local counts = count_line(r.counts)
  return ("accelerate.report{dag=%s %s, %s instances%s}"):format(short_id(r.dagName), outcome(r),
    tostring(r.total or 0), counts ~= "" and (": " .. counts) or "")
end

-- a campaign's report (campaign.run)
function R.campaign(r)
  local tasks = type(r.tasks) == "table" and r.tasks or {}
  local states, parts = type(r.states) == "table" and r.states or {}, {}
  for _, k in ipairs { "succeeded", "failed", "running", "pending" } do
    if (tonumber(states[k]) or 0) > 0 then parts[#parts + 1] = k .. " " .. states[k] end
  end
  local counts = count_line(r.counts)
  return ("accelerate.campaign{%s, %d tasks%s, %s instances%s}"):format(outcome(r), #tasks,
    #parts > 0 and (": " .. tbl_concat(parts, " ")) or "", tostring(r.total or 0),
    counts ~= "" and (": " .. counts) or "")
end

-- one task of a campaign's report
function R.task(t)
  local counts = count_line(t.counts)
  return ("accelerate.task{#%s %s %s..%s %s%s%s}"):format(tostring(t.task or "?"), tostring(t.plan or "?"),
    tostring(t.startTime or "?"), tostring(t.endTime or "?"), tostring(t.state or "?"),
    t.dagName and (" dag=" .. short_id(t.dagName)) or "", counts ~= "" and (": " .. counts) or "")
end

_M.render = R

local MTS = {}
for kind, f in pairs(R) do
  MTS[kind] = { __name = "accelerate." .. kind, __tostring = f }
end
_M.metatables = MTS

-- syntax: t = show.mark(kind, t)
-- t with the metatable of kind, unless it is not a table or already has
-- one of its own (the instances collection, a store): those are kept.
local function mark(kind, t)
  if type(t) == "table" and getmetatable(t) == nil then setmetatable(t, MTS[kind]) end
  return t
end
_M.mark = mark

-- The calls of the client whose answers are marked, and how.
local CALLS = {
  list_instances = function(res)
    if type(res.instances) == "table" then
      for _, inst in ipairs(res.instances) do mark("instance", inst) end
    end
    return mark("page", res)
  end,
  task_detail = function(res) return mark("detail", res) end,
  list_plans = function(res)
    if type(res.plans) == "table" then
      for _, p in ipairs(res.plans) do mark("plan", p) end
    end
    return mark("plan_page", res)
  end,
  plan_detail = function(res) return mark("plan", res) end,
}

-- syntax: res = show.answer(call, res)
-- A decoded answer of the call, marked (a store's summary is left alone).
function _M.answer(call, res)
  local f = CALLS[call]
  if not f or type(res) ~= "table" then return res end
  if call == "list_instances" and rawget(res, "instances") == nil then return res end
  return f(res)
end

-- The multi-line view (accelerate.inspect) -------------------------------
-- Debian's lua-inspect: packaged for 5.1-5.3 only, pure Lua that runs on
-- 5.4 as it is, so its 5.3 (or 5.1) file is loaded when require fails.
local inspect_lib
local INSPECT_FILES = { "/usr/share/lua/5.3/inspect.lua", "/usr/share/lua/5.1/inspect.lua" }
local function load_inspect()
  if inspect_lib then return inspect_lib end
  local ok, lib = pcall(require, "inspect")
  if not ok then
    local file
    for _, f in ipairs(INSPECT_FILES) do
      local h = io.open(f, "r")
      if h then h:close(); file = file or f end
    end
    if not file then return nil, "accelerate.inspect needs lua-inspect (make deps, or luarocks install inspect)" end
    local chunk, err = loadfile(file)
    if not chunk then return nil, err end
    lib = chunk()
  end
  inspect_lib = lib
  return lib
end

-- auth values to mask wherever they show up (accelerate.new adds its
-- client's; opts.secret adds one for a call)
local secrets = {}
function _M.add_secret(v)
  if type(v) == "string" and v ~= "" then secrets[v] = true end
end

local SECRET_KEYS = { auth_value = true, authValue = true }
local MASK = "<secret>"
local DEFAULT_DEPTH, DEFAULT_MAX_STRING = 4, 120
local INSPECT_OPTIONS = { depth = true, max_string = true, secret = true }

-- syntax: text, err = show.inspect(value [, opts])
-- opts: depth (levels shown, 4; deeper tables print as {...}), max_string
-- (characters of a string shown, 120; the rest is cut and its length
-- given), secret (a value to mask besides the clients' auth values).
-- Keys sorted; metatables not shown; a key auth_value/authValue, or a
-- string equal to an auth value, prints as <secret>.
function _M.inspect(value, opts)
  if opts ~= nil and type(opts) ~= "table" then return nil, "opts must be a table" end
  opts = opts or {}
  for k in pairs(opts) do
    if not INSPECT_OPTIONS[k] then return nil, "unknown option " .. tostring(k) .. " (depth, max_string, secret)" end
  end
  local depth, max_string = opts.depth or DEFAULT_DEPTH, opts.max_string or DEFAULT_MAX_STRING
  if type(depth) ~= "number" or depth < 0 then return nil, "opts.depth must be a number >= 0" end
  if type(max_string) ~= "number" or max_string < 1 then return nil, "opts.max_string must be a number >= 1" end
  local lib, err = load_inspect()
  if not lib then return nil, err end
  local extra = opts.secret
  local function process(item, path)
    local key = path[#path]
    if key == lib.METATABLE then return nil end
    if SECRET_KEYS[key] and path[#path - 1] ~= lib.KEY then return MASK end
    if type(item) == "string" then
      if secrets[item] or item == extra then return MASK end
      if #item > max_string then
        return item:sub(1, max_string) .. ("... (%d characters)"):format(#item)
      end
    end
    return item
  end
  return lib.inspect(value, { depth = depth, process = process })
end

_M.short, _M.cause = short, cause
return _M
