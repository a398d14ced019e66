-- What one poll of a watch fetches: every instance of a backfill reduced
-- into a compact store (accelerate.store: records, not one Lua table per
-- instance), and how few list calls that takes.
--
-- A full sweep lists every page by the client's paging rules (ids unique,
-- a repeated page is an error, `total` ends it: accelerate.client.rules).
-- Once one has been seen, a poll fetches again only the pages that can
-- still change: a SUCCESS instance never changes again, so a page whose
-- instances were all SUCCESS is not fetched (pages with a FAILED instance
-- are: a server may retry it).  The skip holds only while `total` is the
-- same and every page fetched holds exactly the ids it held before (the
-- list is ordered); anything else falls back to a full sweep in the same
-- poll.  A backfill is declared finished only by a full sweep.
--
-- Up to WHOLE_MAX instances every one is also kept as its whole table, and
-- the report's `instances` is an array of them as it always was (the
-- collection of accelerate.instances); beyond, `instances` is the store
-- itself: both answer :each(), :counts(), :failures().

local core = require "accelerate.core"
local util = require "accelerate.util"
local policy = require "accelerate.client"
local instances = require "accelerate.instances"

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

-- Every page; the store, or nil, err.
local function full(self, stats, left)
  local store, t0 = new_store(self), self.clock()
  local state, err, partial_state = policy.sweep(function(k)
    local res, ferr = fetch(self, store, k, "append", budget(self, left, t0))
    if res and store:is_full() and ((tonumber(res.total) or 0) > self.whole_max or #store > self.whole_max) then
      store:set_full(false)
    end
    return res, ferr
  end, self.size, "instances")
  stats.requests = stats.requests + (state or partial_state).requests
  if not state then return nil, err end
  store:seal()
  self.store, self.total, self.server_total = store, state.total or #store, state.total
  return store
end

-- The pages that can still change: the new store and whether that was
-- every page (then it is as good as a full sweep: the same pages, ids and
-- total); false when a full sweep must decide (total or a page's ids
-- changed, nothing left to fetch); or nil, err.
local function partial(self, stats, left)
  local stale = self.store:stale_pages()
  if #stale == 0 then return false end
  local store, t0 = self.store:fork(), self.clock()
  for _, k in ipairs(stale) do
    stats.requests = stats.requests + 1
    local res, err = fetch(self, store, k, "replace", budget(self, left, t0))
    if not res then return nil, err end
    if tonumber(res.total) ~= self.server_total or not res.same then return false end
  end
  return store, #stale == store:pages()
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

-- syntax: facts, err = sweeper:poll(stats, left)
-- One poll; stats.requests counts its list calls; left: seconds it may
-- take at most (nil: no limit).  On an error the last poll's store stays.
function Sweeper:poll(stats, left)
  if self.store then
    local store, every_page = partial(self, stats, left)
    if store == nil then return nil, every_page end
    if store then
      local f = facts(self, store, every_page)
      if not f.done or every_page then
        self.store = store
        return f
      end
      -- done by the pages fetched: a full sweep confirms it
    end
  end
  local store, err = full(self, stats, left)
  if not store then return nil, err end
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
