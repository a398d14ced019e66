-- The status vocabulary, written once: the statuses the API documents,
-- which ones are final, which ones failed, the classes summaries, the
-- calendar and the HTML report draw, and how a status is named.  Pure Lua
-- (loads no C), so reports and insight read it without the build; the C
-- core's copy is src/status.h, and a spec checks the two agree
-- (accelerate.statuses() of the core against this module).

local type = type
local ipairs = ipairs
local str_find = string.find

local _M = {}

-- The statuses the API documents (backfill-api.txt), in the order
-- summaries and progress lines show them; these are also the classes
-- every other status is drawn as (see class_of), with OTHER.
local DOCUMENTED = { "SUCCESS", "FAILED", "RUNNING", "WAITING" }
_M.DOCUMENTED = DOCUMENTED
_M.STATUS_ORDER = DOCUMENTED
-- The same in the order an instance goes through them (a detail's
-- statusTime shown as a timeline).
_M.LIFECYCLE = { "WAITING", "RUNNING", "SUCCESS", "FAILED" }

-- Statuses after which an instance never changes again, as failed.  The
-- API documents FAILED; the others are what schedulers of this kind
-- commonly report for a killed task, and are counted as failed rather
-- than waited on forever.
local FAILED_LIST = { "FAILED", "KILLED", "STOPPED", "CANCELED", "CANCELLED", "ERROR", "TIMEOUT" }
_M.FAILED_LIST = FAILED_LIST
local FAILED_STATUSES = {}
for _, s in ipairs(FAILED_LIST) do FAILED_STATUSES[s] = true end
_M.FAILED_STATUSES = FAILED_STATUSES

local DOC_SET = {}
for _, s in ipairs(DOCUMENTED) do DOC_SET[s] = true end

-- What every status is drawn as (class_of), in legend order.
local CLASSES = {}
for i, s in ipairs(DOCUMENTED) do CLASSES[i] = s end
CLASSES[#CLASSES + 1] = "OTHER"
_M.CLASSES = CLASSES

local function is_failed(status)
  return FAILED_STATUSES[status] == true
end
_M.is_failed = is_failed

-- SUCCESS or any failed status.
function _M.is_terminal(status)
  return status == "SUCCESS" or FAILED_STATUSES[status] == true
end

-- syntax: class = statuses.class_of(status)
-- SUCCESS, FAILED (every failed status), RUNNING, WAITING or OTHER.
function _M.class_of(status)
  if FAILED_STATUSES[status] then return "FAILED" end
  if DOC_SET[status] then return status end
  return "OTHER"
end

-- syntax: counts = statuses.zero_counts()
-- A new counts table holding the documented statuses at 0.
function _M.zero_counts()
  local c = {}
  for _, s in ipairs(DOCUMENTED) do c[s] = 0 end
  return c
end

-- syntax: name = statuses.of(instance)
-- The instance's status as a name to count and show: the server's string
-- when it is one, UNKNOWN when there is none, OTHER for anything else (a
-- table, a boolean, a number, an overlong string): a malformed answer must
-- never crash a summary, a calendar or a report.  The compact store
-- (src/items.c, src/reduce.c) applies the same rule.
local plain, nplain = {}, 0   -- status strings already judged (a few, read 200,000 times)
local function name(st)
  if not st then return "UNKNOWN" end
  if type(st) ~= "string" then return "OTHER" end
  local n = plain[st]
  if n then return n end
  n = st
  if st == "" or #st > 64 or str_find(st, "[^%w_%-]") then n = "OTHER" end
  if nplain >= 256 then plain, nplain = {}, 0 end
  plain[st], nplain = n, nplain + 1
  return n
end

function _M.of(inst)
  return name(type(inst) == "table" and inst.status or nil)
end

-- syntax: name = statuses.name(value)
-- statuses.of of an instance whose status field is value (what a
-- collection's scan gives).
_M.name = name

return _M
