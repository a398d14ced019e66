-- What one poll of a watch fetches: every instance of a backfill reduced
-- into a compact store (accelerate.store: records, not one Lua table per
-- instance), and how few list calls that takes.
--
-- A full sweep lists every page by the client's paging rules (ids unique,
-- a repeated page is an error, `total` ends it: accelerate.client.rules).
-- Once one has been seen, a poll reads again only the pages that can have
-- changed (accelerate.workflow.pace: a rate per page that follows how often
-- it changes, the frontier of the server's list order, and every page read
-- at least once every pace.K polls).  The pages skipped keep what they held
-- at their last read.  The skip holds only while `total` is the same and
-- every page fetched holds exactly the ids it held before (the list is
-- ordered); anything else falls back to a full sweep in the same poll.  A
-- backfill is declared finished only by a poll that read every page: once
-- every instance known is final the poll is a full sweep, and when the
-- pages read say it is finished, the poll reads the others too.
--
-- Up to WHOLE_MAX instances every one is also kept as its whole table, and
-- the report's `instances` is an array of them as it always was (the
-- collection of accelerate.instances); beyond, `instances` is the store
-- itself: both answer :each(), :counts(), :failures().

local core = require "accelerate.core"
local util = require "accelerate.util"
local policy = require "accelerate.client"
local instances = require "accelerate.instances"
local pace = require "accelerate.workflow.pace"

local type = type
local ipairs = ipairs
local tonumber = tonumber
local setmetatable = setmetatable

local _M = {}

-- Instances kept whole (report.instances a plain array) up to this total.
local WHOLE_MAX = 10000
_M.WHOLE_MAX = WHOLE_MAX

local Sweeper = {}
Sweeper.__index = Sweeper

-- syntax: s = sweep.new(client, dag, page_size [, clock [, whole_max]])
-- whole_max: instances kept whole up to this total (default WHOLE_MAX; 0:
-- never, only the failed ones, as a campaign watching many backfills keeps).
function _M.new(client, dag, page_size, clock, whole_max)
  return setmetatable({
    client = client, dag = dag, size = page_size, clock = clock,
    store = nil,   -- the store of the last answered poll
    total = nil,   -- the total its full sweep read (nil: the server gave none)
    whole_max = whole_max or _M.WHOLE_MAX,   -- read here: a spec may lower it
    pace = pace.new(),   -- which pages a poll reads
    polls = 0,           -- polls answered
  }, Sweeper)
end

-- Page k into store as `mode` ("append" or "replace"): the commit's result
-- {count, total, fresh | same}, or nil, err.  A client with list_into
-- reduces the answer's text; one with list_instances only hands back
-- tables, which the store reduces.
local function fetch(self, store, k, mode, budget)
  -- a safe point between pages: no page is fetched once the command was
  -- asked to stop
  util.check_stop()
  local args = { dagName = self.dag, pageIndex = k, pageSize = self.size }
  store:expect(k, mode)
  local c = self.client
  local page, err
  if type(c.list_into) == "function" then
    page, err = c:list_into(args, store, budget)
    -- a transport of one's own that ignores the store decodes as ever
    if not page or page.count ~= nil or type(page.instances) ~= "table" then return page, err end
  else
    page, err = c:list_instances(args)
    if not page then return nil, err end
  end
  return store:add(page)
end

-- The time left of `left` seconds counted from t0, or nil for no limit.
local function budget(self, left, t0)
  if not left then return nil end
  return left - (self.clock() - t0)
end

local function new_store(self)
  if self.store then
    local s = self.store:empty()
    s:set_full(self.whole_max > 0 and (self.total == nil or self.total <= self.whole_max))
    return s
  end
  return core.store { full = self.whole_max > 0 }   -- failed statuses: src/status.h
end

