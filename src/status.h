/* The status vocabulary of the C core, written once: the statuses the API
 * documents (backfill-api.txt) and the ones counted as failed.  Its Lua
 * twin is lua/accelerate/statuses.lua; accelerate.statuses() gives these
 * lists to Lua, and spec/accelerate_reduce_spec.lua checks that the two
 * agree.  names.c interns them first (the documented ones at the fixed
 * indexes below, each failed one marked failed), and items.c, reduce.c
 * and the store read a status through those indexes and marks. */
#ifndef ACC_STATUS_H
#define ACC_STATUS_H

/* The documented statuses, in the order summaries show them: their
 * indexes are ACC_ST_SUCCESS..ACC_ST_WAITING, in this order. */
#define ACC_STATUS_DOCUMENTED "SUCCESS", "FAILED", "RUNNING", "WAITING"

/* Final statuses counted as failed: FAILED, and what schedulers of this
 * kind commonly report for a killed task. */
#define ACC_STATUS_FAILED                                                  \
    "FAILED", "KILLED", "STOPPED", "CANCELED", "CANCELLED", "ERROR", "TIMEOUT"

/* A status that is not a plain name (letters, digits, _ and -, at most
 * this many bytes) is OTHER, a missing one UNKNOWN (statuses.of). */
#define ACC_STATUS_MAX 64

/* Statuses interned first, at these indexes; 0 is "none". */
enum {
    ACC_ST_SUCCESS = 1,
    ACC_ST_FAILED,
    ACC_ST_RUNNING,
    ACC_ST_WAITING,
    ACC_ST_UNKNOWN, /* no status at all */
    ACC_ST_OTHER    /* a status that is not a plain name */
};

/* What a name means as a status. */
enum { ACC_KIND_OPEN = 0, ACC_KIND_SUCCESS, ACC_KIND_FAILED };

#endif
