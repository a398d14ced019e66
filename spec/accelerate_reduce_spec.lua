-- The reducer and the compact store (src/reduce.c, src/store*.c): list
-- answers reduced to records without a Lua table per instance, on crafted
-- bodies, against the full decoder, and through both paths of the client.
-- Runs on Lua 5.1-5.4 and LuaJIT (make test-core).
local accelerate = require "accelerate"
local client = require "accelerate.client"
local helpers = require "spec.helpers"

local FAILED = { FAILED = true, KILLED = true, TIMEOUT = true }

local function store(opts)
  opts = opts or {}
  if opts.failed == nil then opts.failed = FAILED end
  return accelerate.store(opts)
end

-- The body through the reducer as page k of a sweep: result, store.
local function reduce(body, s, k, status)
  s = s or store()
  s:expect(k or 1, "append")
  local res, err = accelerate.reduce(s, status or 200, {}, body)
  return res, err, s
end

-- The same body through the full decoder, then the store.
local function decoded(body, s, k)
  s = s or store()
  local page, err = accelerate.decode("list_instances", 200, {}, body)
  if not page then return nil, err, s end
  s:expect(k or 1, "append")
  return s:add(page), nil, s
end

local function all(s)
  local out = {}
  for inst in s:each() do out[#out + 1] = inst end
  return out
end

local function sorted_pairs(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = tostring(k) end
  table.sort(keys)
  return keys
end

local function same_store(a, b)
  assert.equal(#a, #b)
  local ca, ta, fa, sa = a:counts()
  local cb, tb, fb, sb = b:counts()
  assert.same(ca, cb)
  assert.same({ ta, fa, sa }, { tb, fb, sb })
  assert.same(all(a), all(b))
  assert.same(a:failures(), b:failures())
end

local function list_body(instances, extra)
  local parts = {}
  for i, inst in ipairs(instances) do parts[i] = inst end
  return '{"dagName":"d","pageIndex":1,"pageSize":500,"total":' .. (extra or #instances)
    .. ',"instances":[' .. table.concat(parts, ",") .. "]}"
end

local function envelope(body)
  return '{"success":true,"code":"200","errorMsg":null,"traceId":"t-1","data":' .. body .. "}"
end

local ROWS = {
  '{"id":12876561,"status":"SUCCESS","mtGuid":"dw.s.a","startPartition":"2025-01-02","endPartition":"2025-01-02",'
    .. '"createTime":"2025-03-25T10:00:00","startTime":"2025-03-25 10:01:02.5","endTime":null,"priority":1}',
  '{"id":"12876562","status":"FAILED","mtGuid":"dw.s.b","startPartition":"2025-01-01","endPartition":"2025-01-01",'
    .. '"resourceGroup":"default","extra":{"x":[1,null,{"y":"\\u00e9"}]},"endTime":"2025-03-25T11:00:00"}',
  '{"id":"12876563","status":"RUNNING","mtGuid":"dw.s.a","startPartition":"2025-01-01","endPartition":"2025-01-03"}',
}

describe("accelerate.reduce", function()
  it("reduces the bare list and the envelope to the same store", function()
    local res, err, bare = reduce(list_body(ROWS))
    assert.is_nil(err)
    assert.same({ count = 3, fresh = 3, total = 3 }, res)
    local res2, err2, env = reduce(envelope(list_body(ROWS)))
    assert.is_nil(err2)
    assert.same(res, res2)
    same_store(bare, env)
    local counts, terminal, failed, seen = bare:counts()
    assert.same({ SUCCESS = 1, FAILED = 1, RUNNING = 1, WAITING = 0 }, counts)
    assert.same({ 2, 1, 3 }, { terminal, failed, seen })
  end)

  -- a full sweep reads each page's make-up: counted over that page alone,
  -- not over the whole store after every page (quadratic in the pages)
  it("counts one page with counts(k): the pages' counts add up to the store's", function()
    local s = store()
    local pages = {
      { '{"id":"1","status":"SUCCESS"}', '{"id":"2","status":"FAILED"}' },
      { '{"id":"3","status":"RUNNING"}', '{"id":"4","status":"KILLED"}', '{"id":"5","status":"WAITING"}' },
      { '{"id":"6","status":"SUCCESS"}' },
    }
    for k, rows in ipairs(pages) do assert(reduce(list_body(rows, 6), s, k)) end
    local sum, st, sf, ss = {}, 0, 0, 0
    for k = 1, #pages do
      local c, t, f, n = s:counts(k)
      assert.equal(#pages[k], n)
      for name, v in pairs(c) do sum[name] = (sum[name] or 0) + v end
      st, sf, ss = st + t, sf + f, ss + n
    end
    local all_c, all_t, all_f, all_n = s:counts()
    assert.same(all_c, sum)
    assert.same({ all_t, all_f, all_n }, { st, sf, ss })
    assert.same({ SUCCESS = 0, FAILED = 0, RUNNING = 1, WAITING = 1, KILLED = 1 }, (s:counts(2)))
    assert.same({ SUCCESS = 0, FAILED = 0, RUNNING = 0, WAITING = 0 }, (s:counts(9)))
    assert.has_error(function() s:counts(0) end)
  end)

  it("gives what the full decoder gives, instance by instance", function()
    local _, _, r = reduce(list_body(ROWS))
    local _, _, d = decoded(list_body(ROWS), store { full = false })
    same_store(r, d)
    local insts = all(r)
    -- report order: startPartition, then mtGuid, then id
    assert.same({ "12876563", "12876562", "12876561" }, { insts[1].id, insts[2].id, insts[3].id })
    -- a compact instance: the fields a watch reads, times as the server's clock reads them
    assert.same({ "createTime", "endPartition", "id", "mtGuid", "startPartition", "startTime", "status" },
      sorted_pairs(insts[3]))
    assert.equal("2025-03-25T10:01:02", insts[3].startTime)
    -- a failed instance is kept whole, as the decoder gives it
    local whole = assert(accelerate.decode("list_instances", 200, {}, list_body(ROWS))).instances[2]
    assert.same(whole, insts[2])
    assert.same(whole, r:failures()[1])
    assert.equal("\195\169", insts[2].extra.x[3].y)
  end)

  -- issue 21 item 2: a report of 200,000 instances parses 600,000 times;
  -- the core's parse_timestamp is dates.parse_timestamp in C, the same
  -- number for every text
  it("parse_timestamp gives dates.parse_timestamp's Lua answer for every text", function()
    local dates = require "accelerate.dates"
    local lua_parse = dates.parse_timestamp_lua
    local core = require "accelerate.core"
    assert.is_function(core.parse_timestamp)
    local fixed = { "2025-03-25T10:00:00", "2025-03-25 10:00:00.123+08:00", "2025-03-25", "2025-03-25T1",
      "2024-02-29T23:59:59Z", "2025-13-40T25:61:61", "0001-01-01T00:00:00", "9999-12-31T23:59:59", "garbage", "",
      "2025-03-2", "2025-03-25T10:00", "2025/03/25", "20250325", "2025-03-25X10:00:00", "-025-03-25" }
    for _, t in ipairs(fixed) do assert.equal(lua_parse(t), core.parse_timestamp(t), t) end
    assert.is_nil(core.parse_timestamp(nil))
    assert.is_nil(core.parse_timestamp(20250325))
    local chars = "0123456789-: T"
    math.randomseed(21)
    for _ = 1, 20000 do
      local b = { "20", tostring(math.random(10, 99)), "-", ("%02d"):format(math.random(0, 19)), "-",
        ("%02d"):format(math.random(0, 39)), "T", ("%02d"):format(math.random(0, 29)), ":",
        ("%02d"):format(math.random(0, 69)), ":", ("%02d"):format(math.random(0, 69)) }
      local t = table.concat(b)
      local k = math.random(0, #t + 1)
      if k > 0 and k <= #t then
        local c = math.random(1, #chars)
        t = t:sub(1, k - 1) .. chars:sub(c, c) .. t:sub(k + 1)
      end
      t = t:sub(1, math.random(8, #t))
      assert.equal(lua_parse(t), core.parse_timestamp(t), t)
    end
  end)

  it("keeps times as seconds that read back as dates.parse_timestamp reads the server's text", function()
    local dates = require "accelerate.dates"
    local times = { "2025-03-25T10:00:00", "2025-03-25 10:00:00.123+08:00", "2025-03-25", "2025-03-25T1",
      "2024-02-29T23:59:59Z", "2025-13-40T25:61:61", "1931-12-13T20:45:53", "2068-01-19T03:14:07",
      "1969-12-31T23:59:59", "garbage", "" }
    local rows = {}
    for i, t in ipairs(times) do rows[i] = '{"id":"' .. i .. '","status":"SUCCESS","createTime":"' .. t .. '"}' end
    local _, _, r = reduce(list_body(rows))
    for inst in r:each() do
      local given = times[tonumber(inst.id)]
      assert.equal(dates.parse_timestamp(given), dates.parse_timestamp(inst.createTime), given)
    end
    -- further from 2000 than 32-bit seconds go: no time, as for a time that does not parse
    _, _, r = reduce(list_body { '{"id":"1","createTime":"1931-12-13T20:45:52"}', '{"id":"2","createTime":"2068-01-19T03:14:08"}',
      '{"id":"3","createTime":"0001-01-01T00:00:00"}' })
    for inst in r:each() do assert.is_nil(inst.createTime) end
  end)

  it("keeps ids beyond 2^53 exactly, and writes other numbers as the decoder does", function()
    local body = list_body {
      '{"id":123456789012345678901,"status":"SUCCESS"}', '{"id":"9007199254740993","status":"SUCCESS"}',
      '{"id":-17,"status":"SUCCESS"}', '{"id":1e3,"status":"SUCCESS"}', '{"id":1.5,"status":"SUCCESS"}',
      '{"id":9007199254740995,"status":"FAILED"}', '{"id":9007199254740993,"status":"FAILED"}',
    }
    local res, _, r = reduce(body)
    -- the two 9007199254740993 are one id: the second one is not fresh
    assert.same({ 7, 6 }, { res.count, res.fresh })
    local ids = {}
    for inst in r:each() do ids[#ids + 1] = inst.id end
    table.sort(ids)
    assert.same({ "-17", "1.5", "1000", "123456789012345678901", "9007199254740993", "9007199254740995" }, ids)
    local page = assert(accelerate.decode("list_instances", 200, {}, body))
    for _, inst in ipairs(page.instances) do assert.is_string(inst.id) end
    assert.same({ page.instances[6] }, r:failures())
  end)

  it("counts a missing or null status as UNKNOWN and an odd one as OTHER", function()
    local body = list_body {
      '{"id":"1"}', '{"id":"2","status":null}', '{"id":"3","status":{"code":"SUCCESS"}}',
      '{"id":"4","status":true}', '{"id":"5","status":7}', '{"id":"6","status":""}',
      '{"id":"7","status":"' .. ("A"):rep(65) .. '"}', '{"id":"8","status":"NOT DONE"}',
      '{"id":"9","status":["SUCCESS"]}', '{"id":"10","status":"KILLED"}', '{"id":"11","status":"PAUSED"}',
    }
    local _, _, r = reduce(body)
    local counts, terminal, failed = r:counts()
    assert.same({ WAITING = 0, RUNNING = 0, SUCCESS = 0, FAILED = 0, UNKNOWN = 2, OTHER = 7, KILLED = 1,
      PAUSED = 1 }, counts)
    assert.same({ 1, 1 }, { terminal, failed })
    local _, _, d = decoded(body)
    same_store(r, d)
    -- status.lua's rule, the one the watch used to apply to tables
    local status = require "accelerate.workflow.status"
    local page = assert(accelerate.decode("list_instances", 200, {}, body))
    assert.same(counts, (status.count(page.instances)))
  end)

  it("drops nulls: null fields, a null id, null instances", function()
    local _, _, r = reduce(list_body { '{"id":null,"status":"SUCCESS","mtGuid":null,"startPartition":null}' })
    local inst = all(r)[1]
    assert.same({ status = "SUCCESS" }, inst)
    local res, err = reduce('{"total":0,"instances":null}')
    assert.is_nil(err)
    assert.same({ count = 0, fresh = 0, total = 0 }, res)
    res = reduce('{"total":null}')
    assert.same({ count = 0, fresh = 0 }, res)
  end)

  it("reads instances written alike as the decoder does, near misses included", function()
    -- the reducer remembers the previous instance's keys and values (most
    -- repeat): a value that only extends, shortens or escapes a remembered
    -- one, a key moved or spaced, must each be read afresh
    local row = '{"id":"%d","status":"%s","mtGuid":"%s","startPartition":"2025-01-01",'
      .. '"endPartition":"2025-01-01","resourceGroup":"g","createTime":"%s","priority":1}'
    local rows = {
      row:format(1, "SUCCESS", "dw.s.a", "2025-03-25T10:00:00"),
      row:format(2, "SUCCESS", "dw.s.a", "2025-03-25T10:00:00"),
      row:format(3, "SUCCESSFUL", "dw.s.ab", "2025-03-25T10:00:001"),
      row:format(4, "SUCCESS", "dw.s.", "2025-03-25T10:00"),
      row:format(5, "RUNNING", "dw.s.\\u0061", "2025-03-25T10:00:00"),
      '{"status":"FAILED","id":"6","mtGuid":"dw.s.a","startPartition" :"2025-01-02","endPartition":"2025-01-01"}',
      '{"id":"7","status":"FAILED" ,"mtGuid": "dw.s.a","startPartition":"2025-01-01","endPartition":null}',
      row:format(8, "WAITING", "dw.s.a", "2025-03-25T10:00:00"),
    }
    local body = list_body(rows)
    local _, _, r = reduce(body)
    local _, _, d = decoded(body, store { full = false })
    same_store(r, d)
    local by = {}
    for _, inst in ipairs(all(r)) do by[inst.id] = inst end
    assert.equal("SUCCESSFUL", by["3"].status)
    assert.equal("dw.s.ab", by["3"].mtGuid)
    assert.equal("2025-03-25T10:00:00", by["3"].createTime) -- what follows the seconds is not read
    assert.equal("dw.s.", by["4"].mtGuid)
    assert.equal("2025-03-25T00:00:00", by["4"].createTime) -- no full time: the day
    assert.equal("dw.s.a", by["5"].mtGuid)
    assert.equal("2025-01-02", by["6"].startPartition)
    assert.equal("2025-03-25T10:00:00", by["8"].createTime)
    assert.same({ SUCCESS = 3, RUNNING = 1, WAITING = 1, FAILED = 2 }, (function()
      local c = r:counts()
      return { SUCCESS = c.SUCCESS, RUNNING = c.RUNNING, WAITING = c.WAITING, FAILED = c.FAILED }
    end)())
  end)

  it("takes the last of a repeated field, as the decoder does", function()
    local body = list_body { '{"id":"1","status":"RUNNING","status":"FAILED","mtGuid":"a","mtGuid":null}' }
    local _, _, r = reduce(body)
    local _, _, d = decoded(body)
    same_store(r, d)
    assert.same({ FAILED = 1 }, { FAILED = (r:counts()).FAILED })
  end)

  it("reads a total given as a string or missing, as the pager does", function()
    assert.equal("7", (reduce('{"total":"7","instances":[]}')).total)
    assert.is_nil((reduce('{"instances":[]}')).total)
    assert.equal(12, (reduce('{"total":12.0,"instances":[]}')).total)
  end)

  it("leaves every other shape to the full decoder, with its errors", function()
    for _, case in ipairs {
      { 200, '{"success":false,"code":"404","errorMsg":"Backfill task x does not exist","data":null}', "api" },
      { 200, '{"success":true,"data":null}', "api" },
      { 200, '{"instances":[1,2]}', "decode" },
      { 200, '[{"id":"1"}]', "decode" },
      { 200, '{"instances":[{"id":"1"}', "decode" },
      { 200, "<html><title>Bad gateway</title></html>", "decode" },
      { 200, "", "decode" },
      { 503, '{"success":false,"code":"503","errorMsg":"busy"}', "http" },
      { 200, ("["):rep(200) .. ("]"):rep(200), "decode" },
    } do
      local s = store()
      local res, err = reduce(case[2], s, 1, case[1])
      assert.is_nil(res, case[2])
      local _, derr = accelerate.decode("list_instances", case[1], {}, case[2])
      assert.equal(case[3], err.kind, case[2])
      assert.equal(derr.message, err.message)
      assert.equal(0, #s)
    end
  end)

  it("reads through the decoder what it would not, when the decoder can", function()
    -- a repeated "instances": the decoder keeps the last
    local body = '{"total":2,"instances":[{"id":"1","status":"FAILED"}],"instances":[{"id":"2","status":"SUCCESS"},'
      .. '{"id":"3","status":"FAILED"}]}'
    local res, err, r = reduce(body)
    assert.is_nil(err)
    assert.same({ count = 2, fresh = 2, total = 2 }, res)
    local _, _, d = decoded(body)
    same_store(r, d)
    -- instances as an object: an empty page to the decoder
    res, err = reduce('{"total":0,"instances":{"a":1}}')
    assert.is_nil(err)
    assert.same({ count = 0, fresh = 0, total = 0 }, res)
  end)

  it("drops ids already seen in the sweep, as the pager does", function()
    local s = store()
    local res = reduce(list_body({ '{"id":"1","status":"SUCCESS"}', '{"id":"2"}', '{"id":"1"}', '{"status":"X"}' },
      6), s, 1)
    assert.same({ count = 4, fresh = 3, total = 6 }, res)
    res = reduce(list_body({ '{"id":"2"}', '{"id":"3"}', '{}' }, 6), s, 2)
    assert.same({ count = 3, fresh = 2, total = 6 }, res)
    assert.equal(5, #s)
    assert.has_error(function() s:expect(2, "append") end)
  end)

  it("replaces a page holding the same ids, and refuses one that does not", function()
    local s = store()
    reduce(list_body { '{"id":"1","status":"RUNNING"}', '{"id":"2","status":"WAITING"}' }, s, 1)
    reduce(list_body { '{"id":"3","status":"SUCCESS"}' }, s, 2)
    s:seal()
    assert.same({ 1 }, s:stale_pages())
    local f = s:fork()
    f:expect(1, "replace")
    local res = accelerate.reduce(f, 200, {}, list_body { '{"id":"1","status":"SUCCESS"}', '{"id":"2","status":"FAILED"}' })
    assert.is_true(res.same)
    assert.same({ SUCCESS = 2, FAILED = 1, RUNNING = 0, WAITING = 0 }, (f:counts()))
    -- the store it was forked from keeps what its poll saw
    assert.same({ SUCCESS = 1, FAILED = 0, RUNNING = 1, WAITING = 1 }, (s:counts()))
    assert.equal("2", f:failures()[1].id)
    assert.same({}, s:failures())
    for _, other in ipairs {
      { '{"id":"2","status":"SUCCESS"}', '{"id":"1","status":"SUCCESS"}' },
      { '{"id":"1","status":"SUCCESS"}' },
      { '{"id":"1","status":"SUCCESS"}', '{"status":"SUCCESS"}' },
    } do
      local g = s:fork()
      g:expect(1, "replace")
      res = accelerate.reduce(g, 200, {}, list_body(other))
      assert.is_false(res.same)
      assert.same((s:counts()), (g:counts()))
    end
  end)

  it("keeps every instance whole in full mode, and only failed ones after", function()
    local s = store { full = true }
    reduce(list_body(ROWS), s)
    assert.is_true(s:is_full())
    local page = assert(accelerate.decode("list_instances", 200, {}, list_body(ROWS)))
    assert.same({ page.instances[3], page.instances[2], page.instances[1] }, s:list())
    s:set_full(false)
    assert.is_false(s:is_full())
    assert.is_nil(s:list()[3].priority)
    assert.same(page.instances[2], s:list()[2])
  end)

  it("answers get, each and # in report order", function()
    local _, _, s = reduce(list_body(ROWS))
    assert.equal(3, #s)
    assert.equal("12876563", s:get(1).id)
    assert.is_nil(s:get(4))
    assert.is_nil(s:get(0))
    local n = 0
    for _ in s:each() do n = n + 1 end
    assert.equal(3, n)
    assert.matches("accelerate.store", tostring(s))
  end)

  -- issue 21 item 2: the calendar and the timing line read 200,000
  -- instances through scan(), which builds no table per instance
  it("scans what each() gives, value by value: the times as dates.parse_timestamp reads them", function()
    local dates = require "accelerate.dates"
    local instances = require "accelerate.instances"
    local parse = dates.parse_timestamp_lua
    local FIELDS = { "id", "status", "startPartition", "endPartition" }
    local TIMES = { "createTime", "startTime", "endTime" }
    local function from_each(s)
      local out, i = {}, 0
      for inst in s:each() do
        i = i + 1
        local row = { i = i }
        for _, k in ipairs(FIELDS) do row[k] = inst[k] end
        for _, k in ipairs(TIMES) do row[k] = parse(inst[k]) end
        out[i] = row
      end
      return out
    end
    local function from_scan(s)
      local out = {}
      for i, id, st, sp, ep, c, b, e in s:scan() do
        out[#out + 1] = { i = i, id = id, status = st, startPartition = sp, endPartition = ep,
          createTime = c, startTime = b, endTime = e }
      end
      return out
    end
    local odd = {
      -- kept whole (failed): its own text, a time with a fraction and a zone, one that does not parse
      '{"id":7,"status":"FAILED","startPartition":"2025-01-05T00:00:00","createTime":"2025-03-25 10:00:00.5+08:00",'
        .. '"startTime":"garbage","endTime":"2025-03-25"}',
      -- kept as a record: no status, no partitions, a time 32 bits cannot hold
      '{"id":"8","createTime":"0001-01-01T00:00:00","endTime":"2068-01-19T03:14:07"}',
      '{"id":"9","status":{"odd":1},"mtGuid":"dw.s.c","startPartition":"2025-01-04","endPartition":"2025-01-02"}',
    }
    local rows = {}
    for i, r in ipairs(ROWS) do rows[i] = r end
    for _, r in ipairs(odd) do rows[#rows + 1] = r end
    for _, full in ipairs { false, true } do
      local _, _, s = reduce(list_body(rows), store { full = full })
      local want = from_each(s)
      assert.equal(#rows, #want)
      assert.same(want, from_scan(s))
      -- a collection of the same instances as a Lua array scans alike
      assert.same(want, from_scan(instances.new(s:list())))
    end
    assert.same({}, from_scan(store()))
  end)

  it("reduces decoded tables as the store's own items", function()
    local s = store()
    s:expect(1, "append")
    local res = s:add { total = 3, instances = {
      { id = 5, status = "SUCCESS" }, { id = "5" }, { id = -1, status = "FAILED" }, "not a table",
    } }
    assert.same({ count = 4, fresh = 3, total = 3 }, res)
    local counts = s:counts()
    assert.equal(1, counts.UNKNOWN)
  end)

  it("has the status vocabulary of accelerate.statuses, from its own header (src/status.h)", function()
    local statuses = require "accelerate.statuses"
    local v = require("accelerate.core").statuses()
    assert.same(statuses.DOCUMENTED, v.documented)
    assert.same(statuses.FAILED_LIST, v.failed)
    -- a store given no `failed` names counts the header's failed statuses as failed
    local s = accelerate.store {}
    s:expect(1, "append")
    local rows = { { id = 1, status = "SUCCESS" } }
    for i, st in ipairs(v.failed) do rows[#rows + 1] = { id = i + 1, status = st } end
    rows[#rows + 1] = { id = 99, status = "PAUSED" }
    s:add { total = #rows, instances = rows }
    local counts, terminal, failed = s:counts()
    assert.equal(#v.failed, failed)
    assert.equal(#v.failed + 1, terminal)
    assert.equal(1, counts.PAUSED)
    assert.equal(#v.failed, #s:failures())
  end)
end)

describe("the client's paging rules over a store", function()
  local function fetcher(pages)
    local calls = 0
    return function(k)
      calls = calls + 1
      local s = pages.store
      s:expect(k, "append")
      return s:add(pages[k] or { total = pages.total, instances = {} })
    end, function() return calls end
  end

  it("stops at total, at a short page and at an empty one", function()
    local s = store()
    local fetch, calls = fetcher { store = s, total = 3,
      { total = 3, instances = { { id = "1" }, { id = "2" } } }, { total = 3, instances = { { id = "3" } } } }
    local state = assert(client.sweep(fetch, 2, "instances"))
    assert.same({ 3, 2, 2 }, { state.total, state.requests, calls() })
    assert.equal(3, #s)
  end)

  it("calls a repeated page an error", function()
    local s = store()
    local page = { total = 4, instances = { { id = "1" }, { id = "2" } } }
    local fetch = fetcher { store = s, page, page }
    local state, err, partial = client.sweep(fetch, 2, "instances")
    assert.is_nil(state)
    assert.matches("repeated page 2", err.message)
    assert.equal(2, partial.requests)
  end)
end)

describe("client:list_into against the simulator", function()
  local sim, c, dag
  setup(function()
    sim = helpers.start_sim { scenario = "test" }
    c = assert(accelerate.new(sim:client_options()))
  end)
  -- the simulator's clock stands still between the two listings
  local function new_dag(overrides)
    sim:scenario(helpers.scenario(overrides))
    dag = assert(c:create_task { planId = "5468b0c0462e40e08e44108d8164c7c3", startTime = "2025-01-01",
      endTime = "2025-01-20" })
    sim:advance(400)
  end
  teardown(function()
    if c then c:close() end
    if sim then sim:stop() end
  end)

  for _, env in ipairs { false, true } do
    it("reduces each page as the decoded one" .. (env and " (envelope)" or ""), function()
      new_dag { speed = 0, envelope = { list = env } }
      local r, d = store(), store { full = false }
      local state = assert(client.sweep(function(k)
        r:expect(k, "append")
        return c:list_into({ dagName = dag, pageIndex = k, pageSize = 7 }, r)
      end, 7, "instances"))
      assert.same({ 40, 6 }, { state.total, state.requests })
      local n = 0
      for inst in c:instances(dag, { pageSize = 7 }) do
        n = n + 1
        d:expect(n, "append")
        d:add { total = 40, instances = { inst } }
      end
      same_store(r, d)
    end)
  end

  it("answers an error as list_instances does, and leaves the store as it was", function()
    local s = store()
    s:expect(1, "append")
    local res, err = c:list_into({ dagName = "no-such-dag", pageIndex = 1, pageSize = 5 }, s)
    assert.is_nil(res)
    assert.equal("api", err.kind)
    assert.equal("404", err.code)
    assert.equal(0, #s)
  end)
end)
