-- The runner's folder: per campaign ID, the spec as POSTed (ID.json), its
-- journal in the command's format (ID.journal, so that `accelerate
-- campaign status dir/ID.journal` reads it and `accelerate campaign run
-- dir/ID.json --journal dir/ID.journal` can take over), and the requests a
-- person made that must outlive a restart: ID.stop (stop creating), ID.go
-- (go on after a failure-budget stop), ID.resolve (a create whose answer
-- was lost: adopt or force_create).  Files, not shared memory: another
-- nginx on the same folder, or the command, sees them too.  Every write is
-- a whole file renamed into place: never half-written.

local dates = require "accelerate.dates"
local util = require "accelerate.util"

local io_open = io.open
local os_remove = os.remove
local os_rename = os.rename
local tostring = tostring
local tonumber = tonumber
local str_format = string.format
local str_match = string.match
local str_byte = string.byte
local tbl_sort = table.sort
local new_error = util.new_error

local _M = {}

local core = util.core   -- loaded on first use

-- An id: its creation time (UTC, to the second) and 16 random bits, so
-- that a listing sorts by age and the id alone gives created_at.
local ID = "^(%d%d%d%d)(%d%d)(%d%d)%-(%d%d)(%d%d)(%d%d)%-%x%x%x%x$"

-- syntax: bool = store.is_id(s)
function _M.is_id(s)
  return type(s) == "string" and str_match(s, ID) ~= nil
end

-- syntax: seconds = store.created_at(id)
function _M.created_at(id)
  local y, m, d, hh, mm, ss = str_match(id, ID)
  if not y then return nil end
  return dates.from_civil(tonumber(y), tonumber(m), tonumber(d)) * 86400
    + tonumber(hh) * 3600 + tonumber(mm) * 60 + tonumber(ss)
end

local function random_hex()
  local f = io_open("/dev/urandom", "rb")
  local b = f and f:read(2)
  if f then f:close() end
  if not b or #b < 2 then return str_format("%04x", math.random(0, 65535)) end
  return str_format("%02x%02x", str_byte(b, 1, 2))
end

local S = {}
S.__index = S

-- syntax: s, err = store.open(dir)
-- The folder is made (readable by its owner only) when missing.
function _M.open(dir)
  if type(dir) ~= "string" or dir == "" then return nil, new_error("invalid", "dir must be a folder path") end
  dir = dir:gsub("/+$", "")
  if dir == "" then dir = "/" end
  if not core().list_dir(dir) then
    local parent, leaf = str_match(dir, "^(.*)/([^/]+)$")
    if parent == "" then parent = "/" end
    local ok, err = core().mkdirs(parent or ".", leaf or dir)
    if not ok then
      return nil, new_error("invalid", "cannot make the runner's folder " .. dir .. ": " .. tostring(err))
    end
  end
  return setmetatable({ dir = dir }, S)
end

function S:path(id, what) return self.dir .. "/" .. id .. "." .. what end

-- syntax: ids = s:ids()
-- Every campaign in the folder, oldest first.
function S:ids()
  local names = core().list_dir(self.dir) or {}
  local out = {}
  for _, name in ipairs(names) do
    local id = str_match(name, "^(.+)%.json$")
    if id and _M.is_id(id) then out[#out + 1] = id end
  end
  tbl_sort(out)
  return out
end

-- syntax: text = s:read(id, what)      (nil when there is none)
function S:read(id, what)
  local f = io_open(self:path(id, what), "rb")
  if not f then return nil end
  local text = f:read("*a")
  f:close()
  return text
end

function S:has(id, what)
  local f = io_open(self:path(id, what), "rb")
  if f then f:close() end
  return f ~= nil
end

-- syntax: ok, err = s:write(id, what, text)
-- Written beside, flushed to the disk, then renamed into place.
function S:write(id, what, text)
  local path = self:path(id, what)
  local tmp = path .. ".tmp"
  os_remove(tmp)
  -- private from the start, as the journals are
  local made, merr = core().create_private(tmp)
  if not made then return nil, new_error("journal", "cannot write " .. path .. ": " .. tostring(merr)) end
  local f, err = io_open(tmp, "wb")
  if not f then return nil, new_error("journal", "cannot write " .. path .. ": " .. tostring(err)) end
  local ok, werr = f:write(text)
  if ok then ok, werr = f:flush() end
  if ok then ok, werr = core().fsync(f) end
  f:close()
  if ok then ok, werr = os_rename(tmp, path) end
  if not ok then
    os_remove(tmp)
    return nil, new_error("journal", "cannot write " .. path .. ": " .. tostring(werr))
  end
  return true
end

function S:remove(id, what) os_remove(self:path(id, what)) end

-- syntax: id = s:new_id(now)
-- A fresh id (no spec holds it yet).
function S:new_id(now)
  for _ = 1, 16 do
    local id = os.date("!%Y%m%d-%H%M%S-", now) .. random_hex()
    if not self:has(id, "json") then return id end
  end
  return nil, new_error("invalid", "no free campaign id in " .. self.dir)
end

return _M
