-- The record of repairs made without --journal, so that running `accelerate
-- repair DAG` twice does not create the same repair backfills twice, and
-- `report DAG` can name them.  One journal per backfill repaired, under
-- $XDG_STATE_HOME/accelerate/repairs/ (else ~/.local/state/...), 0600 in a
-- 0700 folder; like every journal it records the API url and tenant, never
-- the auth value.

local accelerate = require "accelerate"
local journal = require "accelerate.journal"

local type = type
local tostring = tostring
local ipairs = ipairs
local str_gsub = string.gsub

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

-- A file name for (tenant, dag): anything but [%w._-] becomes "_".
local function file_name(client, dag)
  local tenant = type(client) == "table" and client.tenant_id or "tenant"
  return (str_gsub(tostring(tenant) .. "-" .. tostring(dag), "[^%w%._%-]", "_")) .. ".journal"
end

-- syntax: path, err = repairs.path(ctx, client, dag)
-- The record's path, its folder created; nil and a reason when it cannot be.
function _M.path(ctx, client, dag)
  local base, sub = base_and_sub(ctx)
  if not base then return nil, "neither XDG_STATE_HOME nor HOME is set" end
  local ok, err = accelerate.mkdirs(base, sub)
  if not ok then return nil, err end
  return base .. "/" .. sub .. "/" .. file_name(client, dag)
end

-- syntax: dags = repairs.of(ctx, client, dag)
-- The dagNames of the repairs of dag that the record holds (maybe empty).
function _M.of(ctx, client, dag)
  local dir = folder(ctx)
  local out = {}
  if not dir then return out end
  local events = journal.read(dir .. "/" .. file_name(client, dag))
  if type(events) ~= "table" then return out end
  for _, op in ipairs(journal.summarize(events).ops_list) do
    if op.repairs == dag and op.status == "created" and op.dagName then out[#out + 1] = op.dagName end
  end
  return out
end

return _M
