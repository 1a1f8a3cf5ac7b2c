/* Hosting the engine from C: internal plugins as C callbacks and their context, the run report,
 * a failing plugin, stopping a run from another thread, freeing a run without waiting, a port
 * already in use, and external plugins nobody connects to. Compiled as C99 and as C++17. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"

#define PINGS 50

/* ---- a producer and a consumer ---------------------------------------------------------- */

typedef struct consumer_state {
    int received;
    uint64_t last_seq;
    size_t bytes;
    int in_order;
    char name[32];
} consumer_state;

/* The producer also checks the context's argument handling (only this thread uses the check
 * counters while the run lasts; main is blocked in ee_app_run). */
static int32_t producer(ee_plugin_ctx_t *ctx, void *user_data) {
    (void)user_data;
    const char *name = NULL;
    OK(ee_plugin_ctx_name(ctx, &name));
    CHECK(name != NULL && strcmp(name, "producer") == 0);
    CHECK_STATUS(ee_plugin_ctx_name(ctx, NULL), EE_NULL_POINTER);
    CHECK_STATUS(ee_plugin_ctx_publish(ctx, (const uint8_t *)"", 0), EE_INVALID_ARGUMENT);
    CHECK_STATUS(ee_plugin_ctx_publish(ctx, NULL, 4), EE_NULL_POINTER);
    CHECK_STATUS(ee_plugin_ctx_recv(ctx, 0, NULL), EE_NULL_POINTER);
    CHECK_STATUS(ee_plugin_ctx_set_error(ctx, NULL), EE_NULL_POINTER);
    CHECK_STATUS(ee_plugin_ctx_set_error(ctx, "\xff"), EE_INVALID_UTF8);
    /* It subscribes to nothing: a receive times out with no event. */
    ee_event_t *event = (ee_event_t *)(uintptr_t)1;
    OK(ee_plugin_ctx_recv(ctx, 0, &event));
    CHECK(event == NULL);
    for (int i = 0; i < PINGS; i++) {
        char text[32];
        int n = snprintf(text, sizeof text, "Ping%d", i);
        ee_status_t s = ee_plugin_ctx_publish(ctx, (const uint8_t *)text, (size_t)n);
        if (s != EE_OK) {
            return s;
        }
    }
    return EE_OK;
}

static int32_t consumer(ee_plugin_ctx_t *ctx, void *user_data) {
    consumer_state *state = (consumer_state *)user_data;
    const char *name = NULL;
    ee_plugin_ctx_name(ctx, &name);
    snprintf(state->name, sizeof state->name, "%s", name);
    state->in_order = 1;
    while (state->received < PINGS) {
        ee_event_t *event = NULL;
        ee_status_t s = ee_plugin_ctx_recv(ctx, 30000, &event);
        if (s != EE_OK) {
            return s;
        }
        if (event == NULL) {
            ee_plugin_ctx_set_error(ctx, "no ping within 30 s");
            return EE_DISCONNECTED;
        }
        const uint8_t *data = NULL;
        size_t len = 0;
        ee_event_data(event, &data, &len);
        ee_event_seq(event, &state->last_seq);
        char expected[32];
        int n = snprintf(expected, sizeof expected, "Ping%d", state->received);
        if ((size_t)n != len || memcmp(data, expected, len) != 0) {
            state->in_order = 0;
        }
        state->bytes += len;
        state->received++;
        ee_event_free(event);
    }
    return EE_OK;
}

