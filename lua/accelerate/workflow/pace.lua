-- Which pages a poll of a watch reads again (accelerate.workflow.sweep):
-- each page's make-up at its last read (instances of each status), a rate
-- per page that follows how often that page changes, the frontier of a
-- backfill that runs in list order, and the one bound that holds whatever
-- the server does: every page is read at least once every K polls.
--
-- A page holding an instance not final (RUNNING, or WAITING beside others)
-- is read at every poll: that is where a watch's news comes from.  A page
-- whose instances are all final but not all SUCCESS (a server may retry a
-- FAILED one) is read at an interval (in polls) that is 1 after a read that
-- found it changed and doubles after each read that found it the same, up
-- to K.  A page all SUCCESS cannot change (SUCCESS is final) and one all
-- WAITING cannot until the server reaches it: both wait K polls, except
-- the pages all WAITING from the first one on (the frontier, as the
-- server's list order runs), which are read at every poll: `ahead` of
-- them, doubled while every one of them was found started, else the
-- number that started and one more.  After a full sweep the pages that
-- wait K polls are spread over the next K polls, so that the bound never
-- asks for every page at once.

local pairs = pairs
local setmetatable = setmetatable
local is_terminal = require("accelerate.statuses").is_terminal
local min = math.min
local max = math.max

local _M = {}

-- Every page is read at least once every K polls: a FAILED instance on a
-- page skipped is in the report within K polls of the poll it turned.
local K = 8
_M.K = K

local Pace = {}
Pace.__index = Pace

-- syntax: p = pace.new()
function _M.new()
  return setmetatable({
    last = {},    -- [k] = the poll that last read page k
    iv = {},      -- [k] = polls between reads of page k (1 .. K)
    comp = {},    -- [k] = {[status] = n} of page k at that read
    ahead = 2,    -- pages all WAITING read past the frontier
  }, Pace)
end

local function same(a, b)
  if not a or not b then return false end
  for st, n in pairs(a) do if b[st] ~= n then return false end end
  for st, n in pairs(b) do if a[st] ~= n then return false end end
  return true
end

-- "success" (every instance SUCCESS), "waiting" (every one WAITING), or
-- nil (anything else, an empty page too).
local function kind(comp)
  if not comp then return nil end
  local n, only = 0, nil
  for st, c in pairs(comp) do
    if c > 0 then
      n = n + 1
      only = st
    end
  end
  if n ~= 1 then return nil end
  if only == "SUCCESS" then return "success" end
  if only == "WAITING" then return "waiting" end
  return nil
end
_M.kind = kind

-- The first page of npages all WAITING at its last read: where the server,
-- running the backfill in its list order, starts next (nil: none).  A page
-- further on found started (read for the bound) does not move it: the
-- pages all WAITING before that one may have started too.
local function frontier(self, npages)
  for k = 1, npages do
    if kind(self.comp[k]) == "waiting" then return k end
  end
  return nil
end

-- syntax: pages, window = p:due(npages, t)
-- The pages poll t reads, in order, and the set of those read because
-- they are at the frontier.
function Pace:due(npages, t)
  local out, window = {}, {}
  local f = frontier(self, npages) or npages + 1
  local last_window = min(npages, f + self.ahead - 1)
  for k = 1, npages do
    local age = t - (self.last[k] or -K)
    if k >= f and k <= last_window and kind(self.comp[k]) == "waiting" then
      out[#out + 1] = k
      window[k] = true
    elseif age >= min(self.iv[k] or 1, K) then
      out[#out + 1] = k
    end
  end
  return out, window
end

-- Whether comp holds an instance not final (RUNNING, WAITING, any status
-- not SUCCESS nor failed).
local function open(comp)
  for st, n in pairs(comp) do
    if n > 0 and not is_terminal(st) then return true end
  end
  return false
end

-- syntax: p:read(k, comp, t)
-- Page k was read at poll t and held comp: its next interval.
function Pace:read(k, comp, t)
  local old = self.comp[k]
  local what = kind(comp)
  if what == "success" or what == "waiting" then
    self.iv[k] = K
  elseif open(comp) or old == nil or not same(old, comp) then
    self.iv[k] = 1
  else
    -- every instance final, some failed (a server may retry them): read
    -- less often while the page stays the same
    self.iv[k] = min((self.iv[k] or 1) * 2, K)
  end
  self.comp[k], self.last[k] = comp, t
end

-- syntax: p:swept(npages, t)
-- After a full sweep at poll t: pages past npages are forgotten, and the
-- pages waiting K polls are spread over the next K polls (as if read
-- earlier: a page is never read later than the bound).
function Pace:swept(npages, t)
  for k in pairs(self.comp) do
    if k > npages then self.comp[k], self.last[k], self.iv[k] = nil, nil, nil end
  end
  for k = 1, npages do
    if self.iv[k] == K then self.last[k] = t - (k - 1) % K end
  end
end

-- syntax: p:window_read(window)
-- After the pages of a poll were read: the frontier's next stride.
function Pace:window_read(window)
  local n, started = 0, 0
  for k in pairs(window) do
    n = n + 1
    if kind(self.comp[k]) ~= "waiting" then started = started + 1 end
  end
  if n == 0 then return end
  if started == n then
    self.ahead = min(self.ahead * 2, 1000000)
  else
    self.ahead = max(1, started + 1)
  end
end

return _M
