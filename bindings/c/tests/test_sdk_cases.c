/* The shared table of SDK cases (crates/event-engine-client/sdk-cases.txt, or $EE_SDK_CASES)
 * through the C API: the same inputs give the same result as in Rust, Python and Node.js. No
 * engine is needed. Compiled as C99 and as C++17. */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

#define MAX_COLUMNS 8
#define CELL 128

typedef struct row_t {
    int columns;
    char cell[MAX_COLUMNS][CELL];
} row_t;

static int skipped = 0;

static char *trim(char *s) {
    while (isspace((unsigned char)*s)) {
        s++;
    }
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1])) {
        s[--n] = '\0';
    }
    return s;
}

/* Reads the rows of `[section]` into `rows` (at most `max`); returns how many. */
static int read_section(const char *section, row_t *rows, int max) {
    const char *path = getenv("EE_SDK_CASES");
    if (path == NULL) {
        path = "crates/event-engine-client/sdk-cases.txt";
    }
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "cannot open %s (run from the repository's root, or set EE_SDK_CASES)\n", path);
        return 0;
    }
    char line[1024];
    char current[64] = "";
    int n = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        char *l = trim(line);
        if (*l == '\0' || *l == '#') {
            continue;
        }
        size_t len = strlen(l);
        if (l[0] == '[' && l[len - 1] == ']') {
            l[len - 1] = '\0';
            snprintf(current, sizeof current, "%s", l + 1);
            continue;
        }
        if (strcmp(current, section) != 0 || n == max) {
            continue;
        }
        row_t *r = &rows[n++];
        r->columns = 0;
        char *cell = l;
        for (;;) {
            char *bar = strchr(cell, '|');
            if (bar != NULL) {
                *bar = '\0';
            }
            if (r->columns < MAX_COLUMNS) {
                snprintf(r->cell[r->columns++], CELL, "%s", trim(cell));
            }
            if (bar == NULL) {
                break;
            }
            cell = bar + 1;
        }
    }
    fclose(f);
    CHECK(n > 0);
    return n;
}

/* NULL for "-" (not given), "" for `""`, else the cell. */
static const char *given(const char *cell) {
    if (strcmp(cell, "-") == 0) {
        return NULL;
    }
    if (strcmp(cell, "\"\"") == 0) {
        return "";
    }
    return cell;
}

static void set_env(const char *name, const char *value) {
    if (value == NULL) {
        unsetenv(name);
    } else {
        setenv(name, value, 1);
    }
}

/* The kind's name of a status: EE_INVALID_ARGUMENT gives "invalid_argument". */
static void kind_of(ee_status_t status, char *out, size_t size) {
    const char *name = ee_status_str(status);
    if (strncmp(name, "EE_", 3) == 0) {
        name += 3;
    }
    size_t i = 0;
    for (; name[i] != '\0' && i + 1 < size; i++) {
        out[i] = (char)tolower((unsigned char)name[i]);
    }
    out[i] = '\0';
}

/* `got` is `expected`; otherwise says which row. */
static void check_row(const row_t *r, const char *got) {
    const char *expected = r->cell[r->columns - 1];
    if (strcmp(got, expected) == 0) {
        checks_passed++;
    } else {
        checks_failed++;
        fprintf(stderr, "row [%s | %s | %s ...]: got %s, expected %s\n", r->cell[0], r->cell[1],
                r->columns > 2 ? r->cell[2] : "", got, expected);
    }
}

static row_t rows[128];

