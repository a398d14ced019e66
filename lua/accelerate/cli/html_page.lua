-- `accelerate report DAG --html FILE`: FILE opened first (a path that
-- cannot be written is exit 5 before anything is fetched), then the details
-- of every instance (the timeline needs each one's statusTime), fetched
-- concurrently through client:task_details at the client's default
-- concurrency, then the page (accelerate.render.html) written to FILE,
-- then the report as usual.  The fetch is measured and said on stderr: it
-- is one request per instance.  FILE is written by output.write_file: any
-- failure is exit 5, and a file the command created is removed when the
-- report fails.

local util = require "accelerate.util"
local instances = require "accelerate.instances"
local inspect = require "accelerate.workflow.inspect"
local render_html = require "accelerate.render.html"
local output = require "accelerate.cli.output"

local pairs = pairs
local ipairs = ipairs
local tostring = tostring
local os_date = os.date
local str_format = string.format
local id_string = util.id_string
local new_error = util.new_error

local _M = {}

-- details ({[id] = detail}), errors, seconds, requests
local function all_details(ctx, client, r)
  local ids = {}
  for inst in instances.of(r.instances):each() do
    local id = id_string(inst.id)
    if id then ids[#ids + 1] = id end
  end
  local clock = ctx.clock or util.default_clock()
  local stats = { requests = 0 }
  local t0 = clock()
  local details, errs = {}, {}
  if #ids > 0 then details, errs = inspect.fetch_details(client, ids, {}, stats) end
  util.check_stop() -- a Ctrl-C during the fetching: no page of cut details
  return details, errs or {}, clock() - t0, stats.requests
end

-- The failed instances with their details, as workflow.inspect gives them.
local function failures_of(r, details, errs)
  local out = util.array()
  for _, inst in ipairs(instances.of(r.instances):failures()) do
    local id = id_string(inst.id)
    local d = id and details[id]
    out[#out + 1] = { instance = inst, detail = d,
      err = not d and (errs[id] or new_error("api", "no detail returned for instance " .. tostring(id))) or nil }
  end
  return out
end

-- syntax: target = html_page.open(path)
-- The page's file, opened before anything is fetched (output.open_file:
-- exit 5 at once when it cannot be written).
function _M.open(path) return output.open_file(path, "--html") end

-- syntax: html_page.discard(target)
-- Removes the file open() created, when the report failed before writing it.
_M.discard = output.discard_file

-- syntax: code = html_page.report(ctx, o, client, report, target)
-- target: what open() returned for o.values.html.
function _M.report(ctx, o, client, r, target)
  local details, errs, seconds, requests = all_details(ctx, client, r)
  local n = 0
  for _ in pairs(details) do n = n + 1 end
  r = util.shallow_copy(r)
  r.failures = failures_of(r, details, errs)
  r.details = details
  r.requests = (r.requests or 0) + requests
  local page = render_html.render(output.redact_report(ctx, r), {
    generated_at = os_date("!%Y-%m-%dT%H:%M:%SZ"),
    fetch = { details = n, seconds = seconds, requests = requests },
  })
  output.write_file(target, page)
  if not o.flags.quiet then
    ctx.err(str_format("accelerate: wrote %s: %d instances, %d details fetched in %.2f s (%d requests)\n",
      o.values.html, #r.instances, n, seconds, requests))
  end
  return output.report(ctx, o, r)
end

return _M
