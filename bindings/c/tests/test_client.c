/* The plugin client against a real engine hosted through the C API: info, next with a
 * time-out, next_batch, redelivery after a client dies, ack, stats, publish, publish_batch,
 * cancellation from another thread, quit, EE_CLOSED after quit, and EE_DISCONNECTED when no
 * engine answers. Compiled as C99 and as C++17. */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"

#define TEXT_EVENTS 10
#define ANSWERS 4

static const uint8_t BINARY_FILTER[2] = {0x01, 0x00};
static const uint8_t BINARY_EVENT[5] = {0x01, 0x00, 0xaa, 0x00, 0xbb};

/* What the internal "feeder" plugin saw; read by main after ee_running_wait (a join). */
typedef struct feeder_state {
    char answers[ANSWERS][16];
    int received;
    ee_status_t status;
} feeder_state;

static ee_status_t feed(ee_plugin_ctx_t *ctx, feeder_state *state) {
    char text[32];
    for (int i = 0; i < TEXT_EVENTS; i++) {
        int n = snprintf(text, sizeof text, "TypeA%d", i);
        ee_status_t s = ee_plugin_ctx_publish(ctx, (const uint8_t *)text, (size_t)n);
        if (s != EE_OK) {
            return s;
        }
    }
    ee_status_t s = ee_plugin_ctx_publish(ctx, BINARY_EVENT, sizeof BINARY_EVENT);
    if (s != EE_OK) {
        return s;
    }
    while (state->received < ANSWERS) {
        ee_event_t *event = NULL;
        s = ee_plugin_ctx_recv(ctx, 30000, &event);
        if (s != EE_OK) {
            return s;
        }
        if (event == NULL) {
            ee_plugin_ctx_set_error(ctx, "no answer within 30 s");
            return EE_DISCONNECTED;
        }
        const uint8_t *data = NULL;
        size_t len = 0;
        ee_event_data(event, &data, &len);
        if (len < sizeof state->answers[0]) {
            memcpy(state->answers[state->received], data, len);
            state->answers[state->received][len] = '\0';
        }
        state->received++;
        ee_event_free(event);
    }
    return EE_OK;
}

static int32_t feeder(ee_plugin_ctx_t *ctx, void *user_data) {
    feeder_state *state = (feeder_state *)user_data;
    state->status = feed(ctx, state);
    return state->status;
}

typedef struct canceller_args {
    ee_cancel_t *token;
    ee_running_t *running;
    uint64_t sessions_before;
    bool saw_the_request;
} canceller_args;

/* Cancels once the main thread's request has reached the engine (a new client's first receive
 * opens a session, which the plugin's stats count), polled with a deadline: the call is then
 * blocked in its wait, for no event ever comes. */
static void *canceller(void *arg) {
    canceller_args *a = (canceller_args *)arg;
    for (int i = 0; i < 1000 && !a->saw_the_request; i++) {
        ee_plugin_stats_t stats;
        if (ee_running_plugin_stats(a->running, "ext", &stats, NULL) == EE_OK &&
            stats.sessions > a->sessions_before) {
            a->saw_the_request = true;
        } else {
            struct timespec pause = {0, 10 * 1000 * 1000};
            nanosleep(&pause, NULL);
        }
    }
    ee_cancel_cancel(a->token);
    return NULL;
}

static bool event_is(const ee_event_t *event, const uint8_t *bytes, size_t n) {
    const uint8_t *data = NULL;
    size_t len = 0;
    if (ee_event_data(event, &data, &len) != EE_OK) {
        return false;
    }
    return len == n && memcmp(data, bytes, n) == 0;
}

static bool event_is_text(const ee_event_t *event, const char *text) {
    return event_is(event, (const uint8_t *)text, strlen(text));
}

