-- What every workflow module shares: raising an error object, the public
-- edge that turns a raised error into nil, err, the checks of the
-- arguments every entry point takes (client, numeric options, the journal
-- path), and the request counter a workflow reports.
--
-- Internals raise; each public function runs them through protect.

local util = require "accelerate.util"
local journal = require "accelerate.journal"
local dates = require "accelerate.dates"

local type = type
local ipairs = ipairs
local pairs = pairs
local pcall = pcall
local error = error
local tostring = tostring
local new_error = util.new_error

local _M = {}

-- Raises an error object of the given kind (never returns).
local function raise(kind, message, fields)
  error(new_error(kind, message, fields), 0)
end
_M.raise = raise

-- Runs fn at the public edge: raised error objects (ours, the client's, or a
-- plain Lua error from a callback) become nil, err.
function _M.protect(fn, ...)
  local ok, res, second = pcall(fn, ...)
  if ok then return res, second end
  if type(res) ~= "table" then res = new_error("error", tostring(res)) end
  return nil, res
end

-- A client (table or userdata) that answers every method named.
function _M.check_client(client, methods)
  if type(client) ~= "table" and type(client) ~= "userdata" then
    raise("invalid", "a client is required (accelerate.new or accelerate.ngx)")
  end
  for _, m in ipairs(methods) do
    local ok, f = pcall(function() return client[m] end)
    if not ok or f == nil then raise("invalid", "the client has no method " .. m) end
  end
end

-- syntax: checks.options(opts, known, where)     (raises kind invalid)
-- Refuses a key of opts that is not in the set known (each entry point's
-- list, kept beside the code that reads it), naming the nearest known one.
function _M.options(opts, known, where)
  if opts ~= nil and type(opts) ~= "table" then raise("invalid", where .. ": opts must be a table") end
  local bad = util.unknown_option(opts, known)
  if bad then raise("invalid", where .. ": " .. bad) end
end

-- opts[name] when set, checked to be a number >= minimum; nil when unset.
function _M.check_number(opts, name, minimum)
  local v = opts[name]
  if v == nil then return nil end
  if type(v) ~= "number" or v ~= v or v < minimum then
    raise("invalid", "opts." .. name .. " must be a number >= " .. minimum)
  end
  return v
end

-- What a command run through client is for, as its journal records it:
-- the API url and tenant (never the auth value) and one of params,
-- dagName (a watch) or repairs (a repair of that dag).
function _M.owner(client, what)
  local o = {}
  pcall(function() o.url, o.tenant_id = client.url, client.tenant_id end)
  if type(o.url) ~= "string" then o.url = nil end
  if type(o.tenant_id) ~= "string" then o.tenant_id = nil end
  for k, v in pairs(what or {}) do o[k] = v end
  return o
end

-- The journal opts.journal names, open and locked for this process; one
-- made for something other than `owner` is refused.  The caller closes it.
function _M.open_journal(path, owner)
  if type(path) ~= "string" or path == "" then
    raise("invalid", "opts.journal must be a file path")
  end
  local j, err = journal.open(path, owner)
  if not j then error(err, 0) end
  local why = journal.owner_mismatch(j.owner, owner, journal.summarize(j.events))
  if why then
    j:close()
    raise("invalid", "journal " .. path .. " belongs to " .. journal.describe_owner(j.owner) .. "; " .. why
      .. ": use another journal file", { journal = path })
  end
  return j
end

-- syntax: bool = checks.no_such_dag(err)
-- The server's answer for a dagName it does not know (code 404).
function _M.no_such_dag(err)
  return type(err) == "table" and (tostring(err.code) == "404" or err.status == 404)
end

-- syntax: page = checks.find_dag(client, dag, stats)      (raises)
-- Whether the server knows backfill dag, with one list call of one
-- instance: its first page, or nil when it answered 404; any other
-- failure is raised (the server could not be asked).
function _M.find_dag(client, dag, stats)
  if stats then stats.requests = stats.requests + 1 end
  local page, err = client:list_instances { dagName = dag, pageIndex = 1, pageSize = 1 }
  if page then return page end
  if _M.no_such_dag(err) then return nil end
  error(err, 0)
end

-- syntax: checks.check_dag(client, dag, stats, p)      (raises)
-- A dagName a person typed (an adopted create), checked before it is
-- journaled, with one list call of one instance: kind invalid when the
-- server has no such backfill, or when its instance lies outside the dates
-- of p (the lost create's params); the client's error when the server
-- could not be asked.
function _M.check_dag(client, dag, stats, p)
  if type(dag) ~= "string" or dag == "" then raise("invalid", "a dagName is required") end
  local page = _M.find_dag(client, dag, stats)
  if not page then
    -- the server's own text is left out: kind invalid is not masked
    raise("invalid", "no backfill " .. dag .. " on the server (it answered 404): not adopted", { dagName = dag })
  end
  local inst = type(page) == "table" and type(page.instances) == "table" and page.instances[1]
  local day = type(inst) == "table" and dates.parse_partition(inst.startPartition)
  local first = type(p) == "table" and dates.parse(p.startTime)
  local last = type(p) == "table" and dates.parse(p.endTime)
  if day and first and last and (day < first or day > last) then
    raise("invalid", "backfill " .. dag .. " runs " .. tostring(inst.startPartition) .. ", outside "
      .. p.startTime .. " .. " .. p.endTime .. ": it is not the one that create made", { dagName = dag })
  end
  return page
end

-- The HTTP calls one workflow made, shared by the steps it runs.
function _M.new_stats()
  return { requests = 0 }
end

return _M
