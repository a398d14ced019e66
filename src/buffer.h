/* A growable byte buffer owned by C, for data arriving inside libcurl
 * callbacks where no Lua call may happen. */
#ifndef ACC_BUFFER_H
#define ACC_BUFFER_H

#include <stddef.h>

typedef struct acc_buf {
    char *data;
    size_t len;
    size_t cap;
} acc_buf;

int acc_buf_append(acc_buf *b, const char *p, size_t n);
void acc_buf_reset(acc_buf *b);
void acc_buf_free(acc_buf *b);

#endif