static void test_run(void) {
    consumer_state state;
    memset(&state, 0, sizeof state);
    ee_app_t *app = NULL;
    OK(ee_app_new(0, 0, &app));
    ee_bytes_t ping = text_bytes("Ping");
    OK(ee_app_add_plugin(app, "producer", NULL, 0, producer, NULL));
    OK(ee_app_add_plugin(app, "consumer", &ping, 1, consumer, &state));
    OK(ee_app_set_high_water_mark(app, 10)); /* the producer waits for the consumer */
    ee_report_t *report = NULL;
    OK(ee_app_run(app, &report));
    CHECK(state.received == PINGS);
    CHECK(state.last_seq == PINGS);
    CHECK(state.in_order);
    CHECK(strcmp(state.name, "consumer") == 0);
    CHECK(report != NULL);
    if (report != NULL) {
        ee_report_summary_t summary;
        OK(ee_report_summary(report, &summary));
        CHECK(summary.plugin_count == 2);
        CHECK(summary.failed_count == 0);
        CHECK(summary.events_forwarded >= PINGS);
        CHECK(!summary.stop_requested);
        CHECK(summary.tcp_dropped == 0);
        ee_plugin_report_t p;
        OK(ee_report_plugin(report, 0, &p));
        CHECK(strcmp(p.name, "producer") == 0 && p.outcome == EE_OUTCOME_FINISHED);
        CHECK(p.kind == EE_PLUGIN_INTERNAL && !p.has_stats);
        OK(ee_report_plugin(report, 1, &p));
        CHECK(strcmp(p.name, "consumer") == 0 && p.outcome == EE_OUTCOME_FINISHED);
        CHECK_STATUS(ee_report_plugin(report, 2, &p), EE_INVALID_ARGUMENT);
        CHECK_STATUS(ee_report_plugin(report, 0, NULL), EE_NULL_POINTER);
        CHECK_STATUS(ee_report_summary(report, NULL), EE_NULL_POINTER);
        const char *text = NULL;
        OK(ee_report_text(report, &text));
        CHECK(text != NULL && strstr(text, "producer") != NULL && strstr(text, "finished"));
        CHECK_STATUS(ee_report_text(report, NULL), EE_NULL_POINTER);
        ee_report_free(report);
    }
    /* Run without asking for the report. */
    CHECK_STATUS(ee_app_run(app, NULL), EE_BAD_STATE);
    ee_app_free(app);

    memset(&state, 0, sizeof state);
    OK(ee_app_new(0, 0, &app));
    OK(ee_app_add_plugin(app, "producer", NULL, 0, producer, NULL));
    OK(ee_app_add_plugin(app, "consumer", &ping, 1, consumer, &state));
    OK(ee_app_run(app, NULL));
    CHECK(state.received == PINGS);
    ee_app_free(app);
}

/* ---- failures ---------------------------------------------------------------------------- */

static int32_t fails_with_message(ee_plugin_ctx_t *ctx, void *user_data) {
    (void)user_data;
    ee_plugin_ctx_set_error(ctx, "disk full");
    return EE_INVALID_ARGUMENT;
}

static int32_t fails_silently(ee_plugin_ctx_t *ctx, void *user_data) {
    (void)ctx;
    (void)user_data;
    return 12345; /* not even a status */
}

/* Waits for events that never come, until the engine stops it. */
typedef struct waiter_state {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int started;
    ee_status_t ended_with;
} waiter_state;

static void waiter_init(waiter_state *w) {
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->cond, NULL);
    w->started = 0;
    w->ended_with = EE_OK;
}

static void waiter_destroy(waiter_state *w) {
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->cond);
}

/* Waits (at most 10 s) until the waiter's callback runs. */
static int waiter_wait_started(waiter_state *w) {
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 10;
    pthread_mutex_lock(&w->lock);
    while (!w->started) {
        if (pthread_cond_timedwait(&w->cond, &w->lock, &deadline) != 0) {
            break;
        }
    }
    int started = w->started;
    pthread_mutex_unlock(&w->lock);
    return started;
}

static int32_t waiter(ee_plugin_ctx_t *ctx, void *user_data) {
    waiter_state *w = (waiter_state *)user_data;
    pthread_mutex_lock(&w->lock);
    w->started = 1;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
    for (;;) {
        ee_event_t *event = NULL;
        ee_status_t s = ee_plugin_ctx_recv(ctx, -1, &event);
        ee_event_free(event);
        if (s != EE_OK) {
            w->ended_with = s;
            return s;
        }
    }
}

