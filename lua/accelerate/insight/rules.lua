-- Which failures are transient (the same instance, run again unchanged,
-- is likely to get through) and which are not (something has to change
-- first: the SQL, the table, a permission, the memory or the lot size).
--
-- The one home of this rule table: the failure report, the HTML report
-- and any later campaign (an automatic retry of transient failures) read
-- it from here.  docs/insight.md lists it for people.

local type = type
local pairs = pairs
local ipairs = ipairs
local pcall = pcall
local error = error
local tostring = tostring
local tonumber = tonumber
local setmetatable = setmetatable
local floor = math.floor
local str_find = string.find
local str_sub = string.sub
local str_lower = string.lower

local _M = {}

-- Checked in order, the first match wins, so the specific rules come
-- before the general ones.  Patterns are Lua patterns over the lower-cased
-- message; `why` names the cause and `fix` what a person does about it.
local RULES = {
  -- not transient: the statement itself is wrong
  { name = "sql_parse", transient = false, why = "the SQL does not parse", fix = "fix the plan's SQL",
    patterns = { "parseexception", "syntax error", "mismatched input", "sqlsyntaxerror", "extraneous input" } },
  { name = "missing_table", transient = false, why = "a table is missing", fix = "create it or fix the plan",
    patterns = { "table or view not found", "table %b[] does not exist", "table %b`` does not exist",
      "nosuchtableexception", "no such table", "unknown table", "table not found" } },
  { name = "missing_column", transient = false, why = "a column is missing", fix = "fix the plan or the table",
    patterns = { "cannot resolve", "column %S+ not found", "unknown column", "no such column",
      "column %S+ does not exist", "invalid column" } },
  { name = "sql_analysis", transient = false, why = "the SQL does not analyse", fix = "fix the plan's SQL",
    patterns = { "analysisexception", "semanticexception", "unresolved" } },
  { name = "permission", transient = false, why = "permission denied", fix = "grant access first",
    patterns = { "permission denied", "access denied", "accesscontrolexception", "not authorized",
      "insufficient privilege", "unauthorized" } },
  { name = "out_of_memory", transient = false, why = "out of memory",
    fix = "more executor memory, or smaller lots (--lot)",
    patterns = { "outofmemoryerror", "java heap space", "gc overhead limit exceeded",
      "exceeding memory limits", "memory limit exceeded" } },
  { name = "run_timeout", transient = false, why = "ran past its time limit",
    fix = "smaller lots (--lot) or a longer limit",
    patterns = { "exceeded its run timeout", "execution timeout", "query timeout", "timed out after" } },
  -- transient: the same run may get through later
  { name = "partition_busy", transient = true, why = "another job was loading the partition", fix = "retry",
    patterns = { "is being loaded by another job", "try again later" } },
  { name = "lock", transient = true, why = "a lock was held elsewhere", fix = "retry",
    patterns = { "lock wait timeout", "lock timeout", "could not acquire lock", "failed to acquire lock",
      "deadlock", "lockexception", "is locked", "locked by" } },
  { name = "connection", transient = true, why = "a connection failed", fix = "retry",
    patterns = { "connection reset", "connection refused", "broken pipe", "connection timed out",
      "sockettimeoutexception", "read timed out", "communications link failure", "connectexception",
      "connection closed", "no route to host", "too many connections", "unknownhostexception" } },
  { name = "executor_lost", transient = true, why = "an executor or container was lost", fix = "retry",
    patterns = { "executor lost", "executorlostfailure", "lost executor", "container killed",
      "container released", "preempted", "fetchfailedexception", "node lost" } },
  { name = "service_unavailable", transient = true, why = "a service was unavailable", fix = "retry",
    patterns = { "service unavailable", "temporarily unavailable", "server is busy", "too many requests",
      "metastore.*unavailable", "safemodeexception" } },
}
_M.RULES = RULES

