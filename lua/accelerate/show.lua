-- accelerate.show: the one-line `tostring` of every object the library
-- hands back (a page, an instance, a detail, a plan page, a plan, a report,
-- a task), so that a REPL prints what an answer is and what matters in it
-- instead of `table: 0x...`.  Only __name and __tostring are set: the
-- tables stay plain data (fields, `#`, pairs, cjson.encode unchanged, as
-- no __index/__len/__pairs is added).  The call policy (accelerate.client)
-- marks what both transports decode, so both print alike.  Pure Lua.
local type, tostring, tonumber, pairs, ipairs, next, setmetatable, getmetatable, rawget =
  type, tostring, tonumber, pairs, ipairs, next, setmetatable, getmetatable, rawget
local tbl_concat, tbl_sort = table.concat, table.sort
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

local ORDER = { "SUCCESS", "FAILED", "RUNNING", "WAITING" }

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
  local index = tonumber(t[index_key]) or 1
  local of = (size and size > 0 and total) and (" of " .. max(1, ceil(total / size))) or ""
  return ("page %d%s (%d of %s)"):format(index, of, n, total and tostring(total) or "?")
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

function R.report(r)
  local counts = count_line(r.counts)
  local head = r.outcome or r.state or (r.done and "done") or (r.complete and "complete") or nil
  return ("accelerate.report{dag=%s%s, %s instances%s}"):format(short_id(r.dagName),
    head and (" " .. tostring(head)) or "", tostring(r.total or "?"), counts ~= "" and (": " .. counts) or "")
end

function R.campaign(r)
  local tasks = type(r.tasks) == "table" and r.tasks or {}
  local by = {}
  for _, t in ipairs(tasks) do
    local st = type(t) == "table" and tostring(t.state or t.status or t.outcome or "?") or "?"
    by[st] = (by[st] or 0) + 1
  end
  return ("accelerate.campaign{%s%s, %d tasks%s}"):format(tostring(r.name or r.campaign or "?"),
    r.outcome and (" " .. tostring(r.outcome)) or "", #tasks,
    next(by) and (": " .. count_line(by)) or "")
end

function R.task(t)
  return ("accelerate.task{%s %s%s%s}"):format(tostring(t.key or t.id or t.index or "?"),
    tostring(t.state or t.status or t.outcome or "?"),
    t.dagName and (" dag=" .. short_id(t.dagName)) or "",
    (t.startTime and t.endTime) and (" " .. tostring(t.startTime) .. ".." .. tostring(t.endTime)) or "")
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

_M.short, _M.cause = short, cause
return _M
