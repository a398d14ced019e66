-- Error stacks for FAILED instances, in the shape a JVM scheduler running
-- SQL on a compute engine leaves in `msg`: an exception line with the cause,
-- then frames.  Scenario rules name one of these by key, or any other text,
-- which is used as the first line.
local dates = require "accelerate_sim.dates"

local format = string.format

local _M = {}

local KEYS = { "oom", "timeout", "source_missing", "partition_locked" }

local FRAMES = table.concat({
    "\tat com.aloudata.anymetrics.scheduler.executor.SqlTaskExecutor.execute(SqlTaskExecutor.java:214)",
    "\tat com.aloudata.anymetrics.scheduler.executor.AbstractTaskExecutor.run(AbstractTaskExecutor.java:97)",
    "\tat com.aloudata.anymetrics.scheduler.worker.TaskWorker.lambda$submit$0(TaskWorker.java:156)",
    "\tat java.util.concurrent.ThreadPoolExecutor.runWorker(ThreadPoolExecutor.java:1149)",
    "\tat java.util.concurrent.ThreadPoolExecutor$Worker.run(ThreadPoolExecutor.java:624)",
    "\tat java.lang.Thread.run(Thread.java:750)",
}, "\n")

local function partition(inst)
    return (dates.format(inst.s):gsub("-", ""))
end

local TEMPLATES = {
    oom = function(inst, tbl)
        return format("com.aloudata.anymetrics.scheduler.TaskExecuteException: task %s failed on %s\n"
            .. "Caused by: org.apache.spark.SparkException: Job aborted due to stage failure: Task 17 in stage 4.0 "
            .. "failed 4 times, most recent failure: Lost task 17.3 in stage 4.0 (TID 211) (%s executor 3): "
            .. "java.lang.OutOfMemoryError: Java heap space\n"
            .. "\tat org.apache.spark.sql.execution.aggregate.HashAggregateExec"
            .. ".doExecute(HashAggregateExec.scala:112)\n%s",
            inst.id, tbl.guid, inst.srv, FRAMES)
    end,
    timeout = function(inst, tbl)
        return format("com.aloudata.anymetrics.scheduler.TaskTimeoutException: task %s exceeded its run timeout "
            .. "of 3600 s while refreshing %s partition %s\n%s", inst.id, tbl.guid, partition(inst), FRAMES)
    end,
    source_missing = function(_, tbl)
        return format("java.sql.SQLException: errCode = 2, detailMessage = Table [%s_source] does not exist "
            .. "in database [%s.%s]\n\tat com.mysql.cj.jdbc.StatementImpl.executeUpdate(StatementImpl.java:1333)\n%s",
            tbl.table, tbl.catalog, tbl.schema, FRAMES)
    end,
    partition_locked = function(inst, tbl)
        return format("java.sql.SQLException: errCode = 2, detailMessage = partition p%s of %s is being "
            .. "loaded by another job, try again later\n"
            .. "\tat com.mysql.cj.jdbc.StatementImpl.executeUpdate(StatementImpl.java:1333)\n%s",
            partition(inst), tbl.guid, FRAMES)
    end,
}

function _M.pick(rng)
    return KEYS[rng:int(1, #KEYS)]
end

function _M.render(key, inst, tbl)
    local t = TEMPLATES[key]
    if t then return t(inst, tbl) end
    return format("com.aloudata.anymetrics.scheduler.TaskExecuteException: %s\n%s", key, FRAMES)
end

return _M
