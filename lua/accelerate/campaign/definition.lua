-- A campaign's definition (its JSON "spec", docs/campaign.md), checked and
-- with its defaults:
-- what to backfill (a list of backfills, or a selection of plans over one
-- range), how to cut it into tasks (chunk), in which order, and the rules
-- of the run (max_in_flight, failure_budget, repair_rounds, transient).
--
-- Its identity is what the journal records: the part that decides which
-- tasks exist.  The rules of the run are not in it, so a resume may raise
-- max_in_flight or the failure budget; another selection or range is
-- another campaign, refused on the same journal.

local util = require "accelerate.util"
local checks = require "accelerate.workflow.checks"
local params = require "accelerate.workflow.params"
local rules = require "accelerate.insight.rules"
local notify = require "accelerate.notify"

local type = type
local pairs = pairs
local ipairs = ipairs
local tostring = tostring
local floor = math.floor
local tbl_sort = table.sort
local tbl_concat = table.concat
local json_encode = util.json_encode
local raise = checks.raise

local _M = {}

local TOP_KEYS = {
  backfills = true, plans = true, startTime = true, endTime = true, dateIntervalOfLot = true,
  chunk = true, order = true, max_in_flight = true, failure_budget = true, repair_rounds = true,
  transient = true, name = true, description = true, force = true, notify = true,
}
local ENTRY_KEYS = { plan = true, planId = true, planName = true, startTime = true, endTime = true,
  dateIntervalOfLot = true }
local SELECTION_KEYS = { materializeType = true, names = true }
local TYPES = { RESULT = true, ACCELERATE = true, EXTERNAL = true }
local ORDERS = { oldest = true, newest = true }

