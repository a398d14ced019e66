-- Which failures are transient (the same instance, run again unchanged,
-- is likely to get through) and which are not (something has to change
-- first: the SQL, the table, a permission, the memory or the lot size).
--
-- The one home of this rule table: the failure report, the HTML report
-- and any later campaign (an automatic retry of transient failures) read
-- it from here.  docs/insight.md lists it for people.

local type = type
local ipairs = ipairs
local str_find = string.find
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
-- rules: a table shaped like RULES (default RULES).  An unknown failure is
-- not transient (false, nil): nobody should retry it blindly.
function _M.transient(text, rules)
  if type(text) ~= "string" or text == "" then return false, nil end
  local rule = first_match(str_lower(text), rules or RULES)
  if not rule then return false, nil end
  return rule.transient == true, rule
end

return _M
