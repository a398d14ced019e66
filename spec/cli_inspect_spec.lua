-- `accelerate instances` and `accelerate detail` (accelerate.cli.commands.instances, .detail)
-- in-process, on a scripted client: --all goes through the client's own
-- iterator and never pages by itself; one page is one list call.
require("spec.helpers").paths()

local cli = require "accelerate.cli"
local util = require "accelerate.util"
local workflow = require "accelerate.workflow"

local function sink()
  local buf = {}
  return {
    write = function(self, s) buf[#buf + 1] = s return self end,
    flush = function(self) return self end,
    text = function() return table.concat(buf) end,
  }
end

local ENV = { ACCELERATE_URL = "http://127.0.0.1:1", ACCELERATE_TENANT_ID = "t1",
  ACCELERATE_AUTH_TYPE = "UID", ACCELERATE_AUTH_VALUE = "secret", HOME = "/nonexistent/accelerate-spec-home" }

local function run(argv, client)
  local out, err = sink(), sink()
  local code = cli.main(argv, { stdout = out, stderr = err, getenv = function(k) return ENV[k] end,
    isatty = function() return false end, new_client = function() return client end })
  return code, out.text(), err.text()
end

-- n instances; o.fail_after: the iterator raises o.error after that many;
-- o.refuse: client:instances itself raises o.error.
local function client_of(n, o)
  o = o or {}
  local items = {}
  for i = 1, n do
    items[i] = { id = tostring(1000 + i), status = "SUCCESS", mtGuid = "c.s.t",
      startPartition = "2025-01-01", endPartition = i % 2 == 0 and "2025-01-02" or "2025-01-01" }
  end
  local c = { iterations = {}, lists = {} }
  function c.instances(_, dag, opts)
    c.iterations[#c.iterations + 1] = { dag = dag, opts = opts }
    if o.refuse then error(o.error) end
    local i = 0
    return function()
      if o.fail_after and i >= o.fail_after then error(o.error) end
      i = i + 1
      return items[i]
    end
  end
  function c.list_instances(_, q)
    c.lists[#c.lists + 1] = q
    if o.error then return nil, o.error end
    local page = {}
    for i = (q.pageIndex - 1) * q.pageSize + 1, math.min(q.pageIndex * q.pageSize, n) do page[#page + 1] = items[i] end
    return { dagName = q.dagName, pageIndex = q.pageIndex, pageSize = q.pageSize, total = n, instances = page }
  end
  function c.task_detail(_, id)
    if id ~= "1001" then return nil, util.new_error("api", "no such instance " .. id, { code = "404" }) end
    return { taskInstanceId = 1001, status = "FAILED", mtGuid = { { catalog = "c", schema = "s", table = "t" } },
      startPartitionTime = "2025-01-01", endPartitionTime = "2025-01-02", retryCnt = 2,
      statusTime = { WAITING = "w", FAILED = "f" }, msg = "boom\n\tat x", sql = { originalSql = "SELECT 1" } }
  end
  return c
end

describe("accelerate instances --all", function()
  it("lists every instance the client's iterator yields, without paging itself", function()
    local c = client_of(45)
    local code, out = run({ "instances", "dag-1", "--all", "--json" }, c)
    assert.equal(0, code)
    local r = require("cjson").decode(out)
    assert.equal("dag-1", r.dagName)
    assert.equal(45, r.total)
    assert.equal(45, #r.instances)
    assert.equal("1045", r.instances[45].id)
    assert.same({ { dag = "dag-1", opts = { pageSize = workflow.DEFAULT_PAGE_SIZE } } }, c.iterations)
    assert.equal(0, #c.lists)
  end)

  it("passes --page-size to the iterator and prints a table", function()
    local c = client_of(3)
    local code, out = run({ "instances", "dag-1", "--all", "--page-size", "2" }, c)
    assert.equal(0, code)
    assert.equal(2, c.iterations[1].opts.pageSize)
    assert.matches("^ID%s+STATUS%s+TABLE%s+PARTITIONS%s+START %(server time%) END %(server time%)\n", out)
    assert.matches("\n1002%s+SUCCESS%s+c%.s%.t%s+2025%-01%-01%.%.2025%-01%-02%s+%-%s+%-\n", out)
    assert.matches("\n3 of 3 instances\n$", out)
  end)

  it("reports an error the iterator raises, like any other failure", function()
    local c = client_of(10, { fail_after = 4, error = util.new_error("http", "bad gateway", { status = 502 }) })
    local code, out, err = run({ "instances", "dag-1", "--all", "--json" }, c)
    assert.equal(4, code)
    assert.same({ error = { kind = "http", message = "bad gateway", status = 502 }, exit = 4 },
      require("cjson").decode(out))
    assert.equal("accelerate: [http] bad gateway (status=502)\n", err)
    c = client_of(10, { refuse = true, error = util.new_error("invalid", "list_instances: pageSize too large") })
    code, out, err = run({ "instances", "dag-1", "--all", "--page-size", "99999" }, c)
    assert.equal(2, code)
    assert.equal("", out)
    assert.matches("pageSize too large", err)
  end)
end)

describe("accelerate instances (one page) and detail", function()
  it("makes one list call for the page asked, 20 instances by default", function()
    local c = client_of(45)
    local code, out = run({ "instances", "dag-1", "--page", "3" }, c)
    assert.equal(0, code)
    assert.same({ { dagName = "dag-1", pageIndex = 3, pageSize = 20 } }, c.lists)
    assert.equal(0, #c.iterations)
    assert.matches("\npage 3 of 3 %(45 instances, 20 per page%)\n$", out)
    code, out = run({ "instances", "dag-1", "--page-size", "50", "--json" }, c)
    assert.equal(0, code)
    assert.equal(45, #require("cjson").decode(out).instances)
  end)

  -- Issue 10, item 15
  it("counts pages with the page size the server answered with, and says whose clock the times are", function()
    local c = client_of(10)
    local list = c.list_instances
    c.list_instances = function(self, q)
      local page = list(self, { dagName = q.dagName, pageIndex = q.pageIndex, pageSize = 3 })
      return page
    end
    local code, out = run({ "instances", "dag-1" }, c)
    assert.equal(0, code)
    assert.matches("\npage 1 of 4 %(10 instances, 3 per page%)\n$", out)
    assert.matches("START %(server time%)", out)
  end)

  it("shows one instance's fields, error and SQL", function()
    local code, out = run({ "detail", "1001" }, client_of(1))
    assert.equal(0, code)
    assert.matches("taskInstanceId%s+1001\n", out)
    assert.matches("mtGuid%s+c%.s%.t\n", out)
    assert.matches("partitions%s+2025%-01%-01 %.%. 2025%-01%-02\n", out)
    assert.matches("statusTime%.WAITING%s+w %(server time%)\nstatusTime%.FAILED%s+f %(server time%)\n", out)
    assert.matches("msg:\nboom\n\tat x\nsql:\nSELECT 1\n$", out)
    local ecode, _, err = run({ "detail", "7" }, client_of(1))
    assert.equal(4, ecode)
    assert.matches("no such instance 7", err)
  end)
end)