-- Patterns -------------------------------------------------------------------
-- string.find checks a pattern only as far as its matching gets: "heap["
-- passes against any subject without "heap" and raises "malformed pattern"
-- on the first one that has it, in the middle of a run.  So a pattern is
-- read here whole, as lstrlib.c reads it (classEnd, do_match's cases), for
-- every error it can raise.

local MAX_CAPTURES = 32   -- LUA_MAXCAPTURES

-- The index after the single-character class at i (an escape, a [set] or
-- one character), or nil, why.
local function class_end(p, i, n)
  local c = str_sub(p, i, i)
  i = i + 1
  if c == "%" then
    if i > n then return nil, "malformed pattern (ends with '%')" end
    return i + 1
  end
  if c ~= "[" then return i end
  if str_sub(p, i, i) == "^" then i = i + 1 end
  repeat -- the first character is the set's even when it is "]"
    if i > n then return nil, "malformed pattern (missing ']')" end
    local d = str_sub(p, i, i)
    i = i + 1
    if d == "%" and i <= n then i = i + 1 end
  until str_sub(p, i, i) == "]"
  return i + 1
end

-- syntax: ok, why = rules.check_pattern(p)
-- true when string.find(s, p) raises for no subject s; else nil and the
-- error it would raise.
function _M.check_pattern(p)
  if type(p) ~= "string" then return nil, "a pattern must be a string, got " .. type(p) end
  local n, i = #p, 1
  if str_sub(p, 1, 1) == "^" then i = 2 end
  local level, open = 0, {}     -- captures started; open[k] while k is unfinished
  while i <= n do
    local c, c2 = str_sub(p, i, i), str_sub(p, i + 1, i + 1)
    local e, why
    if c == "(" then
      if level >= MAX_CAPTURES then return nil, "too many captures" end
      level = level + 1
      if c2 == ")" then e = i + 2 else open[level], e = true, i + 1 end
    elseif c == ")" then
      local l = level
      while l > 0 and not open[l] do l = l - 1 end
      if l == 0 then return nil, "invalid pattern capture" end
      open[l], e = nil, i + 1
    elseif c == "$" and i == n then
      e = i + 1
    elseif c == "%" and c2 == "b" then
      if i + 3 > n then return nil, "malformed pattern (missing arguments to '%b')" end
      e = i + 4
    elseif c == "%" and c2 == "f" then
      if str_sub(p, i + 2, i + 2) ~= "[" then return nil, "missing '[' after '%f' in pattern" end
      e, why = class_end(p, i + 2, n)
    elseif c == "%" and str_find(c2, "^%d$") then
      local l = tonumber(c2)
      if l < 1 or l > level or open[l] then return nil, "invalid capture index %" .. c2 end
      e = i + 2
    else
      e, why = class_end(p, i, n)
      local q = e and str_sub(p, e, e)
      if q == "?" or q == "*" or q == "+" or q == "-" then e = e + 1 end
    end
    if not e then return nil, why end
    i = e
  end
  for l = 1, level do
    if open[l] then return nil, "unfinished capture" end
  end
  -- and what else the matcher may say (nothing known), on a subject that
  -- reaches the literal parts
  local ok, err = pcall(str_find, p, p)
  if not ok then return nil, tostring(err) end
  return true
end
local check_pattern = _M.check_pattern

-- Rule tables -------------------------------------------------------------------
-- A rule table given by a caller (insight.transient, insight.failures'
-- opts.rules, a campaign's transient list) is checked once, and kept for
-- the next call: a wrong shape would otherwise match nothing, silently, and
-- a malformed pattern raise in the middle of a run.

local checked = setmetatable({}, { __mode = "k" })

-- The length of the list t (keys 1..n, no hole); raises naming where.
local function list_len(t, where)
  if type(t) ~= "table" then error(where .. " must be a list, got " .. type(t), 0) end
  local n = 0
  for k in pairs(t) do
    if type(k) ~= "number" or k < 1 or k ~= floor(k) then error(where .. " must be a list", 0) end
    if k > n then n = k end
  end
  for i = 1, n do
    if t[i] == nil then error(where .. "[" .. i .. "] is missing (nil or null)", 0) end
  end
  return n
end

local function checked_patterns(list, where)
  local out = {}
  for i = 1, list_len(list, where) do
    local ok, why = check_pattern(list[i])
    if not ok then error(where .. "[" .. i .. "]: not a valid Lua pattern: " .. why, 0) end
    out[i] = list[i]
  end
  return out
end

local SHAPE = "insight: rules must be a rule table or a list of patterns"

-- syntax: t = rules.check(given)     (raises, naming where)
-- given: a rule table (RULES' shape), or a list of patterns: the failures
-- they match are transient (one rule, named "given").
function _M.check(given)
  if given == nil or given == RULES then return RULES end
  local known = checked[given]
  if known then return known end
  if type(given) ~= "table" then error(SHAPE .. ", got " .. type(given), 0) end
  local n = list_len(given, "insight: rules")
  local out
  if n > 0 and type(given[1]) == "string" then
    for i = 1, n do
      if type(given[i]) ~= "string" then error(SHAPE .. ": rules[" .. i .. "] is not a pattern", 0) end
    end
    out = { { name = "given", transient = true, why = "matches a given transient pattern", fix = "retry",
      patterns = checked_patterns(given, "insight: rules") } }
  else
    out = {}
    for i = 1, n do
      local r = given[i]
      if type(r) ~= "table" then error(SHAPE .. ": rules[" .. i .. "] is not a rule", 0) end
      checked_patterns(r.patterns, "insight: rules[" .. i .. "].patterns")
      out[i] = r
    end
  end
  checked[given] = out
  return out
end

local function first_match(text, rules)
  for _, rule in ipairs(rules) do
    for _, p in ipairs(rule.patterns or {}) do
      if str_find(text, p) then return rule end
    end
  end
  return nil
end

-- syntax: bool, rule = rules.transient(text [, rules])
-- text: the lines to judge (the caller picks them: the root cause first);
-- rules: a table shaped like RULES (default RULES), or a list of patterns
-- (rules.check; any other shape raises).  An unknown failure is not
-- transient (false, nil): nobody should retry it blindly.
function _M.transient(text, rules)
  if type(text) ~= "string" or text == "" then return false, nil end
  local rule = first_match(str_lower(text), _M.check(rules))
  if not rule then return false, nil end
  return rule.transient == true, rule
end

return _M