static void test_failures(void) {
    waiter_state w;
    waiter_init(&w);
    ee_app_t *app = NULL;
    OK(ee_app_new(0, 0, &app));
    ee_bytes_t never = text_bytes("Never");
    OK(ee_app_add_plugin(app, "waiter", &never, 1, waiter, &w));
    OK(ee_app_add_plugin(app, "bad", NULL, 0, fails_with_message, NULL));
    OK(ee_app_add_plugin(app, "silent", NULL, 0, fails_silently, NULL));
    ee_report_t *report = NULL;
    CHECK_STATUS(ee_app_run(app, &report), EE_PLUGINS_FAILED);
    CHECK_ERROR_MENTIONS("2 plugin(s) failed");
    CHECK_ERROR_MENTIONS("disk full");
    CHECK(report != NULL);
    if (report != NULL) {
        ee_report_summary_t summary;
        OK(ee_report_summary(report, &summary));
        CHECK(summary.plugin_count == 3);
        CHECK(summary.failed_count == 2);
        ee_plugin_report_t p;
        OK(ee_report_plugin(report, 0, &p));
        /* The first failure stopped the waiter (or the run before it started). */
        CHECK(p.outcome == EE_OUTCOME_STOPPED || p.outcome == EE_OUTCOME_NOT_STARTED);
        OK(ee_report_plugin(report, 1, &p));
        CHECK(strcmp(p.name, "bad") == 0);
        CHECK(p.outcome == EE_OUTCOME_FAILED);
        CHECK(strstr(p.details, "disk full") != NULL);
        CHECK(strstr(p.details, "EE_INVALID_ARGUMENT") != NULL);
        OK(ee_report_plugin(report, 2, &p));
        CHECK(p.outcome == EE_OUTCOME_FAILED);
        CHECK(strstr(p.details, "EE_UNKNOWN_STATUS") != NULL);
        ee_report_free(report);
    }
    ee_app_free(app);
    if (w.started) {
        CHECK(w.ended_with == EE_STOPPED);
    }
    waiter_destroy(&w);

    /* stop_on_failure false: the others run to their end. */
    consumer_state state;
    memset(&state, 0, sizeof state);
    OK(ee_app_new(0, 0, &app));
    OK(ee_app_set_stop_on_failure(app, false));
    ee_bytes_t ping = text_bytes("Ping");
    OK(ee_app_add_plugin(app, "bad", NULL, 0, fails_with_message, NULL));
    OK(ee_app_add_plugin(app, "producer", NULL, 0, producer, NULL));
    OK(ee_app_add_plugin(app, "consumer", &ping, 1, consumer, &state));
    CHECK_STATUS(ee_app_run(app, NULL), EE_PLUGINS_FAILED);
    CHECK(state.received == PINGS);
    ee_app_free(app);
}

/* ---- stopping ---------------------------------------------------------------------------- */

static void *stopper(void *arg) {
    ee_running_stop((const ee_running_t *)arg);
    return NULL;
}

