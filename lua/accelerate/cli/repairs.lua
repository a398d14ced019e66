-- The record of repairs made without --journal, so that running `accelerate
-- repair DAG` twice does not create the same repair backfills twice, and
-- `report DAG` can name them.  One journal per backfill repaired and API,
-- keyed by API url + tenant + dagName, under $XDG_STATE_HOME/accelerate/
-- repairs/ (else ~/.local/state/...), 0600 in a 0700 folder; like every
-- journal it records the API url and tenant, never the auth value.  A
-- server may name its backfills the same again (the simulator does after a
-- restart), so a record is trusted only while the server knows its repairs.

local accelerate = require "accelerate"
local journal = require "accelerate.journal"
local util = require "accelerate.util"

local type = type
local tostring = tostring
local ipairs = ipairs
local pcall = pcall
local error = error
local io_open = io.open
local os_rename = os.rename
local str_gsub = string.gsub
local str_byte = string.byte
local str_match = string.match
local str_format = string.format
local tbl_concat = table.concat

local _M = {}

-- The state folder the environment names and the records' place in it, or
-- nil when it names none.
local function base_and_sub(ctx)
  local xdg = ctx.getenv("XDG_STATE_HOME")
  if xdg and xdg ~= "" then return xdg, "accelerate/repairs" end
  local home = ctx.getenv("HOME")
  if home and home ~= "" then return home, ".local/state/accelerate/repairs" end
  return nil
end

local function folder(ctx)
  local base, sub = base_and_sub(ctx)
  return base and (base .. "/" .. sub)
end

-- The API url and tenant of a client (a fake one may have neither).
local function owner_of(client)
  local url, tenant
  if type(client) == "table" then
    pcall(function() url, tenant = client.url, client.tenant_id end)
  end
  return type(url) == "string" and url or "", tenant ~= nil and tostring(tenant) or "tenant"
end

-- 8 hex digits of s (djb2 mod 2^32: exact in doubles, the same on every Lua).
local function digest(s)
  local h = 5381
  for i = 1, #s do h = (h * 33 + str_byte(s, i)) % 4294967296 end
  return str_format("%08x", h)
end

local function safe(s) return (str_gsub(s, "[^%w%._%-]", "_")) end

-- A file name for (API url, tenant, dag): the url's host and a digest of
-- the whole url, so that two servers (a restarted simulator on another
-- port, a test and a production API) never share a record.
local function file_name(client, dag)
  local url, tenant = owner_of(client)
  local host = str_match(url, "^%a[%w+.-]*://([^/?#]+)") or "api"
  return safe(host .. "-" .. digest(url) .. "-" .. tenant .. "-" .. tostring(dag)) .. ".journal"
end

-- The name records had before they were keyed by url (tenant and dag only).
local function legacy_name(client, dag)
  local _, tenant = owner_of(client)
  return safe(tenant .. "-" .. tostring(dag)) .. ".journal"
end

-- The url a record says it was made for (its "open" line), or nil.
local function recorded_url(events)
  for _, ev in ipairs(events) do
    if ev.event == "open" then return type(ev["for"]) == "table" and ev["for"].url or nil end
  end
  return nil
end

-- The record of dag in dir: the url-keyed one; else a record of the old
-- name that says it was made for this very url (kept readable, and so
-- still guarding against a second create); else the url-keyed name.
local function record_path(dir, client, dag)
  local path = dir .. "/" .. file_name(client, dag)
  local f = io_open(path, "rb")
  if f then f:close() return path end
  local old = dir .. "/" .. legacy_name(client, dag)
  local events = journal.read(old)
  if type(events) == "table" and #events > 0 and recorded_url(events) == owner_of(client) then return old end
  return path
end

-- The dagNames of the repairs of dag a record's events hold.
local function recorded_repairs(events, dag)
  local out = {}
  if type(events) ~= "table" then return out end
  for _, op in ipairs(journal.summarize(events).ops_list) do
    if op.repairs == dag and op.status == "created" and op.dagName then out[#out + 1] = op.dagName end
  end
  return out
end

-- Whether the server says it has no backfill named `name` (a 404), as
-- after a restart of a simulator, which names its backfills the same
-- again.  Any other answer (an error too) keeps the record as it is.
local function unknown_to(client, name)
  if type(client) ~= "table" or type(client.list_instances) ~= "function" then return false end
  local ok, page, err = pcall(client.list_instances, client, { dagName = name, pageIndex = 1, pageSize = 1 })
  if not ok then
    if util.interrupted(page) then error(page, 0) end
    return false
  end
  return page == nil and type(err) == "table" and (err.code == "404" or err.status == 404)
end

-- syntax: path, err = repairs.path(ctx, client, dag)
-- The record's path, its folder created; nil and a reason when it cannot
-- be.  A record whose repairs the server does not know (a new or reset
-- server at the same url) is set aside as PATH.stale, said on stderr, so
-- that this repair is created instead of refused.
function _M.path(ctx, client, dag)
  local base, sub = base_and_sub(ctx)
  if not base then return nil, "neither XDG_STATE_HOME nor HOME is set" end
  local ok, err = accelerate.mkdirs(base, sub)
  if not ok then return nil, err end
  local path = record_path(base .. "/" .. sub, client, dag)
  local gone = {}
  for _, name in ipairs(recorded_repairs(journal.read(path), dag)) do
    if unknown_to(client, name) then gone[#gone + 1] = name end
  end
  if #gone > 0 then
    local moved, merr = os_rename(path, path .. ".stale")
    if not moved then return nil, "cannot set aside " .. path .. ": " .. tostring(merr) end
    ctx.err("accelerate: the repair record " .. path .. " names repairs the server does not know ("
      .. tbl_concat(gone, ", ") .. "): it was made with another server at this url; set aside as "
      .. path .. ".stale\n")
    path = base .. "/" .. sub .. "/" .. file_name(client, dag)
  end
  return path
end

-- syntax: dags = repairs.of(ctx, client, dag)
-- The dagNames of the repairs of dag that the record holds and the server
-- knows (maybe none).
function _M.of(ctx, client, dag)
  local dir = folder(ctx)
  local out = {}
  if not dir then return out end
  for _, name in ipairs(recorded_repairs(journal.read(record_path(dir, client, dag)), dag)) do
    if not unknown_to(client, name) then out[#out + 1] = name end
  end
  return out
end

return _M
