#include <stdlib.h>
#include <string.h>

#include "buffer.h"

/* Keep a reused buffer from pinning a once-huge allocation forever. */
#define ACC_BUF_KEEP (256u * 1024u)

int acc_buf_append(acc_buf *b, const char *p, size_t n)
{
    if (n == 0)
        return 0;
    if (n > (size_t)-1 - b->len - 1)
        return -1;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        char *d;
        while (cap < b->len + n + 1) {
            if (cap > (size_t)-1 / 2) {
                cap = b->len + n + 1;
                break;
            }
            cap *= 2;
        }
        d = realloc(b->data, cap);
        if (d == NULL)
            return -1;
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

void acc_buf_reset(acc_buf *b)
{
    if (b->cap > ACC_BUF_KEEP) {
        acc_buf_free(b);
        return;
    }
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

void acc_buf_free(acc_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
