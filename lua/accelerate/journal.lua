-- The journal: one JSON object per line, appended and flushed one line at a
-- time, so that whatever the process had learnt from the server is on disk
-- before it acts on it.  A kill -9 can at worst leave a torn last line; the
-- reader skips it and the writer starts a fresh line after it.
--
-- Events (field "event"):
--   open            first line of a new journal: {version}
--   intent          about to send a create: {op, params, repairs?}
--   created         the create answered: {op, dagName, params, repairs?}
--   create_failed   the server refused the create, nothing exists: {op, error}
--   create_unknown  the create was sent but its answer was lost: {op, error}
--   watch           watching a dagName created elsewhere: {dagName}
--   state           counts changed: {dagName, total, counts, polls, requests}
--   done            every instance terminal, or timed out: {dagName, ok, timed_out, counts, total}
--   failures        failed instance ids after inspect: {dagName, ids}
-- Every event also has "at" (wall-clock seconds).  Auth values are never
-- written: params are copied through a whitelist.

local util = require "accelerate.util"

local type = type
local ipairs = ipairs
local pairs = pairs
local pcall = pcall
local tostring = tostring
local setmetatable = setmetatable
local io_open = io.open
local os_time = os.time
local os_execute = os.execute
local str_gsub = string.gsub
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

local function shell_quote(s)
  return "'" .. str_gsub(s, "'", "'\\''") .. "'"
end

local function exists(path)
  local f = io_open(path, "rb")
  if f then f:close() return true end
  return false
end

-- Creates the file readable by its owner only.  Pure Lua cannot set a mode,
-- and chmod after io.open leaves a window where the file is world-readable;
-- a shell with umask 077 creates it 0600 from the start.  The C core may
-- offer the same without a shell (accelerate.create_private); prefer it.
local function create_private(path)
  local ok, core = pcall(require, "accelerate")
  if ok and type(core) == "table" and type(core.create_private) == "function" then
    local cok, res, err = pcall(core.create_private, path)
    if cok and res then return true end
    if cok then return nil, err end
  end
  os_execute("(umask 077 && : >> " .. shell_quote(path) .. ") 2>/dev/null")
  if exists(path) then return true end
  -- no shell available: fall back to the process umask (documented)
  local f, err = io_open(path, "ab")
  if not f then return nil, err end
  f:close()
  return true
end

-- Parses journal text.  Returns events, skipped (number of lines that did not
-- decode: a torn last line after a kill, or damage).
function _M.parse(text)
  local events, skipped = {}, 0
  local pos, len = 1, #text
  while pos <= len do
    local nl = str_find(text, "\n", pos, true)
    local line = str_sub(text, pos, (nl or len + 1) - 1)
    pos = (nl or len) + 1
    if line ~= "" then
      local ev = json_decode(line)
      if type(ev) == "table" and type(ev.event) == "string" then
        events[#events + 1] = ev
      else
        skipped = skipped + 1
      end
    end
  end
  return events, skipped
end

-- Reads a journal; a missing file is an empty journal (events = {}).
function _M.read(path)
  if type(path) ~= "string" or path == "" then
    return nil, new_error("invalid", "journal: a file path is required")
  end
  local f = io_open(path, "rb")
  if not f then return {}, 0, false end
  local text = f:read("*a") or ""
  f:close()
  local events, skipped = _M.parse(text)
  return events, skipped, true, text
end

-- The core's fsync(file), looked up once (nil when the core lacks it).
local fsync_fn, fsync_looked
function _M.fsync()
  if not fsync_looked then
    fsync_looked = true
    local ok, core = pcall(require, "accelerate")
    if ok and type(core) == "table" and type(core.fsync) == "function" then fsync_fn = core.fsync end
  end
  return fsync_fn
end

local J = {}
J.__index = J

-- Opens (creating 0600 if needed) a journal for appending.  j.events holds
-- what was already there.
function _M.open(path)
  local events, skipped, existed, text = _M.read(path)
  if not events then return nil, skipped end
  if not existed then
    local ok, err = create_private(path)
    if not ok then
      return nil, new_error("invalid", "cannot create journal " .. path .. ": " .. tostring(err))
    end
  end
  local f, err = io_open(path, "ab")
  if not f then
    return nil, new_error("invalid", "cannot open journal " .. path .. ": " .. tostring(err))
  end
  -- one write(2) per line as long as a line fits the buffer
  f:setvbuf("full", 65536)
  local j = setmetatable({ path = path, file = f, events = events, skipped = skipped }, J)
  if text and text ~= "" and str_sub(text, -1) ~= "\n" then
    -- a torn last line: start the next record on a line of its own
    local ok, werr = j:_write("\n")
    if not ok then f:close() return nil, werr end
  end
  if #events == 0 then
    local ok, aerr = j:append { event = "open", version = _M.VERSION }
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

-- What the events say about create operations and watched dags.
-- Returns {
--   ops = { [op] = {op, params, repairs, status = "intent"|"created"|
--                   "failed"|"unknown", dagName, error} } and ops_list in order,
--   dagName = the dag being watched (the last created or watched one that is
--             not a repair), last_state, done = last done event per dagName,
--   next_op }
function _M.summarize(events)
  local s = { ops = {}, ops_list = {}, done = {}, states = {}, next_op = 1 }
  for _, ev in ipairs(events) do
    local kind = ev.event
    if kind == "intent" and ev.op then
      local op = { op = ev.op, params = ev.params, repairs = ev.repairs, status = "intent" }
      s.ops[ev.op] = op
      s.ops_list[#s.ops_list + 1] = op
      if type(ev.op) == "number" and ev.op >= s.next_op then s.next_op = ev.op + 1 end
    elseif (kind == "created" or kind == "create_failed" or kind == "create_unknown") and ev.op then
      local op = s.ops[ev.op]
      if not op then
        op = { op = ev.op, params = ev.params, repairs = ev.repairs }
        s.ops[ev.op] = op
        s.ops_list[#s.ops_list + 1] = op
      end
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
    elseif kind == "done" and ev.dagName then
      s.done[ev.dagName] = ev
    end
  end
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
