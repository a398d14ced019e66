-- `accelerate create`: create a backfill and print its dagName.  Never
-- retried automatically: a duplicate backfill costs real compute.

local util = require "accelerate.util"
local workflow = require "accelerate.workflow"
local declare = require "accelerate.cli.declare"
local create_params = require "accelerate.cli.create_params"
local output = require "accelerate.cli.output"

local error = error
local json_encode = util.json_encode
local EXIT = output.EXIT

local _M = { name = "create", order = 2, summary = "create a backfill and print its dagName" }

function _M.declare(cmd)
  cmd:usage("usage: accelerate create --plan NAME|ID --start DATE --end DATE\n"
    .. "                         [--lot N] [--journal FILE]")
  cmd:description("Creates a backfill and prints its dagName.  Never retried automatically: a\n"
    .. "duplicate backfill costs real compute.")
  declare.plan_options(cmd, { range = true })
  declare.value(cmd, "--journal", "FILE", "record intent and dagName (then `accelerate wait --journal FILE`)",
    { complete = "file" })
  declare.flag(cmd, "--force-create", "create even though the journal shows a create whose answer was lost")
  declare.flag(cmd, "--force", "create even though the plan is EXTERNAL")
  cmd:epilog(declare.PLAN_CHECKS .. "\n\n"
    .. "Exit codes: 0 created, 2 usage or config error, 4 API or network error,\n"
    .. "5 created but the dagName could not be written (it is printed on stderr).\n\n" .. declare.examples(
    "accelerate create --plan sales_daily --start 2025-01-01 --end 2025-01-14 --lot 7",
    "accelerate create --plan ledger_external --start 2025-01-01 --end 2025-01-31 --force --json"))
end

function _M.run(o, ctx)
  local client, params = create_params.resolved(o, ctx, create_params.of(o), true)
  local printed = false
  local function print_dag(dag, resumed)
    printed = true
    ctx.current_dag = dag
    ctx.facts = "backfill " .. dag .. (resumed and " was already created (journal)" or " was created")
    if o.flags.json then
      ctx.out(json_encode { dagName = dag, params = params, resumed = resumed or nil, exit = EXIT.OK } .. "\n")
    else
      ctx.out(ctx.text(dag) .. "\n")
      if resumed then ctx.err("accelerate: the journal already records this backfill; not created again\n") end
    end
  end
  -- a dagName in hand is journaled and printed before Ctrl-C can end us
  local dag, err, resumed = workflow.create(client, params, {
    journal = o.values.journal, force_create = o.flags["force-create"],
    defer_signals = true, on_created = function(d) print_dag(d) end,
  })
  if not dag then error(err, 0) end
  if not printed then print_dag(dag, resumed) end
  return EXIT.OK
end

return _M
