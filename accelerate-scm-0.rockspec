rockspec_format = "3.0"
package = "accelerate"
version = "scm-0"
-- Built from a checkout with `luarocks make` (README, "Install"), which
-- builds the folder it runs in and fetches nothing: the url only has to be
-- valid, and names no machine's path.
source = {
   url = "./",
}
description = {
   summary = "Client for the backfill API of Aloudata CAN (AnyMetrics): C core over libcurl",
   detailed = [[
      require "accelerate": create a backfill, page through its task instances
      and read their details, with typed errors, GET retries, real timeouts
      and a sans-I/O prepare/decode interface for other transports.
   ]],
   license = "MIT",
}
dependencies = {
   "lua >= 5.1, < 5.5",
   "lua-cjson >= 2.1",
}
external_dependencies = {
   CURL = {
      header = "curl/curl.h",
      library = "curl",
   },
   YAJL = {
      header = "yajl/yajl_parse.h",
      library = "yajl",
   },
}
build = {
   type = "builtin",
   modules = {
      accelerate = "lua/accelerate.lua",
      ["accelerate.core"] = {
         sources = {
            "src/accelerate.c",
            "src/buffer.c",
            "src/clock.c",
            "src/config.c",
            "src/days.c",
            "src/decode.c",
            "src/error.c",
            "src/file.c",
            "src/http.c",
            "src/items.c",
            "src/multi.c",
            "src/names.c",
            "src/order.c",
            "src/process.c",
            "src/redact.c",
            "src/reduce.c",
            "src/request.c",
            "src/retry.c",
            "src/store.c",
            "src/store_lua.c",
            "src/store_read.c",
            "src/transport.c",
         },
         defines = { "_POSIX_C_SOURCE=200809L" },
         libraries = { "curl", "yajl" },
         incdirs = { "$(CURL_INCDIR)", "$(YAJL_INCDIR)" },
         libdirs = { "$(CURL_LIBDIR)", "$(YAJL_LIBDIR)" },
      },
      ["accelerate.calendar"] = "lua/accelerate/calendar.lua",
      ["accelerate.campaign"] = "lua/accelerate/campaign.lua",
      ["accelerate.campaign.engine"] = "lua/accelerate/campaign/engine.lua",
      ["accelerate.campaign.poll"] = "lua/accelerate/campaign/poll.lua",
      ["accelerate.campaign.record"] = "lua/accelerate/campaign/record.lua",
      ["accelerate.campaign.spec"] = "lua/accelerate/campaign/spec.lua",
      ["accelerate.campaign.state"] = "lua/accelerate/campaign/state.lua",
      ["accelerate.campaign.tasks"] = "lua/accelerate/campaign/tasks.lua",
      ["accelerate.client"] = "lua/accelerate/client.lua",
      ["accelerate.cli"] = "lua/accelerate/cli.lua",
      ["accelerate.cli.args"] = "lua/accelerate/cli/args.lua",
      ["accelerate.cli.backfill_commands"] = "lua/accelerate/cli/backfill_commands.lua",
      ["accelerate.cli.campaign_commands"] = "lua/accelerate/cli/campaign_commands.lua",
      ["accelerate.cli.campaign_view"] = "lua/accelerate/cli/campaign_view.lua",
      ["accelerate.cli.config"] = "lua/accelerate/cli/config.lua",
      ["accelerate.cli.context"] = "lua/accelerate/cli/context.lua",
      ["accelerate.cli.help"] = "lua/accelerate/cli/help.lua",
      ["accelerate.cli.html_command"] = "lua/accelerate/cli/html_command.lua",
      ["accelerate.cli.inspect_commands"] = "lua/accelerate/cli/inspect_commands.lua",
      ["accelerate.cli.output"] = "lua/accelerate/cli/output.lua",
      ["accelerate.cli.plan_commands"] = "lua/accelerate/cli/plan_commands.lua",
      ["accelerate.cli.progress"] = "lua/accelerate/cli/progress.lua",
      ["accelerate.cli.repairs"] = "lua/accelerate/cli/repairs.lua",
      ["accelerate.dates"] = "lua/accelerate/dates.lua",
      ["accelerate.html_charts"] = "lua/accelerate/html_charts.lua",
      ["accelerate.html_report"] = "lua/accelerate/html_report.lua",
      ["accelerate.insight"] = "lua/accelerate/insight.lua",
      ["accelerate.insight.entry"] = "lua/accelerate/insight/entry.lua",
      ["accelerate.insight.rules"] = "lua/accelerate/insight/rules.lua",
      ["accelerate.insight.timing"] = "lua/accelerate/insight/timing.lua",
      ["accelerate.instances"] = "lua/accelerate/instances.lua",
      ["accelerate.journal"] = "lua/accelerate/journal.lua",
      ["accelerate.ngx"] = "lua/accelerate/ngx.lua",
      ["accelerate.periods"] = "lua/accelerate/periods.lua",
      ["accelerate.plans"] = "lua/accelerate/plans.lua",
      ["accelerate.report"] = "lua/accelerate/report.lua",
      ["accelerate.statuses"] = "lua/accelerate/statuses.lua",
      ["accelerate.util"] = "lua/accelerate/util.lua",
      ["accelerate.workflow"] = "lua/accelerate/workflow.lua",
      ["accelerate.workflow.backfill"] = "lua/accelerate/workflow/backfill.lua",
      ["accelerate.workflow.checks"] = "lua/accelerate/workflow/checks.lua",
      ["accelerate.workflow.create"] = "lua/accelerate/workflow/create.lua",
      ["accelerate.workflow.inspect"] = "lua/accelerate/workflow/inspect.lua",
      ["accelerate.workflow.params"] = "lua/accelerate/workflow/params.lua",
      ["accelerate.workflow.plan"] = "lua/accelerate/workflow/plan.lua",
      ["accelerate.workflow.repair"] = "lua/accelerate/workflow/repair.lua",
      ["accelerate.workflow.status"] = "lua/accelerate/workflow/status.lua",
      ["accelerate.workflow.sweep"] = "lua/accelerate/workflow/sweep.lua",
      ["accelerate.workflow.watch"] = "lua/accelerate/workflow/watch.lua",
   },
   install = {
      bin = { accelerate = "bin/accelerate" },
   },
   copy_directories = { "docs", "examples", "completion" },
}
