-- accelerate.client: the call policy, written once for every transport.
--
-- A transport (the C core's libcurl one, or accelerate.ngx's cosockets)
-- only makes exchanges: prepare, send, receive within a time budget,
-- decode.  Everything a user relies on beyond one exchange lives here, so
-- the two clients cannot drift apart (docs/core-api.md, "The call policy"):
--   * what is retried, and whether a failed create may have happened: one
--     table (POLICY below) turns the facts a transport and the decoder put
--     on an error into `retryable` and `outcome_unknown`; idempotent calls
--     only are retried, at most `retries` times;
--   * the deadline: one `timeout` for the whole call, retries and back-off
--     sleeps included; every exchange gets only what is left of it;
--   * Retry-After: the first readable value, floored and capped (core);
--   * paging: ids unique, an overlapping page's repeats dropped, stop on
--     hasNext/`total`, and an error (not duplicates, not a silent end) when
--     a page brings no new id although the server said more would follow;
--   * task_details: each id once, keyed by its exact wire string.
--
-- The transport interface (both transports implement it):
--   t:request(call, args, budget [, store])  -> result | nil, err, retry_after
--       store: a list_instances answer is reduced into it (accelerate.store)
--   t:request_many(call, items, concurrency, budget)
--       items[i] = {args =, deadline = nil|abs}; sets result, or err and
--       retry_after; an item without a deadline gets now + budget on start
--   t:check(call, args)            -> true | nil, err   (nothing sent)
--   t:close(), t:closed()
-- and a clock {now = f, sleep = f} whose now() the deadlines are counted in.
local core = require "accelerate.core"
local plans = require "accelerate.plans"
local show = require "accelerate.show"

local type, tostring, tonumber, ipairs, next, setmetatable, getmetatable, error =
  type, tostring, tonumber, ipairs, next, setmetatable, getmetatable, error
local min = math.min
local max = math.max
local retry_delay, new_error, id_key = core.retry_delay, core.error, core.id_key
local mark_answer = show.answer

local _M = {}

-- One home for the policy's constants.
local DEFAULT_PAGE_SIZE = 100    -- pageSize of client:instances
local MAX_PAGES = 100000         -- a listing longer than this is refused
local DEFAULT_CONCURRENCY = 8    -- task_details
local MAX_CONCURRENCY = core.MAX_CONCURRENCY
local MIN_ATTEMPT = 0.05         -- no retry is started with less time left
_M.DEFAULT_PAGE_SIZE, _M.MAX_PAGES = DEFAULT_PAGE_SIZE, MAX_PAGES
_M.DEFAULT_CONCURRENCY, _M.MAX_CONCURRENCY = DEFAULT_CONCURRENCY, MAX_CONCURRENCY

-- Calls that change nothing on the server: only these are ever retried.
local IDEMPOTENT = { list_instances = true, task_detail = true, list_plans = true, plan_detail = true }
_M.IDEMPOTENT = IDEMPOTENT

-- Facts -> decisions ----------------------------------------------------------
-- The one place that decides whether a failed call is worth another attempt
-- and whether a create that failed may have happened all the same.  The
-- transports (C libcurl, cosockets) and the decoder only state facts on the
-- error (docs/core-api.md, "Error objects"): kind, status, code, the
-- envelope's success and whether it explained itself (explained), which step
-- of the exchange failed (failure), whether a byte of the request may have
-- left (sent) and whether an answer began (answered).
-- A row: its name, a test of the facts, and
--   read    `retryable` of an idempotent call;
--   create  `retryable` of a create taken alone (accelerate.decode): only
--           where the server turned it away before any work; the client
--           itself never repeats a create;
--   unknown a create's `outcome_unknown`: true (it may have happened, and
--           `note` is added to the message), false (it surely did not), nil;
--   poll    whether a watch's poll that failed so is tried again at the next
--           interval (bounded by max_poll_errors in a row), when it differs
--           from `read`.
-- The first row whose test holds decides.
local MAYBE = "; the backfill may have been created: check on the platform before creating it again"

local function kind_is(...)
  local set = {}
  for _, k in ipairs { ... } do set[k] = true end
  return function(e) return set[e.kind] == true end
