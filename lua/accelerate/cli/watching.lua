-- What the commands that watch a backfill share (backfill, wait, report,
-- repair --wait): the watch options, one look at a backfill, and the end of
-- a watch (the failures' details, then the report and its exit code).

local util = require "accelerate.util"
local workflow = require "accelerate.workflow"
local output = require "accelerate.cli.output"

local error = error

local _M = {}

-- syntax: opts = watching.opts(o, ctx, p [, on_progress])
-- workflow.wait options from --interval, --max-interval, --timeout, with
-- the progress line's callback and sleep (p: cli/progress.lua).
function _M.opts(o, ctx, p, on_progress)
  return {
    interval = o.values.interval,
    max_interval = o.values["max-interval"],
    timeout = o.values.timeout,
    on_progress = on_progress or p.update,
    sleep = p.wrap_sleep(ctx.sleep),
    clock = ctx.clock,
  }
end

-- syntax: r2, fetched = watching.with_details(client, r)
-- r with the detail (error, SQL) of each failed instance, and true; r
-- itself when there is no failure or the details could not be fetched.
function _M.with_details(client, r)
  if #r.failures == 0 then return r, false end
  local failures = workflow.inspect(client, r)
  if not failures then return r, false end
  local out = util.shallow_copy(r)
  out.failures = failures
  return out, true
end

-- syntax: code = watching.finish(ctx, o, client, report)
-- The end of a watch: failure details, then the report and its exit code.
function _M.finish(ctx, o, client, report)
  local detailed, fetched = _M.with_details(client, report)
  if fetched then detailed.requests = (detailed.requests or 0) + #detailed.failures end
  return output.report(ctx, o, detailed)
end

-- syntax: r = watching.snapshot(client, dag, ctx)
-- One poll: where a backfill stands now.
function _M.snapshot(client, dag, ctx)
  local r, err = workflow.wait(client, dag, { timeout = 0, sleep = ctx.sleep, clock = ctx.clock })
  if not r then error(err, 0) end
  -- one look is not a watch that ran out of time: "not finished" instead
  r.timed_out = false
  return r
end

return _M