static void check_info(ee_client_t *c) {
    ee_info_t *info = NULL;
    OK(ee_client_info(c, &info));
    CHECK(info != NULL);
    if (info == NULL) {
        return;
    }
    const char *text = NULL;
    OK(ee_info_name(info, &text));
    CHECK(strcmp(text, "ext") == 0);
    OK(ee_info_id(info, &text));
    CHECK(strlen(text) == 36); /* a UUID */
    OK(ee_info_engine(info, &text));
    CHECK(strncmp(text, "event-engine", 12) == 0);
    uint32_t protocol = 0;
    const uint32_t *versions = NULL;
    size_t nversions = 0;
    OK(ee_info_protocol(info, &protocol, &versions, &nversions));
    CHECK(protocol == 2);
    bool has_v2 = false;
    for (size_t i = 0; i < nversions; i++) {
        has_v2 = has_v2 || versions[i] == 2;
    }
    CHECK(has_v2);
    OK(ee_info_protocol(info, &protocol, NULL, NULL));
    CHECK_STATUS(ee_info_protocol(info, NULL, NULL, NULL), EE_NULL_POINTER);
    uint32_t max_batch = 0;
    uint64_t max_pending = 0;
    OK(ee_info_limits(info, &max_batch, &max_pending));
    CHECK(max_batch == 65536);
    CHECK(max_pending == 1000); /* ee_app_set_max_pending */
    OK(ee_info_limits(info, NULL, NULL));
    size_t count = 0;
    OK(ee_info_subscription_count(info, &count));
    CHECK(count == 2);
    const uint8_t *filter = NULL;
    size_t len = 0;
    OK(ee_info_subscription(info, 0, &filter, &len));
    CHECK(len == 5 && memcmp(filter, "TypeA", 5) == 0);
    OK(ee_info_subscription(info, 1, &filter, &len));
    CHECK(len == 2 && memcmp(filter, BINARY_FILTER, 2) == 0);
    CHECK_STATUS(ee_info_subscription(info, 2, &filter, &len), EE_INVALID_ARGUMENT);
    CHECK_ERROR_MENTIONS("past the end");
    CHECK_STATUS(ee_info_subscription(info, 0, NULL, &len), EE_NULL_POINTER);
    CHECK_STATUS(ee_info_subscription_count(info, NULL), EE_NULL_POINTER);
    CHECK_STATUS(ee_info_name(info, NULL), EE_NULL_POINTER);
    CHECK_STATUS(ee_info_id(info, NULL), EE_NULL_POINTER);
    CHECK_STATUS(ee_info_engine(info, NULL), EE_NULL_POINTER);
    ee_info_free(info);
}

/* Receives every event the feeder published, in order, with consecutive sequence numbers. */
static void receive_everything(ee_client_t *c) {
    int got = 1; /* TypeA0 came already */
    uint64_t expected_seq = 2;
    while (got < TEXT_EVENTS + 1) {
        ee_batch_t *batch = NULL;
        OK(ee_client_next_batch(c, 4, 10000, &batch));
        size_t n = 0;
        OK(ee_batch_len(batch, &n));
        CHECK(n >= 1 && n <= 4);
        if (n == 0) {
            ee_batch_free(batch);
            return;
        }
        for (size_t i = 0; i < n; i++) {
            const ee_event_t *event = NULL;
            OK(ee_batch_get(batch, i, &event));
            uint64_t seq = 0;
            bool redelivered = true;
            OK(ee_event_seq(event, &seq));
            OK(ee_event_redelivered(event, &redelivered));
            CHECK(seq == expected_seq);
            CHECK(!redelivered);
            if (got < TEXT_EVENTS) {
                char text[32];
                snprintf(text, sizeof text, "TypeA%d", got);
                CHECK(event_is_text(event, text));
            } else {
                /* The binary event, NUL bytes and all. */
                CHECK(event_is(event, BINARY_EVENT, sizeof BINARY_EVENT));
            }
            got++;
            expected_seq++;
        }
        const ee_event_t *past = (const ee_event_t *)(uintptr_t)1;
        CHECK_STATUS(ee_batch_get(batch, n, &past), EE_INVALID_ARGUMENT);
        CHECK(past == NULL);
        CHECK_STATUS(ee_batch_get(batch, 0, NULL), EE_NULL_POINTER);
        CHECK_STATUS(ee_batch_len(batch, NULL), EE_NULL_POINTER);
        ee_batch_free(batch);
    }
    CHECK(got == TEXT_EVENTS + 1);
}

/* A TCP port that accepts connections and never answers: a peer that is not an engine, or an
 * engine that hangs. (A port that was merely closed could be taken by another process.) */
static int silent_listener(uint16_t *port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        return -1;
    }
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(fd, 16) != 0 ||
        getsockname(fd, (struct sockaddr *)&addr, &len) != 0) {
        close(fd);
        return -1;
    }
    *port = ntohs(addr.sin_port);
    return fd;
}

