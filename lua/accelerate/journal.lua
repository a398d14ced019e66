-- The journal: one JSON object per line, appended and flushed one line at a
-- time, so that whatever the process had learnt from the server is on disk
-- before it acts on it.  A kill -9 can at worst leave a torn last line; the
-- reader skips it and the writer starts a fresh line after it, with a
-- "torn" line naming it.  Any other line that does not decode is damage:
-- parse() gives its number, and the workflows take every create it could
-- hide as one whose answer was lost (a dagName on any other line still
-- counts: that backfill exists).
--
-- One process writes a journal at a time: open() takes an exclusive lock
-- (through the C core) held until close() or the process ends.  The first
-- line records what the journal is for ("for": url, tenant, and the
-- backfill's params, the dag watched or the dag repaired; never the auth
-- value), so that a command made for something else is refused.
--
-- Events (field "event"):
--   open            first line of a new journal: {version, for}
--   intent          about to send a create: {op, params, repairs?}
--   created         the create answered: {op, dagName, params, repairs?}
--   create_failed   the server refused the create, nothing exists: {op, error, params, repairs?}
--   create_unknown  the create was sent but its answer was lost: {op, error, params, repairs?}
--                   (an outcome line carries its intent's fields, so that it
--                   can be placed when the intent line is damaged)
--   torn            the line `line` was torn by a kill (a writer found it last)
--   watch           watching a dagName created elsewhere: {dagName}
--   state           counts changed: {dagName, total, counts, polls, requests}
--   done            every instance terminal, or timed out: {dagName, ok, timed_out, counts, total}
--   failures        failed instance ids after inspect: {dagName, ids}
-- A campaign's journal (accelerate.campaign; "for" holds campaign, the
-- spec's identity, instead of params) adds:
--   campaign        its tasks, planned once, before any create: {tasks = [{task, plan,
--                   planId, materializeType, metricTimeGranularity, scheduledBy,
--                   startTime, endTime, dateIntervalOfLot, lots}], order, spec = the
--                   spec file's path, when the command ran it}
--   run             a resume given the spec under another path: {spec}
--   intent, created ... as above, with task (its number) and round (0, then
--                   1, 2 for repairs, which also carry repairs = the dag repaired)
--   state           as above, with task
--   settled         a dag of a task has every instance terminal: {task, dagName, round,
--                   total, counts, failed = [{id, mtGuid, startPartition, endPartition,
--                   transient}], repair = [ids of the failures its repair re-runs]}
--   stopped         no more creates this run: {reason = failure_budget | timeout |
--                   interrupted, failed}
--   retry           a resume after a failure_budget stop repairs the FAILED ids of
--                   dagName once: {task, dagName, ids}
--   abandoned       a dagName adopted without a check (older versions) that the
--                   server does not know: its create's outcome is unknown again
--                   {op, task, dagName}.  created lines of --adopt carry adopted
--                   (and checked, since the dagName is asked of the server first)
--   ended           every task created and settled: {ok, counts, failed}
-- Every event also has "at" (wall-clock seconds).  Auth values are never
-- written: params are copied through a whitelist.

local util = require "accelerate.util"

-- The C core (private create, fsync, lock), loaded when a journal is first
-- opened: the checks that only read journal names (workflow/checks.lua)
-- stay pure Lua.
local core = util.core

local type = type
local tonumber = tonumber
local ipairs = ipairs
local pairs = pairs
local pcall = pcall
local tostring = tostring
local setmetatable = setmetatable
local io_open = io.open
local os_time = os.time
local str_sub = string.sub
local str_find = string.find
local new_error = util.new_error
local json_encode = util.json_encode
local json_decode = util.json_decode

local _M = { VERSION = 1 }

local PARAM_KEYS = { "planId", "planName", "startTime", "endTime", "dateIntervalOfLot" }

-- The create parameters worth keeping, and nothing else (a caller might pass
-- a table that also holds connection settings).
function _M.clean_params(params)
  local out = {}
  if type(params) ~= "table" then return out end
  for _, k in ipairs(PARAM_KEYS) do
    if params[k] ~= nil then out[k] = params[k] end
  end
  return out
end

local function exists(path)
  local f = io_open(path, "rb")
  if f then f:close() return true end
  return false
end

-- Created readable by its owner only, from the start (the C core).
local function create_private(path)
  return core().create_private(path)
end

-- The line numbers of lines a healed torn line (event "torn") names.
local function healed_lines(events)
  local out = {}
  for _, ev in ipairs(events) do
    if ev.event == "torn" and type(ev.line) == "number" then out[ev.line] = true end
  end
  return out
end

-- Parses journal text.  Returns events, skipped (how many lines did not
-- decode) and damage = {lines = {n, ...}, torn = n}: torn is the last
-- line when it did not decode and has no newline (a kill during its
-- write: a line is written whole with its newline, and an intent before
-- its create is sent, so that line was never acted on); lines are the
-- numbers of every other line that did not decode, save those an open()
-- healed as torn.  A damaged line may have held any event.
function _M.parse(text)
  local events, skipped, bad = {}, 0, {}
  local pos, len, n, last = 1, #text, 0, nil
  while pos <= len do
    local nl = str_find(text, "\n", pos, true)
    local line = str_sub(text, pos, (nl or len + 1) - 1)
    pos = (nl or len) + 1
    n = n + 1
    if str_find(line, "%S") then
      last = n
      local ev = json_decode(line)
      if type(ev) == "table" and type(ev.event) == "string" then
        events[#events + 1] = ev
      else
        skipped = skipped + 1
        bad[#bad + 1] = n
      end
    end
  end
  local healed, damage = healed_lines(events), { lines = {} }
  for _, b in ipairs(bad) do
    if b == last and str_sub(text, -1) ~= "\n" then
      damage.torn = b
    elseif not healed[b] then
      damage.lines[#damage.lines + 1] = b
    end
  end
  return events, skipped, damage
end

-- Reads a journal; a missing file is an empty journal (events = {}).
-- Returns events, skipped, exists, text, damage (as parse's).
function _M.read(path)
  if type(path) ~= "string" or path == "" then
    return nil, new_error("invalid", "journal: a file path is required")
  end
  local f = io_open(path, "rb")
  if not f then return {}, 0, false, nil, { lines = {} } end
  local text = f:read("*a") or ""
  f:close()
  local events, skipped, damage = _M.parse(text)
  return events, skipped, true, text, damage
end

-- "path:3, path:9": damaged lines, by where an editor finds them.
function _M.describe_damage(path, lines)
  local out = {}
  for i, n in ipairs(lines or {}) do out[i] = tostring(path) .. ":" .. tostring(n) end
  return table.concat(out, ", ")
end

-- The warning a journal with damaged lines gives, or nil.
function _M.damage_note(path, lines)
  if not lines or #lines == 0 then return nil end
  return "the journal " .. tostring(path) .. " has " .. (#lines == 1 and "a damaged line" or "damaged lines")
    .. " (" .. _M.describe_damage(path, lines) .. ", not a journal event); every create it could "
    .. "hide is taken as one whose answer was lost"
end

-- The core's fsync(file).
function _M.fsync()
  return core().fsync
end

-- Takes the journal's lock on its open file f, or returns the refusal.
local function lock(f, path)
  local ok, msg, holder = core().lock(f)
  if ok then return true end
  if holder then
    return nil, new_error("invalid", ("journal %s is in use by process %d: one process writes a journal at a "
      .. "time; wait for it to end, or use another journal file"):format(path, holder), { journal = path,
      holder = holder })
  end
  return nil, new_error("invalid", ("journal %s: %s"):format(path, tostring(msg)), { journal = path })
end

-- The same backfill: the same plan, dates and lot size (a missing lot size
-- is the API's default, 1).
function _M.same_params(a, b)
  a, b = _M.clean_params(a), _M.clean_params(b)
  local function norm(p) return p.dateIntervalOfLot == nil and 1 or tonumber(p.dateIntervalOfLot) end
  return a.planId == b.planId and a.planName == b.planName and a.startTime == b.startTime
    and a.endTime == b.endTime and norm(a) == norm(b)
end

-- Why a journal made for `rec` must not serve a command for `want`, or nil.
-- A journal written before owners were recorded has none: nothing to say.
function _M.owner_mismatch(rec, want, summary)
  if type(rec) ~= "table" or type(want) ~= "table" then return nil end
  if rec.url and want.url and rec.url ~= want.url then return "this command is for url " .. want.url end
  if rec.tenant_id and want.tenant_id and rec.tenant_id ~= want.tenant_id then
    return "this command is for tenant " .. want.tenant_id
  end
  if want.params and not (rec.params and _M.same_params(rec.params, want.params)) then
    return "this command is for " .. _M.describe_owner { params = want.params }
  end
  if want.dagName and rec.dagName and rec.dagName ~= want.dagName then
    return "this command watches " .. want.dagName
  end
  if (want.campaign or rec.campaign) and want.campaign ~= rec.campaign then
    if not want.campaign then return "this command is not a campaign" end
    return rec.campaign and "this command is for another campaign spec" or "this command is a campaign"
  end
  if want.repairs and rec.repairs ~= want.repairs and rec.dagName ~= want.repairs
    and (summary == nil or summary.dagName ~= want.repairs) then
    return "this command repairs " .. want.repairs
  end
  return nil
end

-- What a journal is for, in a message: "url U, tenant T, plan P, ...".
function _M.describe_owner(o)
  if type(o) ~= "table" then return "something unknown" end
  local parts = {}
  if o.url then parts[#parts + 1] = "url " .. tostring(o.url) end
  if o.tenant_id then parts[#parts + 1] = "tenant " .. tostring(o.tenant_id) end
  local p = o.params
  if type(p) == "table" then
    parts[#parts + 1] = (p.planId and ("plan " .. tostring(p.planId)) or ("plan name " .. tostring(p.planName)))
      .. ", " .. tostring(p.startTime) .. " .. " .. tostring(p.endTime)
      .. ", lots of " .. util.number_string(p.dateIntervalOfLot or 1) .. " day(s)"
  end
  if o.dagName then parts[#parts + 1] = "watching " .. tostring(o.dagName) end
  if o.repairs then parts[#parts + 1] = "repairing " .. tostring(o.repairs) end
  if o.campaign then parts[#parts + 1] = "a campaign" end
  if #parts == 0 then return "no recorded purpose" end
  return table.concat(parts, ", ")
end

-- The fields of an owner worth recording, and nothing else.
local function clean_owner(o)
  if type(o) ~= "table" then return nil end
  return {
    url = o.url, tenant_id = o.tenant_id, dagName = o.dagName, repairs = o.repairs,
    params = o.params and _M.clean_params(o.params) or nil,
    campaign = type(o.campaign) == "string" and o.campaign or nil,
  }
end

local J = {}
J.__index = J

-- Opens (creating 0600 if needed) a journal for appending, locked for this
-- process.  j.events holds what was already there; j.owner what the journal
-- is for (its first line's, or `owner` when the journal is new).
function _M.open(path, owner)
  if type(path) ~= "string" or path == "" then
    return nil, new_error("invalid", "journal: a file path is required")
  end
  if not exists(path) then
    local ok, err = create_private(path)
    if not ok then
      -- the core's message names the path too: keep only its reason
      local reason = tostring(err):match(".*: (.-)$") or tostring(err)
      return nil, new_error("invalid", "cannot create journal " .. path .. ": " .. reason)
    end
  end
  local f, err = io_open(path, "ab")
  if not f then
    return nil, new_error("invalid", "cannot open journal " .. path .. ": " .. tostring(err))
  end
  -- lock first, then read: what is read is what no one else is writing
  local locked, lerr = lock(f, path)
  if not locked then
    f:close()
    return nil, lerr
  end
  local events, skipped, _, text, damage = _M.read(path)
  if not events then
    f:close()
    return nil, skipped
  end
  -- one write(2) per line as long as a line fits the buffer
  f:setvbuf("full", 65536)
  local j = setmetatable({ path = path, file = f, events = events, skipped = skipped, damaged = damage.lines }, J)
  for _, ev in ipairs(events) do
    if ev.event == "open" then
      j.owner = ev["for"]
      break
    end
  end
  if text and text ~= "" and str_sub(text, -1) ~= "\n" then
    -- a torn last line: start the next record on a line of its own, and
    -- say (in the same write) that it was torn, for it will not be last
    local heal = "\n"
    if damage.torn then
      local ok, s = pcall(json_encode, { event = "torn", line = damage.torn, at = os_time() })
      if ok then heal = heal .. s .. "\n" end
    end
    local ok, werr = j:_write(heal)
    if not ok then f:close() return nil, werr end
  end
  if #events == 0 then
    j.owner = clean_owner(owner)
    local ok, aerr = j:append { event = "open", version = _M.VERSION, ["for"] = j.owner }
    if not ok then f:close() return nil, aerr end
  end
  return j
end

function J:_write(s)
  if not self.file then return nil, new_error("journal", "journal is closed: " .. self.path) end
  local ok, err = self.file:write(s)
  if ok then ok, err = self.file:flush() end
  if not ok then
    return nil, new_error("journal", "cannot write journal " .. self.path .. ": " .. tostring(err))
  end
  -- flush reaches the kernel, which survives a kill -9 of this process;
  -- surviving a power cut needs fsync, which only the C core can offer.
  local fsync = _M.fsync()
  if fsync then pcall(fsync, self.file) end
  return true
end

-- Appends one event (a table with .event); "at" is added.  The caller's
-- table is not modified.
function J:append(ev)
  local line = {}
  for k, v in pairs(ev) do line[k] = v end
  if line.at == nil then line.at = os_time() end
  local ok, s = pcall(json_encode, line)
  if not ok then return nil, new_error("journal", "cannot encode journal event: " .. tostring(s)) end
  local wok, err = self:_write(s .. "\n")
  if not wok then return nil, err end
  self.events[#self.events + 1] = line
  return true
end

function J:close()
  if self.file then
    self.file:close()
    self.file = nil
  end
  return true
end

-- The dagNames of repairs the ops name.
local function repair_dags(s)
  local out = {}
  for _, op in ipairs(s.ops_list) do
    if op.repairs and op.dagName then out[op.dagName] = true end
  end
  return out
end

-- What the events say about create operations and watched dags.
-- Returns {
--   ops = { [op] = {op, params, repairs, status = "intent"|"created"|
--                   "failed"|"unknown", dagName, error} } and ops_list in order,
--   dagName = the dag being watched (the last created or watched one that is
--             not a repair; else the first a state or done line names, and
--             dag_seen = true: its created line is damaged),
--   last_state, done = last done event per dagName,
--   next_op (after every op an intent or outcome line names) }
function _M.summarize(events)
  local s = { ops = {}, ops_list = {}, done = {}, states = {}, next_op = 1 }
  local seen
  for _, ev in ipairs(events) do
    local kind = ev.event
    if kind == "intent" and ev.op then
      local op = { op = ev.op, params = ev.params, repairs = ev.repairs, status = "intent",
        task = ev.task, round = ev.round }
      s.ops[ev.op] = op
      s.ops_list[#s.ops_list + 1] = op
      if type(ev.op) == "number" and ev.op >= s.next_op then s.next_op = ev.op + 1 end
    elseif (kind == "created" or kind == "create_failed" or kind == "create_unknown") and ev.op then
      local op = s.ops[ev.op]
      if not op then
        -- its intent line is damaged: the outcome line carries the same fields
        op = { op = ev.op, params = ev.params, repairs = ev.repairs, task = ev.task, round = ev.round }
        s.ops[ev.op] = op
        s.ops_list[#s.ops_list + 1] = op
      end
      if type(ev.op) == "number" and ev.op >= s.next_op then s.next_op = ev.op + 1 end
      if kind == "created" then
        op.status, op.dagName = "created", ev.dagName
        if not op.repairs then s.dagName = ev.dagName end
      elseif kind == "create_failed" then
        op.status, op.error = "failed", ev.error
      else
        op.status, op.error = "unknown", ev.error
      end
    elseif kind == "watch" and ev.dagName then
      s.dagName = ev.dagName
    elseif kind == "state" and ev.dagName then
      s.states[ev.dagName] = ev
      seen = seen or ev.dagName
    elseif kind == "done" and ev.dagName then
      s.done[ev.dagName] = ev
      seen = seen or ev.dagName
    end
  end
  -- a dagName anywhere means the backfill exists: when the line that
  -- created it is damaged, the watch's lines still name it
  if not s.dagName and seen and not repair_dags(s)[seen] then s.dagName, s.dag_seen = seen, true end
  -- a create whose outcome was never recorded, or recorded as lost
  for _, op in ipairs(s.ops_list) do
    if op.status == "intent" or op.status == "unknown" then
      s.pending = s.pending or {}
      s.pending[#s.pending + 1] = op
    end
  end
  return s
end

return _M
