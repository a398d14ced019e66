/* bench/c_loop.c - the ceiling for any libcurl client of the detail route.
 *
 * One easy handle, reused for keep-alive, asks the same URL over and over
 * with exactly the request headers the accelerate client sends (tenant-id,
 * auth-type, auth-value, Content-Type; no Accept, no Expect) and parses
 * nothing: the write callback only counts bytes.  What accelerate does on
 * top of this (building the request, decoding JSON, ids, null) is what the
 * benchmark's ratio to this program measures.
 *
 *   c_loop URL calls N      N calls after the warm-up; for callgrind
 *   c_loop URL seconds T    as many calls as fit in T seconds
 *
 * Headers come from ACCELERATE_TENANT_ID, ACCELERATE_AUTH_TYPE and
 * ACCELERATE_AUTH_VALUE.  Prints one line: "calls=N seconds=S rps=R
 * cpu_us=C bytes=B" (C: this process's CPU time, user + system, per call;
 * B: body bytes of the last answer).  Exits 1 on any failure or
 * any status other than 200.
 *
 * Built by bench/core-vs-peers:
 *   gcc -O2 -o build/bench/c_loop bench/c_loop.c $(pkg-config --cflags --libs libcurl)
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <curl/curl.h>

#define WARMUP 50

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
    (void)p;
    *(size_t *)ud += size * nmemb;
    return size * nmemb;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct curl_slist *header(struct curl_slist *h, const char *name,
                                 const char *env)
{
    char line[1100];
    const char *v = getenv(env);
    struct curl_slist *n;
    if (v == NULL) {
        fprintf(stderr, "c_loop: %s is not set\n", env);
        exit(2);
    }
    snprintf(line, sizeof line, "%s: %s", name, v);
    n = curl_slist_append(h, line);
    if (n == NULL) {
        fprintf(stderr, "c_loop: out of memory\n");
        exit(2);
    }
    return n;
}

static int one(CURL *e, size_t *bytes)
{
    long status = 0;
    CURLcode rc;
    *bytes = 0;
    rc = curl_easy_perform(e);
    if (rc != CURLE_OK) {
        fprintf(stderr, "c_loop: %s\n", curl_easy_strerror(rc));
        return -1;
    }
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200) {
        fprintf(stderr, "c_loop: HTTP %ld\n", status);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct curl_slist *h = NULL;
    CURL *e;
    size_t bytes = 0;
    long calls = 0, limit = 0;
    double secs = 0, t0, t1;
    clock_t c0, c1;
    int i;

    if (argc != 4 || (strcmp(argv[2], "calls") != 0 &&
                      strcmp(argv[2], "seconds") != 0)) {
        fprintf(stderr, "usage: c_loop URL calls N | c_loop URL seconds T\n");
        return 2;
    }
    if (argv[2][0] == 'c')
        limit = atol(argv[3]);
    else
        secs = atof(argv[3]);

    curl_global_init(CURL_GLOBAL_DEFAULT);
    h = header(h, "tenant-id", "ACCELERATE_TENANT_ID");
    h = header(h, "auth-type", "ACCELERATE_AUTH_TYPE");
    h = header(h, "auth-value", "ACCELERATE_AUTH_VALUE");
    h = curl_slist_append(h, "Content-Type: application/json");
    h = curl_slist_append(h, "Accept:");
    h = curl_slist_append(h, "Expect:");
    e = curl_easy_init();
    if (e == NULL || h == NULL) {
        fprintf(stderr, "c_loop: curl init failed\n");
        return 1;
    }
    curl_easy_setopt(e, CURLOPT_URL, argv[1]);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &bytes);

    for (i = 0; i < WARMUP; i++)
        if (one(e, &bytes) != 0)
            return 1;
    c0 = clock();
    t0 = t1 = now();
    while (limit > 0 ? calls < limit : t1 - t0 < secs) {
        if (one(e, &bytes) != 0)
            return 1;
        calls++;
        if (limit == 0 || calls == limit)
            t1 = now();
    }
    c1 = clock();
    printf("calls=%ld seconds=%.4f rps=%.1f cpu_us=%.2f bytes=%lu\n", calls,
           t1 - t0, (double)calls / (t1 - t0),
           (double)(c1 - c0) / CLOCKS_PER_SEC * 1e6 / (double)calls,
           (unsigned long)bytes);
    curl_easy_cleanup(e);
    curl_slist_free_all(h);
    curl_global_cleanup();
    return 0;
}
