-- One conformance case, run on a client of either transport: the blocking
-- client in busted, accelerate.ngx inside nginx (spec/conformance_spec.lua
-- loads this very file in both).  Returns a plain table of what happened,
-- so that the two outcomes can be compared field by field.
local _M = {}

local function err_fields(err)
  if type(err) ~= "table" then return { kind = "raised", message = tostring(err) } end
  return {
    kind = err.kind, status = err.status, code = err.code, retryable = err.retryable,
    outcome_unknown = err.outcome_unknown, message = err.message,
  }
end

local RUN = {}

function RUN.create_task(c, args) return c:create_task(args) end
-- a create given less time than the call's timeout (a campaign's time left)
function RUN.create_task_budget(c, args) return c:create_task(args.params, args.budget) end
function RUN.list_instances(c, args) return c:list_instances(args) end
function RUN.task_detail(c, args) return c:task_detail(args) end
function RUN.list_plans(c, args)
  local page, err = c:list_plans(args)
  if not page then return nil, err end
  return { items = #page.plans, total = page.total, hasNext = page.hasNext }
end
function RUN.plan_detail(c, args)
  local plan, err = c:plan_detail(args)
  if not plan then return nil, err end
  return { name = plan.name, granularity = plan.metricTimeGranularity }
end
function RUN.find_plan(c, args)
  local plan, err = c:find_plan(args)
  if not plan then return nil, err end
  return { name = plan.name, granularity = plan.metricTimeGranularity }
end

function RUN.plans(c, args)
  local n, seen, dups = 0, {}, 0
  local ok, err = pcall(function()
    for p in c:plans(args) do
      if seen[p.id] then dups = dups + 1 end
      seen[p.id] = true
      n = n + 1
    end
  end)
  if not ok then return nil, err, { items = n, duplicates = dups } end
  return { items = n, duplicates = dups }
end

function RUN.instances(c, args)
  local ids, seen, dups = {}, {}, 0
  local ok, err = pcall(function()
    for inst in c:instances(args.dagName, { pageSize = args.pageSize }) do
      if seen[inst.id] then dups = dups + 1 end
      seen[inst.id] = true
      ids[#ids + 1] = inst.id
    end
  end)
  if not ok then return nil, err, { items = #ids, duplicates = dups } end
  return { items = #ids, duplicates = dups }
end

-- The sweep of a watch: every page reduced into a compact store through
-- client:list_into, by the pager's rules (accelerate.client.sweep); the
-- store keeps each id once, so there are no duplicates to count.
function RUN.sweep(c, args)
  local store = require("accelerate.core").store {}
  local state, err = require("accelerate.client").sweep(function(k)
    store:expect(k, "append")
    return c:list_into({ dagName = args.dagName, pageIndex = k, pageSize = args.pageSize }, store)
  end, args.pageSize, "instances")
  if not state then return nil, err, { items = #store, duplicates = 0 } end
  return { items = #store, duplicates = 0 }
end

function RUN.task_details(c, args)
  local details, errors = c:task_details(args)
  if not details then return nil, errors end
  local out = { details = {}, errors = {} }
  for k in pairs(details) do out.details[#out.details + 1] = k end
  for k, e in pairs(errors or {}) do out.errors[k] = err_fields(e) end
  table.sort(out.details)
  return out
end

-- a batch given less time than the client's timeout (a campaign's time
-- left): how many details came, how many ids its budget cut
function RUN.task_details_budget(c, args)
  local details, errors = c:task_details(args.ids, { timeout = args.budget })
  if not details then return nil, errors end
  local n, cut = 0, 0
  for _ in pairs(details) do n = n + 1 end
  for _, e in pairs(errors or {}) do if e.kind == "timeout" then cut = cut + 1 end end
  return { items = n, cut = cut }
end

-- what a page, a detail and a plan print as (accelerate.show): the
-- metatables are set by the call policy, so both transports print alike
function RUN.shown(c, args)
  local page, err = c:list_instances { dagName = args.dagName, pageSize = 5 }
  if not page then return nil, err end
  local det, derr = c:task_detail(args.id)
  if not det then return nil, derr end
  local plan, perr = c:plan_detail(args.plan)
  if not plan then return nil, perr end
  local shown = {}
  for what, v in pairs { page = page, instance = page.instances[1], detail = det, plan = plan } do
    local mt = getmetatable(v)
    shown[what] = { name = mt and mt.__name or "none", line = tostring(v) }
  end
  return { shown = shown }
end

-- case = {call =, args =}; client options are the caller's.  now() is the
-- caller's clock.
function _M.run(client, case, now)
  local t0 = now()
  local res, err, partial = RUN[case.call](client, case.args)
  local out = { elapsed = now() - t0 }
  if res ~= nil then
    out.ok = true
    if type(res) == "table" then
      out.items, out.duplicates, out.details, out.errors = res.items, res.duplicates, res.details, res.errors
      out.name, out.granularity, out.cut = res.name, res.granularity, res.cut
      out.shown = res.shown
      if res.instances then out.items = #res.instances end
    end
  else
    out.ok = false
    out.err = err_fields(err)
    if partial then out.items, out.duplicates = partial.items, partial.duplicates end
  end
  return out
end

return _M
