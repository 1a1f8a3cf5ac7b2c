/* The C half of the end-to-end test: an external plugin, started by the Rust peer
 * (examples/rust_peer.rs) with EE_PLUGIN_PORT, EE_PLUGIN_NAME and EE_COUNT, exchanges events
 * with a Rust plugin through the engine: it receives EE_COUNT TypeA events in batches and
 * answers each with TypeB<bytes after the filter> in batches, then quits. Compiled as C99 and
 * as C++17. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

#define MAX_COUNT 1000

int main(void) {
    const char *port_text = getenv("EE_PLUGIN_PORT");
    const char *name = getenv("EE_PLUGIN_NAME");
    const char *count_text = getenv("EE_COUNT");
    CHECK(port_text != NULL && name != NULL && count_text != NULL);
    if (port_text == NULL || name == NULL || count_text == NULL) {
        return finish("test_e2e");
    }
    long port = strtol(port_text, NULL, 10);
    long count = strtol(count_text, NULL, 10);
    CHECK(port > 0 && port < 65536 && count > 0 && count <= MAX_COUNT);

    ee_client_t *c = NULL;
    OK(ee_client_connect_port("127.0.0.1", (uint16_t)port, NULL, &c));
    ee_info_t *info = NULL;
    OK(ee_client_info(c, &info));
    const char *text = NULL;
    OK(ee_info_name(info, &text));
    CHECK(strcmp(text, name) == 0);
    size_t subscriptions = 0;
    OK(ee_info_subscription_count(info, &subscriptions));
    CHECK(subscriptions == 1);
    ee_info_free(info);

    static char answers[MAX_COUNT][32];
    ee_bytes_t out[MAX_COUNT];
    long seen = 0;
    uint64_t expected_seq = 1;
    int empty_rounds = 0;
    while (seen < count && empty_rounds < 60) {
        ee_batch_t *batch = NULL;
        ee_status_t s = ee_client_next_batch(c, 7, 1000, &batch);
        CHECK_STATUS(s, EE_OK);
        if (s != EE_OK) {
            break;
        }
        size_t n = 0;
        OK(ee_batch_len(batch, &n));
        empty_rounds = n == 0 ? empty_rounds + 1 : 0;
        for (size_t i = 0; i < n && seen + (long)i < count; i++) {
            const ee_event_t *event = NULL;
            const uint8_t *data = NULL;
            size_t len = 0;
            uint64_t seq = 0;
            OK(ee_batch_get(batch, i, &event));
            OK(ee_event_data(event, &data, &len));
            OK(ee_event_seq(event, &seq));
            CHECK(seq == expected_seq);
            expected_seq++;
            CHECK(len > 5 && memcmp(data, "TypeA", 5) == 0);
            /* The peer's payloads end in 0xff, after NUL bytes: lengths, not strlen. */
            CHECK(data[len - 1] == 0xff);
            int m = snprintf(answers[i], sizeof answers[i], "TypeB%zu", len - 5);
            out[i].data = (const uint8_t *)answers[i];
            out[i].len = (size_t)m;
        }
        size_t published = 0;
        OK(ee_client_publish_batch(c, out, n, &published));
        CHECK(published == n);
        seen += (long)n;
        ee_batch_free(batch);
    }
    CHECK(seen == count);

    ee_plugin_stats_t stats;
    OK(ee_client_stats(c, &stats));
    CHECK(stats.delivered == (uint64_t)count);
    CHECK(stats.published == (uint64_t)count);
    OK(ee_client_quit(c));
    ee_client_free(c);
    return finish("test_e2e");
}