-- The fields a spec knows, sorted: {spec = {...}, entry = {...} (of a
-- backfills entry), selection = {...} (of plans)}; `campaign --help`
-- lists them and its spec checks the page names each.
function _M.known_fields()
  local out = {}
  for name, set in pairs { spec = TOP_KEYS, entry = ENTRY_KEYS, selection = SELECTION_KEYS } do
    local list = {}
    for k in pairs(set) do list[#list + 1] = k end
    tbl_sort(list)
    out[name] = list
  end
  return out
end

-- Refuses keys a spec does not know: a misspelt option must not be ignored.
local function only_known(t, known, where)
  local bad = {}
  for k in pairs(t) do
    if not known[k] then bad[#bad + 1] = tostring(k) end
  end
  if #bad > 0 then
    tbl_sort(bad)
    local near = util.nearest(known, bad[1])
    raise("invalid", where .. ": unknown field" .. (#bad > 1 and "s " or " ") .. tbl_concat(bad, ", ")
      .. (near and ("; did you mean '" .. near .. "'?") or ""))
  end
end

-- A whole number >= minimum, or the default when absent.
local function whole(v, name, minimum, default)
  if v == nil then return default end
  if type(v) ~= "number" or v ~= v or v ~= floor(v) or v < minimum or v > 1e9 then
    raise("invalid", "campaign spec: " .. name .. " must be a whole number >= " .. minimum)
  end
  return floor(v)
end

local function nonempty_string(v)
  return type(v) == "string" and v ~= ""
end

-- The length of a non-empty list (keys 1..n); raises `bad` for anything
-- else.  A null element (the JSON decoder's sentinel) or a hole (nil, in a
-- spec made in Lua) is refused by its path: ipairs would stop there and
-- every entry after it would be dropped unseen.
local function list_of(v, where, bad)
  if type(v) ~= "table" then raise("invalid", bad) end
  local n = 0
  for k in pairs(v) do
    if type(k) ~= "number" or k < 1 or k ~= floor(k) then raise("invalid", bad) end
    if k > n then n = k end
  end
  if n == 0 then raise("invalid", bad) end
  for i = 1, n do
    if v[i] == nil or type(v[i]) == "userdata" then
      raise("invalid", where .. "[" .. i .. "] is null: a list may not hold null")
    end
  end
  return n
end

-- chunk: "month" or a number of days; nil: one task per range.
local function chunk_of(v)
  if v == nil or v == "month" then return v end
  if type(v) == "number" then return whole(v, "chunk", 1) end
  raise("invalid", "campaign spec: chunk must be \"month\" or a number of days")
end

local function patterns_of(v)
  if v == nil then return nil end
  local n = list_of(v, "campaign spec: transient", "campaign spec: transient must be a non-empty list of patterns")
  local out = {}
  for i = 1, n do
    local p = v[i]
    if not nonempty_string(p) then raise("invalid", "campaign spec: transient[" .. i .. "] must be a pattern") end
    -- read whole: string.find on a sample subject stops before "heap["'s bracket
    local ok, why = rules.check_pattern(p)
    if not ok then
      raise("invalid", "campaign spec: transient[" .. i .. "] is not a valid Lua pattern: " .. p .. " (" .. why .. ")")
    end
    out[i] = p
  end
  return out
end

-- One backfill of the list, with the spec's own dates and lot as defaults.
local function entry_of(e, i, raw)
  local where = "campaign spec: backfills[" .. i .. "]"
  if type(e) ~= "table" then raise("invalid", where .. " must be an object") end
  only_known(e, ENTRY_KEYS, where)
  local given = 0
  for _, k in ipairs { "plan", "planId", "planName" } do
    if e[k] ~= nil then
      if not nonempty_string(e[k]) then raise("invalid", where .. "." .. k .. " must be a non-empty string") end
      given = given + 1
    end
  end
  if given ~= 1 then raise("invalid", where .. " needs one of plan, planId or planName") end
  local out = {
    key = e.plan or e.planId or e.planName, by = e.planId and "id" or "name",
    startTime = e.startTime or raw.startTime, endTime = e.endTime or raw.endTime,
    dateIntervalOfLot = e.dateIntervalOfLot or raw.dateIntervalOfLot or 1,
  }
  if not out.startTime or not out.endTime then raise("invalid", where .. " needs startTime and endTime") end
  local ok, err = checks.protect(params.range, out.startTime, out.endTime, out.dateIntervalOfLot)
  if not ok then raise("invalid", where .. ": " .. err.message) end
  out.dateIntervalOfLot = params.lot_size(out.dateIntervalOfLot)
  return out
end

local function selection_of(sel, raw)
  if type(sel) ~= "table" then raise("invalid", "campaign spec: plans must be an object") end
  only_known(sel, SELECTION_KEYS, "campaign spec: plans")
  local mt = sel.materializeType
  if mt ~= nil and not TYPES[mt] then
    raise("invalid", "campaign spec: plans.materializeType must be RESULT, ACCELERATE or EXTERNAL")
  end
  local names
  if sel.names ~= nil then
    local count = list_of(sel.names, "campaign spec: plans.names",
      "campaign spec: plans.names must be a non-empty list of plan names")
    names = {}
    for i = 1, count do
      local n = sel.names[i]
      if not nonempty_string(n) then raise("invalid", "campaign spec: plans.names[" .. i .. "] must be a name") end
      names[i] = n
    end
  end
  if not mt and not names then
    raise("invalid", "campaign spec: plans needs a materializeType, names, or both")
  end
  if not raw.startTime or not raw.endTime then
    raise("invalid", "campaign spec: a selection of plans needs startTime and endTime")
  end
  local ok, err = checks.protect(params.range, raw.startTime, raw.endTime, raw.dateIntervalOfLot)
  if not ok then raise("invalid", "campaign spec: " .. err.message) end
  return { materializeType = mt, names = names, startTime = raw.startTime, endTime = raw.endTime,
    dateIntervalOfLot = params.lot_size(raw.dateIntervalOfLot) }
end

-- The identity: the sources and the chunk, in a canonical JSON text.
local function identity(s)
  local sources
  if s.backfills then
    sources = {}
    for i, e in ipairs(s.backfills) do
      sources[i] = { e.by, e.key, e.startTime, e.endTime, e.dateIntervalOfLot }
    end
  else
    local names = s.selection.names and util.shallow_copy(s.selection.names) or nil
    if names then tbl_sort(names) end
    local sel = s.selection
    sources = { type = sel.materializeType, names = names, startTime = sel.startTime, endTime = sel.endTime,
      lot = sel.dateIntervalOfLot }
  end
  return json_encode { sources = sources, chunk = s.chunk }
end

-- syntax: s = spec.normalize(raw)      (raises kind invalid)
-- s = {backfills = {{key, by, startTime, endTime, dateIntervalOfLot}} or
-- selection = {materializeType, names, startTime, endTime, dateIntervalOfLot},
-- chunk, order, max_in_flight, failure_budget (nil: none), repair_rounds,
-- transient (patterns or nil), rules (for insight.transient), force
-- (EXTERNAL plans created anyway: a rule of the run, not of the identity),
-- notify ({url, timeout, retries, queue}: notify.check, not of the
-- identity either), name, identity}.
function _M.normalize(raw)
  if type(raw) ~= "table" then raise("invalid", "a campaign spec must be an object") end
  only_known(raw, TOP_KEYS, "campaign spec")
  if (raw.backfills == nil) == (raw.plans == nil) then
    raise("invalid", "campaign spec: give backfills (a list) or plans (a selection), one of the two")
  end
  local s = {
    chunk = chunk_of(raw.chunk),
    order = raw.order or "oldest",
    max_in_flight = whole(raw.max_in_flight, "max_in_flight", 1, 1),
    failure_budget = whole(raw.failure_budget, "failure_budget", 0, nil),
    repair_rounds = whole(raw.repair_rounds, "repair_rounds", 0, 0),
    transient = patterns_of(raw.transient),
    force = raw.force,
    -- a rule of the run, not of the identity: a resume may add or change it
    notify = notify.check(raw.notify, "campaign spec: notify"),
    name = type(raw.name) == "string" and raw.name or nil,
  }
  if s.force ~= nil and type(s.force) ~= "boolean" then
    raise("invalid", "campaign spec: force must be true or false")
  end
  if not ORDERS[s.order] then raise("invalid", "campaign spec: order must be \"oldest\" or \"newest\"") end
  if raw.backfills ~= nil then
    local n = list_of(raw.backfills, "campaign spec: backfills", "campaign spec: backfills must be a non-empty list")
    s.backfills = {}
    for i = 1, n do s.backfills[i] = entry_of(raw.backfills[i], i, raw) end
  else
    s.selection = selection_of(raw.plans, raw)
  end
  if s.transient then
    s.rules = { { name = "spec", transient = true, why = "matches the campaign's transient patterns",
      fix = "retry", patterns = s.transient } }
  end
  s.identity = identity(s)
  return s
end

return _M