end

local function http_status(test)
  return function(e)
    local st = tonumber(e.status)
    return e.kind == "http" and st ~= nil and test(st)
  end
end

-- a refusal envelope (success = false) whose code passes test
local function refused_code(test)
  return function(e)
    return e.kind == "api" and e.success == false and e.code ~= nil and test(tostring(e.code))
  end
end

local function transfer(e) return e.kind == "network" or e.kind == "timeout" end

local POLICY = {
  { "bad input, nothing sent", kind_is "invalid", read = false, create = false },
  { "stopped after sending", function(e) return e.kind == "interrupted" and e.sent == true end,
    read = false, create = false, unknown = true, note = "; the backfill may have been created" },
  { "stopped, nothing sent", kind_is "interrupted", read = false, create = false, unknown = false },
  -- a poll with none of the watch's time left: the watch's own deadline,
  -- which its loop then reports as a timeout (not as an error)
  { "no time left, nothing sent", function(e) return e.failure == "no_time" end,
    read = false, create = false, unknown = false, poll = true },
  -- one call does not retry it (a wrong certificate stays wrong); a watch
  -- rides it out a few polls (a gateway restarting fails handshakes too)
  { "TLS refused, nothing sent", function(e) return e.failure == "tls" end,
    read = false, create = false, unknown = false, poll = true },
  { "out of memory reading the answer", function(e) return e.failure == "memory" end,
    read = false, create = false, unknown = true, note = MAYBE },
  { "transfer failed before a byte left", function(e) return transfer(e) and e.sent == false end,
    read = true, create = true, unknown = false },
  { "transfer failed after sending (or maybe)", transfer, read = true, create = false, unknown = true, note = MAYBE },
  { "HTTP 429: turned away", http_status(function(st) return st == 429 end), read = true, create = true },
  { "HTTP 5xx: a gateway's backend may have worked", http_status(function(st) return st >= 500 end),
    read = true, create = false, unknown = true, note = MAYBE },
  { "HTTP 408", http_status(function(st) return st == 408 end), read = true, create = false },
  { "any other HTTP status", kind_is "http", read = false, create = false },
  { "a soft 429", refused_code(function(c) return c == "429" end), read = true, create = true },
  { "a soft 5xx", refused_code(function(c) return c:sub(1, 1) == "5" end), read = true, create = false },
  { "success without the data, no reason given", function(e)
      return e.kind == "api" and e.success == true and e.explained == false end,
    read = false, create = false, unknown = true, note = MAYBE },
  { "success without the data, a reason given: a refusal", function(e)
      return e.kind == "api" and e.success == true end,
    read = false, create = false, unknown = false },
  { "the server's refusal", kind_is "api", read = false, create = false },
  { "a 4xx answer that cannot be read", function(e)
      local st = tonumber(e.status)
      return e.kind == "decode" and st ~= nil and st >= 400 and st < 500 end,
    read = false, create = false },
  { "an answer that cannot be read", kind_is "decode", read = false, create = false, unknown = true, note = MAYBE },
  { "anything else", function() return true end, read = false, create = false },
}
_M.POLICY = POLICY

-- syntax: row = client.decide(err)
-- The row of POLICY that decides err (a table of facts).
local function decide(err)
  for i = 1, #POLICY do
    local row = POLICY[i]
    if row[2](err) then return row end
  end
end
_M.decide = decide