-- The poll's facts: {store, total, counts, terminal, failed, seen, done, full}.
local function facts(self, store, was_full)
  local counts, terminal, failed, seen = store:counts()
  local total = self.total
  -- Finished only when every instance seen is terminal AND at least
  -- `total` distinct instances were seen: a stale total must never end
  -- a watch while one is WAITING or RUNNING.  Total 0 right after a
  -- create means the server has not split the range yet: a backfill
  -- always has at least one instance.
  local done = seen > 0 and total > 0 and terminal == seen and seen >= total
  return { store = store, total = total, counts = counts, terminal = terminal, failed = failed,
    seen = seen, done = done, full = was_full }
end

-- Every page, at poll t; the store, or nil, err.  Each page's make-up is
-- counted over that page alone (store:counts(k)).
local function full(self, stats, left, t)
  local store, t0 = new_store(self), self.clock()
  local comps = {}
  local state, err, partial_state = policy.sweep(function(k)
    local res, ferr = fetch(self, store, k, "append", budget(self, left, t0))
    if res and store:is_full() and ((tonumber(res.total) or 0) > self.whole_max or #store > self.whole_max) then
      store:set_full(false)
    end
    if res then comps[k] = (store:counts(k)) end
    return res, ferr
  end, self.size, "instances")
  stats.requests = stats.requests + (state or partial_state).requests
  if not state then return nil, err end
  store:seal()
  self.store, self.total, self.server_total = store, state.total or #store, state.total
  local n = store:pages()
  for k = 1, n do self.pace:read(k, comps[k] or {}, t) end
  self.pace:swept(n, t)
  return store
end

-- Pages `list` again into store (a fork of the last poll's), each one's
-- make-up appended to reads as {k, comp}.  Returns true, false when a full
-- sweep must decide (total or a page's ids changed), or nil, err.
local function reread(self, store, list, reads, stats, left, t0)
  for _, k in ipairs(list) do
    stats.requests = stats.requests + 1
    local res, err = fetch(self, store, k, "replace", budget(self, left, t0))
    if not res then return nil, err end
    if tonumber(res.total) ~= self.server_total or not res.same then return false end
    reads[#reads + 1] = { k, (store:counts(k)) }
  end
  return true
end

-- The pages of a poll that can have changed (pace:due): the new store and
-- the facts, or false when a full sweep must decide, or nil, err.  When
-- the pages read say the backfill is finished, the others are read too:
-- the poll that finishes it has read every page once.
local function partial(self, stats, left, t)
  local n = self.store:pages()
  local due, window = self.pace:due(n, t)
  local store, t0, reads = self.store:fork(), self.clock(), {}
  local ok, err = reread(self, store, due, reads, stats, left, t0)
  if not ok then return ok, err end
  local f = facts(self, store, #reads == n)
  if f.done and not f.full then
    local read, rest = {}, {}
    for _, r in ipairs(reads) do read[r[1]] = true end
    for k = 1, n do if not read[k] then rest[#rest + 1] = k end end
    ok, err = reread(self, store, rest, reads, stats, left, t0)
    if not ok then return ok, err end
    f = facts(self, store, true)
  end
  self.store = store
  for _, r in ipairs(reads) do self.pace:read(r[1], r[2], t) end
  self.pace:window_read(window)
  return f
end

-- syntax: facts, err = sweeper:poll(stats, left)
-- One poll; stats.requests counts its list calls; left: seconds it may
-- take at most (nil: no limit).  On an error the last poll's store stays.
function Sweeper:poll(stats, left)
  local t = self.polls + 1
  if self.store then
    local _, terminal, _, seen = self.store:counts()
    -- every instance known is final: only a full sweep may say finished
    if terminal < seen then
      local f, err = partial(self, stats, left, t)
      if f == nil then return nil, err end
      if f then
        self.polls = t
        return f
      end
    end
  end
  local store, err = full(self, stats, left, t)
  if not store then return nil, err end
  self.polls = t
  return facts(self, store, true)
end

-- syntax: list = sweep.instances(store)
-- What a report's `instances` is: a collection of the whole tables while
-- the store keeps them, else the store.
function _M.instances(store)
  if store:is_full() then return instances.new(store:list()) end
  return store
end

return _M
