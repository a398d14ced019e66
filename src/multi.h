/* Many exchanges at once over a curl multi handle, for the blocking
 * transport's request_many.  No policy: each item is tried once. */
#ifndef ACC_MULTI_H
#define ACC_MULTI_H

#include "http.h"

typedef struct acc_multi {
    CURLM *handle;
    acc_xfer **pool; /* pointers: curl keeps the address of each slot */
    int pool_n;
} acc_multi;

void acc_multi_run(lua_State *L, acc_multi *m, const acc_config *cfg,
                   struct curl_slist *headers, acc_call call, int items,
                   int conc, double budget);
void acc_multi_close(acc_multi *m);

#endif