static void connect_cases(void) {
    int n = read_section("connect", rows, 128);
    for (int i = 0; i < n; i++) {
        row_t *r = &rows[i];
        CHECK(r->columns == 6);
        if (r->columns != 6) {
            continue;
        }
        const char *port = given(r->cell[0]);
        int32_t p = port == NULL ? EE_NO_PORT : (int32_t)strtol(port, NULL, 10);
        if (port != NULL && p == EE_NO_PORT) {
            /* C says "no port" with EE_NO_PORT (-1): it cannot give -1 as a port. */
            skipped++;
            continue;
        }
        set_env("EE_PLUGIN_ENDPOINT", given(r->cell[3]));
        set_env("EE_PLUGIN_PORT", given(r->cell[4]));
        ee_client_t *c = NULL;
        ee_status_t s = ee_client_open(given(r->cell[2]), given(r->cell[1]), p, NULL, &c);
        char got[CELL];
        if (s == EE_OK) {
            const char *endpoint = "";
            OK(ee_client_endpoint(c, &endpoint));
            snprintf(got, sizeof got, "%s", endpoint);
        } else {
            kind_of(s, got, sizeof got);
            CHECK(c == NULL);
        }
        check_row(r, got);
        ee_client_free(c);
    }
    unsetenv("EE_PLUGIN_ENDPOINT");
    unsetenv("EE_PLUGIN_PORT");
}

static void option_cases(void) {
    int n = read_section("option", rows, 128);
    for (int i = 0; i < n; i++) {
        row_t *r = &rows[i];
        CHECK(r->columns == 3);
        if (r->columns != 3) {
            continue;
        }
        const char *name = r->cell[0];
        const char *value = r->cell[1];
        if (value[0] == '-') {
            /* The options are unsigned in C: a negative time cannot be given. */
            skipped++;
            continue;
        }
        ee_client_options_t o;
        OK(ee_client_options_default(&o));
        uint64_t ms = strcmp(value, "none") == 0 ? 0 : (uint64_t)strtod(value, NULL);
        if (strcmp(name, "reply_timeout") == 0) {
            o.reply_timeout_ms = ms;
        } else if (strcmp(name, "retries") == 0) {
            o.retries = (uint32_t)ms;
        } else if (strcmp(name, "publish_timeout") == 0) {
            o.publish_timeout_ms = strcmp(value, "none") == 0 ? -1 : (int64_t)ms;
        } else if (strcmp(name, "long_poll") == 0) {
            o.long_poll_ms = ms;
        } else if (strcmp(name, "poll_slice") == 0) {
            o.poll_slice_ms = ms;
        } else if (strcmp(name, "reconnect_backoff") == 0) {
            o.reconnect_backoff_ms = ms;
        } else if (strcmp(name, "max_backoff") == 0) {
            o.max_backoff_ms = ms;
        } else if (strcmp(name, "max_batch_bytes") == 0) {
            o.max_batch_bytes = (uint64_t)strtoull(value, NULL, 10);
        } else {
            fprintf(stderr, "unknown option %s\n", name);
            checks_failed++;
            continue;
        }
        ee_client_t *c = NULL;
        ee_status_t s = ee_client_connect("tcp://127.0.0.1:1", &o, &c);
        char got[CELL] = "ok";
        if (s != EE_OK) {
            kind_of(s, got, sizeof got);
        }
        check_row(r, got);
        ee_client_free(c);
    }
}

static void max_cases(void) {
    int n = read_section("max", rows, 128);
    ee_client_options_t o;
    OK(ee_client_options_default(&o));
    o.reply_timeout_ms = 10;
    o.retries = 0;
    ee_client_t *c = NULL;
    OK(ee_client_connect("tcp://127.0.0.1:1", &o, &c));
    for (int i = 0; i < n; i++) {
        row_t *r = &rows[i];
        ee_batch_t *batch = NULL;
        ee_status_t s = ee_client_next_batch(c, (size_t)strtoull(r->cell[0], NULL, 10), 0, &batch);
        char got[CELL] = "ok";
        if (s != EE_OK) {
            kind_of(s, got, sizeof got);
        }
        check_row(r, got);
        ee_batch_free(batch);
    }
    ee_client_free(c);
}

int main(void) {
    connect_cases();
    option_cases();
    max_cases();
    /* Said, not silent: the cases C cannot express. */
    printf("test_sdk_cases: %d case(s) C cannot express (a port of -1, a negative time)\n", skipped);
    CHECK(skipped <= 3);
    return finish("test_sdk_cases");
}