-- syntax: err = client.judge(call, err [, alone])
-- Sets err.retryable (and, for a create, err.outcome_unknown, with the
-- row's note added to the message once) from err's facts.  alone: a
-- create's answer judged by itself (accelerate.decode), not a call the
-- client makes (a create it never repeats).
function _M.judge(call, err, alone)
  if type(err) ~= "table" then return err end
  local row = decide(err)
  if IDEMPOTENT[call] then
    err.retryable = row.read
    return err
  end
  err.retryable = (alone and row.create) or false
  err.outcome_unknown = row.unknown
  local msg, note = err.message, row.note
  if note and type(msg) == "string" and msg:sub(-#note) ~= note then err.message = msg .. note end
  return err
end
local judge = _M.judge

local Client = {}
local mt = { __index = Client }

local function check_open(self, name)
  if getmetatable(self) ~= mt then
    error(("bad argument #1 to '%s' (accelerate client expected, got %s)"):format(name, type(self)), 3)
  end
  if self.transport == nil or self.transport:closed() then
    error("accelerate: attempt to use a closed client", 3)
  end
end

mt.__tostring = function(self)
  -- never the auth value: it is not even kept here
  if self.transport == nil or self.transport:closed() then
    return ("%s (closed): %s"):format(self.name, self.address)
  end
  return ("%s{url=%s, tenant_id=%s, auth_type=%s}: %s"):format(
    self.name, self.url, self.tenant_id, self.auth_type, self.address)
end

-- syntax: client = client.new(transport, cfg, clock, name)
-- cfg is accelerate.config's table; only what is not secret is kept.
function _M.new(transport, cfg, clock, name)
  local self = {
    transport = transport, now = clock.now, sleep = clock.sleep, name = name,
    url = cfg.url, tenant_id = cfg.tenant_id, auth_type = cfg.auth_type,
    timeout = cfg.timeout, retries = cfg.retries,
  }
  self.address = tostring(self):match("0x%x+") or tostring(self):match("%x+$")
  return setmetatable(self, mt)
end

-- After a failed attempt: the error judged (POLICY), and the delay before
-- the next attempt, or nil to stop.  `retryable` leaves here meaning what
-- the docs say: the client retries (or would have, with attempts and time
-- left) exactly these errors.
local function next_delay(self, call, err, attempt, retry_after, deadline)
  judge(call, err)
  if not err.retryable or attempt >= self.retries then return nil end
  local delay = retry_delay(attempt + 1, err.kind == "http" and retry_after or nil)
  if self.now() + delay + MIN_ATTEMPT > deadline then return nil end
  return delay
end

-- One call: attempts within one deadline, `timeout` from now or, when the
-- caller has less time left (a watch's own timeout), `budget`.  `store`:
-- a list_instances answer is reduced into it (client:list_into).
local function call(self, name, args, budget, store)
  local t, now = self.transport, self.now
  local deadline = now() + ((budget and budget < self.timeout) and budget or self.timeout)
  local attempt = 0
  while true do
    local res, err, retry_after = t:request(name, args, deadline - now(), store)
    -- the answer prints as what it is (accelerate.show), on either transport
    if res ~= nil then return mark_answer(name, res) end
    if err == nil then return nil, new_error("decode", name .. ": no answer") end
    local delay = next_delay(self, name, err, attempt, retry_after, deadline)
    if not delay then return nil, err end
    self.sleep(delay)
    attempt = attempt + 1
  end
end
_M.call = call

-- syntax: dagName, err = client:create_task(params [, budget])
-- budget: seconds the create may take at most, when the caller has less
-- time left than the client's timeout (a campaign's own timeout).  With no
-- time left nothing is sent (outcome_unknown = false); a create cut by its
-- budget after it was sent is outcome-unknown, as any lost answer.
function Client:create_task(params, budget)
  check_open(self, "create_task")
  if budget ~= nil then
    if type(budget) ~= "number" or budget ~= budget then
      error("bad argument #2 to 'create_task' (number of seconds expected, got " .. type(budget) .. ")", 2)
    end
    if budget <= 0 then
      return nil, judge("create_task", new_error("timeout", "create_task: no time left; nothing was sent",
        { failure = "no_time", sent = false, answered = false }))
    end
  end
  return call(self, "create_task", params, budget)
end

-- syntax: page, err = client:list_instances(args)
function Client:list_instances(args)
  check_open(self, "list_instances")
  return call(self, "list_instances", args)
end

-- syntax: result, err = client:list_into(args, store [, budget])
-- One list_instances call (retried as any) whose answer is reduced into
-- store (accelerate.store, after store:expect(pageIndex, mode)) instead
-- of decoded into tables: the commit's result {count, total, fresh | same}.
-- budget: seconds the call may take at most (a watch's timeout).
function Client:list_into(args, store, budget)
  check_open(self, "list_into")
  return call(self, "list_instances", args, budget, store)
end

-- syntax: detail, err = client:task_detail(id)
function Client:task_detail(id)
  check_open(self, "task_detail")
  return call(self, "task_detail", id)
end

-- Paging --------------------------------------------------------------------

-- The stop rules of every listing, in one place: the pager of tables below
-- and the sweep into a watch's store both follow them.  rules.next() gives
-- the index of the page to fetch next, or nil when the listing is over;
-- rules.page(n, fresh, total, more) takes what a page held (n items, of
-- which `fresh` had an id not seen before, the page's total and, when the
-- server says so, whether more pages follow).  A page that overlaps the one
-- before (rows added ahead of the listing shift every later page) is not an
-- end: its repeats are dropped and the listing goes on while hasNext, or
-- else the total, says more follow (else while pages come full).  Only a
-- page with no new id ends it, and raises when the server said more would
-- follow: a repeated page (a server ignoring the page index) or an empty
-- one short of the total.  rules.state = {total, requests, pages}.
local function rules(size, what)
  local state = { requests = 0, pages = 0 }
  local nseen, index, last_n, last_fresh, more = 0, 0, 0, 0, nil
  local r = { state = state }
  local function more_follow()
    if more ~= nil then return more == true end
    if state.total then return nseen < state.total end
    return nil
  end
  function r.next()
    if index > 0 then
      if last_fresh == 0 then return nil end
      local follow = more_follow()
      if follow == false or (follow == nil and last_n < size) then return nil end
    end
    if index >= MAX_PAGES then
      error(new_error("api", ("%s: more than %d pages; refusing to go on"):format(what, MAX_PAGES)), 0)
    end
    index = index + 1
    state.requests, state.pages = state.requests + 1, index
    return index
  end
  function r.page(n, fresh, total, has_next)
    state.total, more = tonumber(total) or nil, has_next
    nseen, last_n, last_fresh = nseen + fresh, n, fresh
    if fresh == 0 and more_follow() then
      local counted = nseen .. (state.total and (" of " .. state.total) or "") .. " seen"
      if n > 0 then
        error(new_error("api", ("%s: the server repeated page %d (%s already seen, %s)"
          .. "; it may ignore the page index"):format(what, index, what, counted)), 0)
      end
      error(new_error("api", ("%s: page %d is empty, but the server said more would follow (%s)")
        :format(what, index, counted)), 0)
    end
  end
  return r
end
_M.rules = rules

-- fetch(index) returns the page's items, its total (or nil) and, when the
-- server says so, whether more pages follow (hasNext); or nil and an error.
-- Yields each item whose id was not seen before; state = {total, requests,
-- pages} is kept up to date for callers that need the total.
local function pager(fetch, size, id_of, what)
  local r = rules(size, what)
  local seen, page, i, done = {}, nil, 0, false
  local function iterate()
    while true do
      if page and i < #page then
        i = i + 1
        return page[i], r.state
      end
      if done then return nil end
      local ok, index = pcall(r.next)
      if not ok or not index then
        done = true
        if not ok then error(index, 2) end
        return nil
      end
      local items, total_or_err, more = fetch(index)
      if not items then
        done = true
        error(total_or_err, 2)
      end
      local fresh = {}
      for _, item in ipairs(items) do
        local id = id_of(item)
        if id == nil or not seen[id] then
          if id ~= nil then seen[id] = true end
          fresh[#fresh + 1] = item
        end
      end
      local pok, perr = pcall(r.page, #items, #fresh, total_or_err, more)
      if not pok then
        done = true
        error(perr, 2)
      end
      page, i = fresh, 0
    end
  end
  return iterate, r.state
end
_M.pager = pager

-- syntax: state, err = client.sweep(fetch, size, what)
-- Every page of a listing into a store, by the rules of the pager: fetch(k)
-- commits page k and returns the commit's result ({count, fresh, total})
-- or nil, err.  Returns the rules' state, or nil, err, state.
function _M.sweep(fetch, size, what)
  local r = rules(size, what)
  local ok, err = pcall(function()
    while true do
      local index = r.next()
      if not index then return end
      local res, ferr = fetch(index)
      if not res then error(ferr, 0) end
      r.page(res.count, res.fresh, res.total, nil)
    end
  end)
  if not ok then return nil, err, r.state end
  return r.state
end

local function instance_id(inst)
  if type(inst) ~= "table" then return nil end
  local id = inst.id
  if type(id) == "string" then return id end
  if type(id) == "number" then return id_key(id) end
  return nil
end
_M.instance_id = instance_id

-- Every instance of a backfill through list(args) -> page | nil, err: the
-- one pager behind client:instances, and behind the workflows when they
-- are given a client of their own that has list_instances only.
function _M.instances_of(list, dag, size)
  local args = { dagName = dag, pageIndex = 1, pageSize = size }
  local function fetch(index)
    args.pageIndex = index
    local res, err = list(args)
    if not res then return nil, err end
    return res.instances or {}, res.total
  end
  return pager(fetch, size, instance_id, "instances")
end

-- syntax: for inst in client:instances(dagName, {pageSize = 100, timeout = nil}) do ... end
-- Also returns the listing's state {total, requests, pages} as the generic
-- for's invariant (the iterator ignores it).  opts.timeout (seconds) bounds
-- the whole listing: no request outlives it.
function Client:instances(dag, opts)
  check_open(self, "instances")
  if type(dag) ~= "string" then
    error("bad argument #1 to 'instances' (string expected, got " .. type(dag) .. ")", 2)
  end
  if opts ~= nil and type(opts) ~= "table" then
    error("bad argument #2 to 'instances' (table expected, got " .. type(opts) .. ")", 2)
  end
  local size = opts and opts.pageSize or DEFAULT_PAGE_SIZE
  local limit = opts and opts.timeout
  if limit ~= nil and (type(limit) ~= "number" or limit ~= limit) then
    error("bad argument #2 to 'instances' (timeout must be a number of seconds)", 2)
  end
  local ok, err = self.transport:check("list_instances", { dagName = dag, pageIndex = 1, pageSize = size })
  if not ok then error(err, 2) end
  local deadline = limit and self.now() + limit
  return _M.instances_of(function(args)
    if self.transport:closed() then error("accelerate: attempt to use a closed client", 4) end
    return call(self, "list_instances", args, deadline and deadline - self.now())
  end, dag, size)
end

-- Plans ---------------------------------------------------------------------

-- syntax: page, err = client:list_plans { materializeType = ?, pageNumber = 1, pageSize = 20 }
function Client:list_plans(args)
  check_open(self, "list_plans")
  return call(self, "list_plans", args or {})
end

-- syntax: for plan in client:plans { materializeType = ?, pageSize = 100 } do ... end
-- Every plan, lazily, each once; the stop rules of `instances`.  Raises err.
function Client:plans(opts)
  check_open(self, "plans")
  if opts ~= nil and type(opts) ~= "table" then
    error("bad argument #1 to 'plans' (table expected, got " .. type(opts) .. ")", 2)
  end
  local size = opts and opts.pageSize or DEFAULT_PAGE_SIZE
  local args = { materializeType = opts and opts.materializeType, pageNumber = 1, pageSize = size }
  local ok, err = self.transport:check("list_plans", args)
  if not ok then error(err, 2) end
  local function fetch(index)
    if self.transport:closed() then error("accelerate: attempt to use a closed client", 3) end
    args.pageNumber = index
    local res, cerr = call(self, "list_plans", args)
    if not res then return nil, cerr end
    return res.plans or {}, res.total, res.hasNext
  end
  return pager(fetch, size, function(p) return type(p) == "table" and p.id or nil end, "plans")
end

-- syntax: plan, err = client:plan_detail(uuid)
function Client:plan_detail(uuid)
  check_open(self, "plan_detail")
  return call(self, "plan_detail", uuid)
end

-- syntax: plan, err = client:find_plan(name_or_id)
-- Exact id, then name, then display name; the detail of the one match.
function Client:find_plan(key)
  check_open(self, "find_plan")
  local ok, err = plans.check_key(key, new_error)
  if not ok then return nil, err end
  local list = {}
  local listed, lerr = pcall(function()
    for p in self:plans() do list[#list + 1] = p end
  end)
  if not listed then return nil, lerr end
  local id
  id, err = plans.resolve(list, key, new_error)
  if not id then return nil, err end
  return call(self, "plan_detail", id)
end

-- Many details ----------------------------------------------------------------

local function check_concurrency(opts)
  local c = opts and opts.concurrency
  if c == nil then return DEFAULT_CONCURRENCY end
  if type(c) ~= "number" then
    error("accelerate: task_details: concurrency must be a number", 3)
  end
  if c % 1 ~= 0 or c < 1 or c > MAX_CONCURRENCY then
    return nil, new_error("invalid", "task_details: concurrency must be an integer from 1 to " .. MAX_CONCURRENCY)
  end
  return c
end

-- Runs the queued items, retrying each on its own deadline as `call` does;
-- `until_t` (a time of self.now, or nil) bounds the whole batch.
local function run_items(self, items, concurrency, details, errors, until_t)
  local t, now = self.transport, self.now
  local pending, waiting = items, {}
  while #pending > 0 or #waiting > 0 do
    if #pending > 0 then
      local budget = self.timeout
      if until_t then budget = min(budget, max(until_t - now(), 0)) end
      t:request_many("task_detail", pending, min(concurrency, #pending), budget)
      for _, it in ipairs(pending) do
        if it.result ~= nil then
          details[it.key] = mark_answer("task_detail", it.result)
        else
          local err = it.err or new_error("decode", "task_detail: no answer")
          local delay = next_delay(self, "task_detail", err, it.attempt, it.retry_after, it.deadline)
          if delay then
            it.attempt, it.not_before = it.attempt + 1, now() + delay
            it.err, it.retry_after = nil, nil
            waiting[#waiting + 1] = it
          else
            errors[it.key] = err
          end
        end
      end
    end
    pending = {}
    if #waiting > 0 then
      local wake = waiting[1].not_before
      for _, it in ipairs(waiting) do if it.not_before < wake then wake = it.not_before end end
      local left = wake - now()
      if left > 0 then self.sleep(left) end
      local still, at = {}, now()
      for _, it in ipairs(waiting) do
        if it.not_before <= at then pending[#pending + 1] = it else still[#still + 1] = it end
      end
      waiting = still
    end
  end
end

-- syntax: details, errors = client:task_details(ids, {concurrency = 8, timeout = nil})
-- opts.timeout (seconds) bounds the whole batch, retries included (a
-- campaign's time left); each detail still gets at most the client's own.
function Client:task_details(ids, opts)
  check_open(self, "task_details")
  if type(ids) ~= "table" then
    error("bad argument #1 to 'task_details' (table expected, got " .. type(ids) .. ")", 2)
  end
  if opts ~= nil and type(opts) ~= "table" then
    error("bad argument #2 to 'task_details' (table expected, got " .. type(opts) .. ")", 2)
  end
  local concurrency, cerr = check_concurrency(opts)
  if not concurrency then return nil, cerr end
  local limit = opts and opts.timeout
  if limit ~= nil and (type(limit) ~= "number" or limit ~= limit or limit < 0) then
    return nil, new_error("invalid", "task_details: timeout must be a number of seconds >= 0")
  end
  local details, errors, items, seen = {}, {}, {}, {}
  for i, id in ipairs(ids) do
    local ty = type(id)
    if ty ~= "string" and ty ~= "number" then
      error(("accelerate: task_details: ids[%d] must be a string or an integer, got %s"):format(i, ty), 2)
    end
    local key, err, bad_key = id_key(id)
    if not key then
      errors[bad_key] = err
    elseif not seen[key] then
      seen[key] = true
      items[#items + 1] = { key = key, args = key, attempt = 0 }
    end
  end
  run_items(self, items, concurrency, details, errors, limit and self.now() + limit)
  return details, next(errors) ~= nil and errors or nil
end

-- syntax: client:close()
-- Idempotent; the transport scrubs the auth value.
function Client:close()
  if getmetatable(self) ~= mt then error("bad argument #1 to 'close' (accelerate client expected)", 2) end
  if self.transport then self.transport:close() end
end
mt.__close = Client.close

return _M
