/* The "counter" example in C: an external plugin that receives TypeA events and answers each
 * with TypeB<number of bytes after the 5-byte filter>, then quits after N events.
 *
 *   counter [PORT]      port from the argument or EE_PLUGIN_PORT; N from EE_COUNT (default 5);
 *                       the answers' type from EE_REPLY_TYPE (default TypeB)
 *
 * Build: make examples-c (or: cc counter.c $(pkg-config --cflags --libs event_engine)). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event_engine.h"

static int fail(const char *what, ee_status_t status) {
    fprintf(stderr, "counter: %s: %s: %s\n", what, ee_status_str(status), ee_last_error());
    return 1;
}

int main(int argc, char **argv) {
    const char *port_text = argc > 1 ? argv[1] : getenv("EE_PLUGIN_PORT");
    const char *count_text = getenv("EE_COUNT");
    const char *reply = getenv("EE_REPLY_TYPE");
    if (reply == NULL || reply[0] == '\0') {
        reply = "TypeB";
    }
    long port = port_text ? strtol(port_text, NULL, 10) : 0;
    long count = count_text ? strtol(count_text, NULL, 10) : 5;
    if (port <= 0 || port > 65535 || count <= 0 || strlen(reply) > 64) {
        fprintf(stderr, "usage: counter PORT (or EE_PLUGIN_PORT); EE_COUNT=N (default 5); "
                        "EE_REPLY_TYPE=T (default TypeB, at most 64 bytes)\n");
        return 2;
    }

    ee_client_t *client = NULL;
    ee_status_t s = ee_client_connect_port("127.0.0.1", (uint16_t)port, NULL, &client);
    if (s != EE_OK) {
        return fail("connect", s);
    }
    long seen = 0;
    while (seen < count) {
        ee_event_t *event = NULL;
        s = ee_client_next(client, 1000, &event);
        if (s != EE_OK) {
            ee_client_free(client);
            return fail("next", s);
        }
        if (event == NULL) {
            continue; /* nothing within a second: ask again */
        }
        const uint8_t *data = NULL;
        size_t len = 0;
        ee_event_data(event, &data, &len);
        char answer[96];
        int n = snprintf(answer, sizeof answer, "%s%zu", reply, len > 5 ? len - 5 : 0);
        ee_event_free(event);
        s = ee_client_publish(client, (const uint8_t *)answer, (size_t)n);
        if (s != EE_OK) {
            ee_client_free(client);
            return fail("publish", s);
        }
        seen++;
    }
    s = ee_client_quit(client);
    ee_client_free(client);
    if (s != EE_OK) {
        return fail("quit", s);
    }
    printf("counter: answered %ld events\n", seen);
    return 0;
}