static void test_disconnected(void) {
    uint16_t port = 0;
    int listener = silent_listener(&port);
    CHECK(listener >= 0);
    if (listener < 0) {
        return;
    }
    ee_client_options_t o;
    OK(ee_client_options_default(&o));
    o.reply_timeout_ms = 100;
    o.retries = 1;
    o.reconnect_backoff_ms = 10;
    o.publish_timeout_ms = 50;
    ee_client_t *c = NULL;
    OK(ee_client_connect_port("127.0.0.1", port, &o, &c));
    ee_info_t *info = NULL;
    CHECK_STATUS(ee_client_info(c, &info), EE_DISCONNECTED);
    CHECK_ERROR_MENTIONS("no reply");
    CHECK(info == NULL);
    ee_plugin_stats_t stats;
    CHECK_STATUS(ee_client_stats(c, &stats), EE_DISCONNECTED);
    ee_event_t *event = NULL;
    CHECK_STATUS(ee_client_next(c, 10, &event), EE_DISCONNECTED);
    CHECK_STATUS(ee_client_publish(c, (const uint8_t *)"TypeB1", 6), EE_DISCONNECTED);
    /* quit closes the client even when the engine is gone. */
    CHECK_STATUS(ee_client_quit(c), EE_DISCONNECTED);
    CHECK_STATUS(ee_client_next(c, 10, &event), EE_CLOSED);
    ee_client_free(c);
    close(listener);
}

/* More events than one request carries are split into requests of 65536 (the SDK core's
 * batches, as in every SDK); the plugin is found through the launch environment. */
static void test_publish_batch_splits(void) {
    ee_app_t *app = NULL;
    OK(ee_app_new(0, 0, &app));
    OK(ee_app_add_external_plugin(app, "bulk", 0, NULL, 0));
    ee_running_t *running = NULL;
    OK(ee_app_start(app, &running));
    uint16_t port = 0;
    OK(ee_running_external_port(running, "bulk", &port));
    char text[16];
    snprintf(text, sizeof text, "%u", (unsigned)port);
    setenv("EE_PLUGIN_PORT", text, 1);
    unsetenv("EE_PLUGIN_ENDPOINT");
    ee_client_t *c = NULL;
    OK(ee_client_open(NULL, NULL, EE_NO_PORT, NULL, &c));
    unsetenv("EE_PLUGIN_PORT");
    const size_t count = 65536 + 7;
    ee_bytes_t *events = (ee_bytes_t *)calloc(count, sizeof(ee_bytes_t));
    CHECK(events != NULL && c != NULL);
    if (events != NULL && c != NULL) {
        for (size_t i = 0; i < count; i++) {
            events[i] = text_bytes("Bulk");
        }
        size_t published = 0;
        OK(ee_client_publish_batch(c, events, count, &published));
        CHECK(published == count);
        ee_plugin_stats_t stats;
        OK(ee_client_stats(c, &stats));
        CHECK(stats.published == count);
        OK(ee_client_quit(c));
    }
    free(events);
    ee_client_free(c);
    ee_report_t *report = NULL;
    OK(ee_running_wait(running, &report));
    ee_report_free(report);
    ee_running_free(running);
    ee_app_free(app);
}

