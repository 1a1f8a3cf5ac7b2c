/* A tiny test harness for the C SDK's tests: compiled as C99 and as C++17.
 *
 * CHECK(cond), CHECK_STATUS(call, status) and OK(call) count passes and failures and say where
 * a failure was; finish() prints "<name>: N passed, N failed" and returns the exit status. */
#ifndef EE_TEST_CHECK_H
#define EE_TEST_CHECK_H

#include <stdio.h>
#include <string.h>

#include "event_engine.h"

static int checks_passed = 0;
static int checks_failed = 0;

#define CHECK(cond)                                                                      \
    do {                                                                                 \
        if (cond) {                                                                      \
            checks_passed++;                                                             \
        } else {                                                                         \
            checks_failed++;                                                             \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);     \
        }                                                                                \
    } while (0)

#define CHECK_STATUS(call, expected)                                                     \
    do {                                                                                 \
        ee_status_t got_ = (call);                                                       \
        if (got_ == (expected)) {                                                        \
            checks_passed++;                                                             \
        } else {                                                                         \
            checks_failed++;                                                             \
            fprintf(stderr, "%s:%d: %s returned %s, expected %s (last error: %s)\n",     \
                    __FILE__, __LINE__, #call, ee_status_str(got_),                      \
                    ee_status_str(expected), ee_last_error());                           \
        }                                                                                \
    } while (0)

#define OK(call) CHECK_STATUS(call, EE_OK)

/* The last error mentions `needle`. */
#define CHECK_ERROR_MENTIONS(needle)                                                     \
    do {                                                                                 \
        if (strstr(ee_last_error(), (needle)) != NULL) {                                 \
            checks_passed++;                                                             \
        } else {                                                                         \
            checks_failed++;                                                             \
            fprintf(stderr, "%s:%d: last error \"%s\" does not mention \"%s\"\n",        \
                    __FILE__, __LINE__, ee_last_error(), (needle));                      \
        }                                                                                \
    } while (0)

static inline int finish(const char *name) {
    printf("%s: %d passed, %d failed\n", name, checks_passed, checks_failed);
    fflush(stdout);
    return checks_failed == 0 ? 0 : 1;
}

/* An ee_bytes_t over a NUL-terminated string (without the NUL). */
static inline ee_bytes_t text_bytes(const char *s) {
    ee_bytes_t b;
    b.data = (const uint8_t *)s;
    b.len = strlen(s);
    return b;
}

#endif
