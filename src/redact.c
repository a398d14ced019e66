/* The auth value out of what a server sent, before anything reads it.
 * Redacting the input (the body, the trace id header) rather than the
 * error built from it means no later cut (a message's 300 characters, an
 * HTML title's 120, a header buffer) can leave a fragment of the value
 * behind: what is cut no longer holds it. */
#include <string.h>

#include "acc.h"

#define ACC_REDACTED "[REDACTED]"

/* A value worth redacting: long enough not to garble every message, and
 * without a NUL (as a C string it could be empty). */
int acc_redact_wanted(const char *secret, size_t slen)
{
    return secret != NULL && slen >= ACC_REDACT_MIN &&
           memchr(secret, '\0', slen) == NULL;
}

static const char *acc_redact_find(const char *s, size_t len,
                                   const char *secret, size_t slen)
{
    const char *end = s + len, *p = s;
    while ((size_t)(end - p) >= slen) {
        const char *c = memchr(p, secret[0], (size_t)(end - p) - slen + 1);
        if (c == NULL)
            return NULL;
        if (memcmp(c, secret, slen) == 0)
            return c;
        p = c + 1;
    }
    return NULL;
}

/* If s holds the secret, pushes a copy with every occurrence replaced and
 * points *s, *len at it (valid while the copy stays on the stack); returns
 * 1.  Returns 0 and pushes nothing when there is nothing to redact. */
int acc_redact_push(lua_State *L, const char **s, size_t *len,
                    const char *secret, size_t slen)
{
    const char *p, *hit, *end;
    luaL_Buffer b;

    if (*s == NULL || !acc_redact_wanted(secret, slen))
        return 0;
    hit = acc_redact_find(*s, *len, secret, slen);
    if (hit == NULL)
        return 0;
    p = *s;
    end = *s + *len;
    luaL_buffinit(L, &b);
    while (hit != NULL) {
        luaL_addlstring(&b, p, (size_t)(hit - p));
        luaL_addstring(&b, ACC_REDACTED);
        p = hit + slen;
        hit = acc_redact_find(p, (size_t)(end - p), secret, slen);
    }
    luaL_addlstring(&b, p, (size_t)(end - p));
    luaL_pushresult(&b);
    *s = lua_tolstring(L, -1, len);
    return 1;
}