int main(void) {
    feeder_state state;
    memset(&state, 0, sizeof state);
    state.status = EE_PANIC;

    ee_app_t *app = NULL;
    OK(ee_app_new(0, 0, &app));
    ee_bytes_t subs[2];
    subs[0] = text_bytes("TypeA");
    subs[1].data = BINARY_FILTER;
    subs[1].len = sizeof BINARY_FILTER;
    OK(ee_app_add_external_plugin(app, "ext", 0, subs, 2));
    ee_bytes_t answers = text_bytes("TypeB");
    OK(ee_app_add_plugin(app, "feeder", &answers, 1, feeder, &state));
    OK(ee_app_set_max_pending(app, 1000));
    ee_running_t *running = NULL;
    OK(ee_app_start(app, &running));
    CHECK(running != NULL);
    if (running == NULL) {
        ee_app_free(app);
        return finish("test_client");
    }

    uint16_t publish_port = 0, subscribe_port = 0, port = 0;
    OK(ee_running_ports(running, &publish_port, &subscribe_port));
    CHECK(publish_port != 0 && subscribe_port != 0 && publish_port != subscribe_port);
    OK(ee_running_ports(running, NULL, NULL));
    OK(ee_running_external_port(running, "ext", &port));
    CHECK(port != 0 && port != publish_port && port != subscribe_port);
    CHECK_STATUS(ee_running_external_port(running, "feeder", &port), EE_NOT_FOUND);
    CHECK_ERROR_MENTIONS("feeder");
    CHECK_STATUS(ee_running_external_port(running, NULL, &port), EE_NULL_POINTER);
    CHECK_STATUS(ee_running_external_port(running, "ext", NULL), EE_NULL_POINTER);
    CHECK_STATUS(ee_running_external_port(running, "\xff", &port), EE_INVALID_UTF8);
    OK(ee_running_external_port(running, "ext", &port));

    /* A first client takes event 1 and dies without acknowledging it... */
    ee_client_t *first = NULL;
    OK(ee_client_connect_port("127.0.0.1", port, NULL, &first));
    ee_event_t *event = NULL;
    OK(ee_client_next(first, 10000, &event));
    CHECK(event != NULL && event_is_text(event, "TypeA0"));
    ee_event_free(event);
    ee_client_free(first);

    /* ...so the next client gets it again, marked as redelivered. */
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "tcp://127.0.0.1:%u", (unsigned)port);
    ee_client_t *c = NULL;
    OK(ee_client_connect(endpoint, NULL, &c));
    check_info(c);
    uint64_t seq = 99;
    OK(ee_client_last_seq(c, &seq));
    CHECK(seq == 0);
    event = NULL;
    OK(ee_client_next(c, 10000, &event));
    CHECK(event != NULL);
    if (event != NULL) {
        bool redelivered = false;
        OK(ee_event_seq(event, &seq));
        OK(ee_event_redelivered(event, &redelivered));
        CHECK(seq == 1);
        CHECK(redelivered);
        CHECK(event_is_text(event, "TypeA0"));
        CHECK_STATUS(ee_event_seq(event, NULL), EE_NULL_POINTER);
        CHECK_STATUS(ee_event_redelivered(event, NULL), EE_NULL_POINTER);
        const uint8_t *data = NULL;
        size_t len = 0;
        CHECK_STATUS(ee_event_data(event, NULL, &len), EE_NULL_POINTER);
        CHECK_STATUS(ee_event_data(event, &data, NULL), EE_NULL_POINTER);
        ee_event_free(event);
    }

    receive_everything(c);

    /* Nothing more: a time-out is EE_OK with no event. */
    event = (ee_event_t *)(uintptr_t)1;
    OK(ee_client_next(c, 100, &event));
    CHECK(event == NULL);
    ee_batch_t *batch = NULL;
    OK(ee_client_next_batch(c, 10, 50, &batch));
    size_t n = 99;
    OK(ee_batch_len(batch, &n));
    CHECK(n == 0);
    ee_batch_free(batch);

    OK(ee_client_last_seq(c, &seq));
    CHECK(seq == TEXT_EVENTS + 1);
    uint64_t pending = 99;
    OK(ee_client_ack(c, &pending));
    CHECK(pending == 0);

    ee_plugin_stats_t stats;
    memset(&stats, 0xff, sizeof stats);
    OK(ee_client_stats(c, &stats));
    CHECK(stats.delivered == TEXT_EVENTS + 1);
    CHECK(stats.redelivered == 1);
    CHECK(stats.acked == TEXT_EVENTS + 1);
    CHECK(stats.pending == 0);
    CHECK(stats.published == 0);
    CHECK(stats.sessions >= 2);

    uint64_t forwarded = 0;
    OK(ee_running_plugin_stats(running, "ext", &stats, &forwarded));
    CHECK(stats.delivered == TEXT_EVENTS + 1);
    CHECK(forwarded >= TEXT_EVENTS + 1);
    OK(ee_running_plugin_stats(running, "ext", &stats, NULL));
    CHECK_STATUS(ee_running_plugin_stats(running, "feeder", &stats, NULL), EE_NOT_FOUND);
    CHECK_STATUS(ee_running_plugin_stats(running, NULL, &stats, NULL), EE_NULL_POINTER);
    CHECK_STATUS(ee_running_plugin_stats(running, "ext", NULL, NULL), EE_NULL_POINTER);

    /* Answers: one alone, three in a batch. */
    OK(ee_client_publish(c, (const uint8_t *)"TypeB1", 6));
    ee_bytes_t batch_out[3];
    batch_out[0] = text_bytes("TypeB2");
    batch_out[1] = text_bytes("TypeB3");
    batch_out[2] = text_bytes("TypeB4");
    size_t published = 0;
    OK(ee_client_publish_batch(c, batch_out, 3, &published));
    CHECK(published == 3);
    OK(ee_client_stats(c, &stats));
    CHECK(stats.published == 4);

    /* Cancelling from another thread ends a call that would block for ever (a second client,
     * whose first receive the engine counts as a new session). */
    ee_client_t *waiter = NULL;
    OK(ee_client_connect_port("127.0.0.1", port, NULL, &waiter));
    ee_cancel_t *token = NULL;
    OK(ee_client_cancel_token(waiter, &token));
    canceller_args args;
    args.token = token;
    args.running = running;
    args.saw_the_request = false;
    OK(ee_running_plugin_stats(running, "ext", &stats, NULL));
    args.sessions_before = stats.sessions;
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, canceller, &args) == 0);
    event = NULL;
    CHECK_STATUS(ee_client_next(waiter, -1, &event), EE_INTERRUPTED);
    CHECK(event == NULL);
    pthread_join(thread, NULL);
    CHECK(args.saw_the_request);
    OK(ee_cancel_reset(token));
    OK(ee_client_next(waiter, 50, &event));
    CHECK(event == NULL);
    ee_cancel_free(token);
    ee_client_free(waiter);

    /* quit: the plugin is finished; the client is closed. */
    OK(ee_client_quit(c));
    OK(ee_client_quit(c)); /* harmless twice */
    CHECK_STATUS(ee_client_next(c, 10, &event), EE_CLOSED);
    CHECK_STATUS(ee_client_publish(c, (const uint8_t *)"TypeB5", 6), EE_CLOSED);
    CHECK_STATUS(ee_client_info(c, NULL), EE_NULL_POINTER);
    ee_info_t *info = NULL;
    CHECK_STATUS(ee_client_info(c, &info), EE_CLOSED);
    CHECK_STATUS(ee_client_stats(c, &stats), EE_CLOSED);
    ee_client_free(c);

    /* Both plugins are done: the run ends by itself. */
    ee_report_t *report = NULL;
    OK(ee_running_wait(running, &report));
    CHECK(report != NULL);
    CHECK(state.status == EE_OK);
    CHECK(state.received == ANSWERS);
    for (int i = 0; i < ANSWERS; i++) {
        char text[32];
        snprintf(text, sizeof text, "TypeB%d", i + 1);
        CHECK(strcmp(state.answers[i], text) == 0);
    }
    if (report != NULL) {
        ee_report_summary_t summary;
        OK(ee_report_summary(report, &summary));
        CHECK(summary.plugin_count == 2);
        CHECK(summary.failed_count == 0);
        CHECK(!summary.stop_requested);
        CHECK(summary.events_forwarded >= TEXT_EVENTS + 1 + ANSWERS);
        ee_plugin_report_t p;
        OK(ee_report_plugin(report, 0, &p));
        CHECK(strcmp(p.name, "feeder") == 0);
        CHECK(p.kind == EE_PLUGIN_INTERNAL);
        CHECK(p.outcome == EE_OUTCOME_FINISHED);
        CHECK(!p.has_stats);
        CHECK(strcmp(p.details, "") == 0);
        OK(ee_report_plugin(report, 1, &p));
        CHECK(strcmp(p.name, "ext") == 0);
        CHECK(p.kind == EE_PLUGIN_EXTERNAL);
        CHECK(p.outcome == EE_OUTCOME_FINISHED);
        CHECK(p.has_stats);
        CHECK(p.stats.delivered == TEXT_EVENTS + 1);
        CHECK(p.stats.published == ANSWERS);
        CHECK(strlen(p.id) == 36);
        ee_report_free(report);
    }
    CHECK_STATUS(ee_running_wait(running, NULL), EE_BAD_STATE);
    CHECK_STATUS(ee_running_plugin_stats(running, "ext", &stats, NULL), EE_BAD_STATE);
    OK(ee_running_stop(running)); /* after the end: harmless */
    ee_running_free(running);
    ee_app_free(app);

    test_disconnected();
    test_publish_batch_splits();
    return finish("test_client");
}
