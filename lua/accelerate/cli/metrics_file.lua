-- `accelerate campaign run --metrics FILE`: the campaign's metrics
-- (accelerate.metrics) for node_exporter's textfile collector, rewritten
-- whole at each poll and once at the end.  A reader never sees half a
-- file: the text goes to FILE.tmp beside it (same folder, so same file
-- system; the collector reads *.prom only), then is renamed over FILE.
-- The file is mode 0644 whatever the umask: the collector runs as another
-- user, and nothing in it is secret.
--
-- What cannot be written is found before anything is created (check, a
-- usage error); a write that fails later is a warning, once.  Not
-- output.write_file (report --html): that one writes a file once, in
-- place, and fails the command; this one is rewritten while a collector
-- reads it, and must never stop a campaign.

local metrics = require "accelerate.metrics"
local summary = require "accelerate.campaign.summary"
local usage = require "accelerate.cli.usage"

local type = type
local tostring = tostring
local tonumber = tonumber
local setmetatable = setmetatable
local floor = math.floor
local io_open = io.open
local io_popen = io.popen
local os_rename = os.rename
local os_remove = os.remove
local str_match = string.match
local str_gsub = string.gsub

local _M = {}

-- syntax: label = metrics_file.campaign_label(journal_path)
-- The campaign label of the command's metrics: the journal's file name
-- without its extension (q1.journal -> q1; a name without a dot is kept).
function _M.campaign_label(path)
  local base = str_match(tostring(path), "([^/]*)/*$") or ""
  return str_match(base, "^(.+)%.[^.]*$") or base
end

local function shell_quote(s)
  return "'" .. str_gsub(s, "'", "'\\''") .. "'"
end

-- Whether a file this process creates gets less than 0644 (umask beyond
-- 022), asked once of a shell: io.popen does not make the command ignore
-- SIGINT while it runs, as os.execute would.
local function umask_narrows()
  local p = io_popen("umask 2>/dev/null")
  if not p then return true end
  local m = p:read("*l")
  p:close()
  local n = m and tonumber(m, 8)
  if not n then return true end
  -- any of 0644's bits masked: 0400 (r owner), 0200 (w owner), 0040, 0004
  local function bit(b) return floor(n / b) % 2 == 1 end
  return bit(256) or bit(128) or bit(32) or bit(4)
end

local Writer = {}
Writer.__index = Writer

-- syntax: writer, why = metrics_file.check(path)
-- The writer of path, after a file was created in its folder and removed
-- again; nil and a reason when path is a folder or its folder cannot be
-- written to.  Nothing else is touched: an existing FILE stays as it is
-- until the first write.
function _M.check(path)
  if type(path) ~= "string" or path == "" then return nil, "a file path is required" end
  local d = io_open(path .. "/", "rb")
  if d then
    d:close()
    return nil, path .. " is a folder"
  end
  local tmp = path .. ".tmp"
  local f, err = io_open(tmp, "wb")
  if not f then return nil, "cannot create a file beside it: " .. tostring(err) end
  f:close()
  os_remove(tmp)
  return setmetatable({ path = path, tmp = tmp, chmod = umask_narrows() }, Writer)
end

-- syntax: ok, err = writer:write(text)
-- text as the whole of the file, or nil, why (the file as it was).
function Writer:write(text)
  local tmp = self.tmp
  local f, err = io_open(tmp, "wb")
  if not f then return nil, tostring(err) end
  local ok, werr = f:write(text)
  local closed, cerr = f:close()   -- a full disk may show only at the flush
  if not ok or not closed then
    os_remove(tmp)
    return nil, tostring(werr or cerr)
  end
  if self.chmod then
    local p = io_popen("chmod 644 -- " .. shell_quote(tmp) .. " 2>&1")
    if p then
      p:read("*a")
      p:close()
    end
  end
  local moved, merr = os_rename(tmp, self.path)
  if not moved then
    os_remove(tmp)
    return nil, tostring(merr)
  end
  return true
end

-- syntax: m = metrics_file.hooks(path, ctx, client, campaign)     (raises a usage error)
-- What `campaign run --metrics path` adds to the run: m.client, client
-- counted (metrics.counting); m.progress(report), campaign.run's
-- on_progress (state running); m.finish(report, err) once it returned.
-- campaign = {id (the label), name}.  A path that cannot be written is a
-- usage error now, before anything is sent.
function _M.hooks(path, ctx, client, campaign)
  local writer, why = _M.check(path)
  if not writer then usage.raise("cannot write the metrics file " .. path .. ": " .. why, "campaign") end
  local store, warned = {}, false
  local function write(r, state)
    local text = metrics.render { store = store, campaigns = { { id = campaign.id, name = campaign.name,
      state = state, report = r } } }
    local ok, err = writer:write(text)
    if not ok and not warned then
      warned = true
      ctx.err("accelerate: warning: cannot write the metrics file " .. path .. ": " .. err
        .. "; the campaign goes on\n")
    end
  end
  return {
    client = metrics.counting(client, store),
    progress = function(r) write(r, "running") end,
    finish = function(r, err) write(r, summary.state(r, { done = true, err = err })) end,
  }
end

return _M