static void test_stop(void) {
    waiter_state w;
    waiter_init(&w);
    ee_app_t *app = NULL;
    OK(ee_app_new(0, 0, &app));
    ee_bytes_t never = text_bytes("Never");
    OK(ee_app_add_plugin(app, "waiter", &never, 1, waiter, &w));
    OK(ee_app_add_external_plugin(app, "ext", 0, &never, 1));
    ee_running_t *running = NULL;
    OK(ee_app_start(app, &running));
    CHECK(waiter_wait_started(&w));
    ee_plugin_stats_t stats;
    OK(ee_running_plugin_stats(running, "ext", &stats, NULL));
    CHECK(stats.delivered == 0 && stats.sessions == 0);

    /* Stopped from another thread (as a signal handler's thread would). */
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, stopper, running) == 0);
    pthread_join(thread, NULL);
    OK(ee_running_stop(running)); /* idempotent */
    ee_report_t *report = NULL;
    OK(ee_running_wait(running, &report));
    CHECK(w.ended_with == EE_STOPPED);
    CHECK(report != NULL);
    if (report != NULL) {
        ee_report_summary_t summary;
        OK(ee_report_summary(report, &summary));
        CHECK(summary.stop_requested);
        CHECK(summary.failed_count == 0);
        ee_plugin_report_t p;
        OK(ee_report_plugin(report, 0, &p));
        CHECK(strcmp(p.name, "waiter") == 0);
        CHECK(p.outcome == EE_OUTCOME_STOPPED);
        OK(ee_report_plugin(report, 1, &p));
        CHECK(strcmp(p.name, "ext") == 0);
        CHECK(p.kind == EE_PLUGIN_EXTERNAL);
        CHECK(p.outcome == EE_OUTCOME_STOPPED);
        CHECK(p.has_stats && p.stats.delivered == 0);
        ee_report_free(report);
    }
    ee_running_free(running);
    ee_app_free(app);
    waiter_destroy(&w);

    /* Freeing a run that was not waited for stops it and waits. */
    waiter_init(&w);
    OK(ee_app_new(0, 0, &app));
    OK(ee_app_add_plugin(app, "waiter", &never, 1, waiter, &w));
    running = NULL;
    OK(ee_app_start(app, &running));
    ee_app_free(app); /* the run goes on without the app handle */
    CHECK(waiter_wait_started(&w));
    ee_running_free(running);
    CHECK(w.ended_with == EE_STOPPED);
    waiter_destroy(&w);
}

/* ---- engine errors ----------------------------------------------------------------------- */

static void test_bind_conflict(void) {
    ee_app_t *first = NULL;
    ee_running_t *running = NULL;
    OK(ee_app_new(0, 0, &first));
    OK(ee_app_add_external_plugin(first, "a", 0, NULL, 0));
    OK(ee_app_start(first, &running));
    uint16_t taken = 0, bus = 0;
    OK(ee_running_external_port(running, "a", &taken));
    OK(ee_running_ports(running, &bus, NULL));

    ee_app_t *second = NULL;
    ee_running_t *other = (ee_running_t *)(uintptr_t)1;
    OK(ee_app_new(0, 0, &second));
    OK(ee_app_add_external_plugin(second, "b", taken, NULL, 0));
    CHECK_STATUS(ee_app_start(second, &other), EE_BIND);
    CHECK(other == NULL);
    char port_text[16];
    snprintf(port_text, sizeof port_text, "%u", (unsigned)taken);
    CHECK_ERROR_MENTIONS(port_text);
    ee_app_free(second);

    OK(ee_app_new(bus, 0, &second));
    CHECK_STATUS(ee_app_run(second, NULL), EE_BIND);
    CHECK_ERROR_MENTIONS("publish");
    ee_app_free(second);

    OK(ee_running_stop(running));
    OK(ee_running_wait(running, NULL));
    ee_running_free(running);
    ee_app_free(first);
}

static void test_not_connected(void) {
    ee_app_t *app = NULL;
    OK(ee_app_new(0, 0, &app));
    OK(ee_app_add_external_plugin(app, "lonely", 0, NULL, 0));
    OK(ee_app_set_wait_for_external(app, 200));
    ee_report_t *report = (ee_report_t *)(uintptr_t)1;
    CHECK_STATUS(ee_app_run(app, &report), EE_NOT_CONNECTED);
    CHECK_ERROR_MENTIONS("lonely");
    CHECK(report == NULL);
    ee_app_free(app);
}

int main(void) {
    test_run();
    test_failures();
    test_stop();
    test_bind_conflict();
    test_not_connected();
    return finish("test_host");
}
