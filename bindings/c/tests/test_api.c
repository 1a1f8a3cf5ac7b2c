/* Every function's argument checks and the error machinery, without an engine: NULL pointers,
 * invalid arguments, invalid UTF-8, caught panics, status names, the last error, and handles
 * used in the wrong state. Compiled as C99 and as C++17. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

static int32_t never_called(ee_plugin_ctx_t *ctx, void *user_data) {
    (void)ctx;
    (void)user_data;
    return EE_OK;
}

static void test_status_and_errors(void) {
    CHECK(strcmp(ee_status_str(EE_OK), "EE_OK") == 0);
    CHECK(strcmp(ee_status_str(EE_DISCONNECTED), "EE_DISCONNECTED") == 0);
    CHECK(strcmp(ee_status_str(EE_PROTOCOL), "EE_PROTOCOL") == 0);
    CHECK(strcmp(ee_status_str(EE_STOPPED), "EE_STOPPED") == 0);
    CHECK(strcmp(ee_status_str(EE_PANIC), "EE_PANIC") == 0);
    CHECK(strcmp(ee_status_str(12345), "EE_UNKNOWN_STATUS") == 0);
    CHECK(strcmp(ee_status_str(-1), "EE_UNKNOWN_STATUS") == 0);
    /* The client's error kinds keep the numbers every SDK shares. */
    CHECK(EE_INVALID_ARGUMENT == 1 && EE_DISCONNECTED == 2 && EE_PROTOCOL == 3 &&
          EE_INTERRUPTED == 4 && EE_CLOSED == 5 && EE_UNEXPECTED_REPLY == 6 && EE_ZMQ == 7);
    CHECK(strcmp(ee_version(), "0.3.0") == 0);

    /* A panic inside the library is caught, reported, and the library goes on working. */
    CHECK_STATUS(ee_debug_panic("kaboom 42"), EE_PANIC);
    CHECK_ERROR_MENTIONS("kaboom 42");
    CHECK_STATUS(ee_debug_panic(NULL), EE_PANIC);
    CHECK_ERROR_MENTIONS("ee_debug_panic");
    CHECK(ee_last_error_wire_code() == EE_WIRE_NONE);

    /* A success clears the last error. */
    ee_client_options_t options;
    OK(ee_client_options_default(&options));
    CHECK(strcmp(ee_last_error(), "") == 0);
    CHECK(ee_last_error() != NULL);
}

static void test_options(void) {
    ee_client_options_t o;
    memset(&o, 0xab, sizeof o);
    OK(ee_client_options_default(&o));
    CHECK(o.reply_timeout_ms == 5000);
    CHECK(o.retries == 3);
    CHECK(o.reconnect_backoff_ms == 100);
    CHECK(o.max_backoff_ms == 2000);
    CHECK(o.publish_timeout_ms == 30000);
    CHECK(o.poll_slice_ms == 100);
    CHECK(o.long_poll_ms == 1000);
    CHECK(o.max_batch_bytes == 67108864);
    CHECK(o.token == NULL && o.token_file == NULL);
    CHECK(o.curve_server_key == NULL && o.curve_secret_key == NULL && o.curve_secret_key_file == NULL);
    CHECK_STATUS(ee_client_options_default(NULL), EE_NULL_POINTER);
    CHECK_ERROR_MENTIONS("options");
}

/* A key pair of docs/security.md's examples (Z85). */
#define ENGINE_PUBLIC "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
#define PLUGIN_SECRET "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs"

static void test_curve_options(void) {
    ee_client_t *c = (ee_client_t *)(uintptr_t)1;
    ee_client_options_t o;
    OK(ee_client_options_default(&o));
    o.curve_server_key = "short";
    o.curve_secret_key = PLUGIN_SECRET;
    CHECK_STATUS(ee_client_connect_port("127.0.0.1", 1, &o, &c), EE_INVALID_ARGUMENT);
    CHECK(strcmp(ee_status_str(EE_INVALID_ARGUMENT), "EE_INVALID_ARGUMENT") == 0);
    CHECK_ERROR_MENTIONS("40 characters");
    CHECK(c == NULL);
    o.curve_server_key = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf\x7f"; /* not Z85 */
    CHECK_STATUS(ee_client_connect_port("127.0.0.1", 1, &o, &c), EE_INVALID_ARGUMENT);
    CHECK_ERROR_MENTIONS("Z85");
    o.curve_server_key = ENGINE_PUBLIC;
    o.curve_secret_key = NULL;
    CHECK_STATUS(ee_client_connect_port("127.0.0.1", 1, &o, &c), EE_INVALID_ARGUMENT);
    CHECK_ERROR_MENTIONS("both the engine's public key");
    o.curve_secret_key = PLUGIN_SECRET;
    o.curve_secret_key_file = "/nonexistent/plugin.key";
    CHECK_STATUS(ee_client_connect_port("127.0.0.1", 1, &o, &c), EE_INVALID_ARGUMENT);
    CHECK_ERROR_MENTIONS("not both");
    CHECK(strstr(ee_last_error(), PLUGIN_SECRET) == NULL);
    o.curve_secret_key = NULL;
    CHECK_STATUS(ee_client_connect_port("127.0.0.1", 1, &o, &c), EE_INVALID_ARGUMENT);
    CHECK_ERROR_MENTIONS("could not read the plugin secret key file");
    o.curve_secret_key_file = NULL;
    o.curve_secret_key = "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%c\xff";
    CHECK_STATUS(ee_client_connect_port("127.0.0.1", 1, &o, &c), EE_INVALID_UTF8);
    CHECK_ERROR_MENTIONS("curve_secret_key");
    /* Good keys: the default build's libzmq has no CURVE, a clear error; a CURVE build gets a
     * client, and refuses a token with the keys. */
    o.curve_secret_key = PLUGIN_SECRET;
    ee_status_t status = ee_client_connect_port("127.0.0.1", 1, &o, &c);
    if (status == EE_OK) {
        CHECK(c != NULL);
        ee_client_free(c);
        c = NULL;
        o.token = "0123456789abcdef0123";
        CHECK_STATUS(ee_client_connect_port("127.0.0.1", 1, &o, &c), EE_INVALID_ARGUMENT);
        CHECK_ERROR_MENTIONS("not both");
    } else {
        CHECK_STATUS(status, EE_INVALID_ARGUMENT);
        CHECK_ERROR_MENTIONS("make build-curve");
        /* With a token too, the missing CURVE is what the core reports first. */
        o.token = "0123456789abcdef0123";
        CHECK_STATUS(ee_client_connect_port("127.0.0.1", 1, &o, &c), EE_INVALID_ARGUMENT);
        CHECK_ERROR_MENTIONS("make build-curve");
    }
    CHECK(c == NULL);
}

static void test_connect_errors(void) {
    ee_client_t *c = (ee_client_t *)(uintptr_t)1; /* must be set to NULL on failure */
    ee_client_options_t o;
    OK(ee_client_options_default(&o));

    CHECK_STATUS(ee_client_connect(NULL, NULL, &c), EE_NULL_POINTER);
    CHECK(c == NULL);
    CHECK_ERROR_MENTIONS("endpoint");
    CHECK_STATUS(ee_client_connect("tcp://127.0.0.1:1", NULL, NULL), EE_NULL_POINTER);
    CHECK_STATUS(ee_client_connect("127.0.0.1:6000", NULL, &c), EE_INVALID_ARGUMENT);
    CHECK_ERROR_MENTIONS("not an endpoint");
    CHECK_STATUS(ee_client_connect("tcp://127.0.0.1:\xff\xfe", NULL, &c), EE_INVALID_UTF8);
    CHECK(c == NULL);
    /* A transport ZeroMQ does not know. */
    CHECK_STATUS(ee_client_connect("bogus://somewhere", NULL, &c), EE_ZMQ);
    CHECK(c == NULL);
    o.poll_slice_ms = 0;
    CHECK_STATUS(ee_client_connect("tcp://127.0.0.1:1", &o, &c), EE_INVALID_ARGUMENT);
    CHECK_ERROR_MENTIONS("poll_slice");
    OK(ee_client_options_default(&o));
    o.long_poll_ms = 0;
    CHECK_STATUS(ee_client_connect_port("127.0.0.1", 1, &o, &c), EE_INVALID_ARGUMENT);
    OK(ee_client_options_default(&o));
    o.max_batch_bytes = 0;
    CHECK_STATUS(ee_client_connect_port("127.0.0.1", 1, &o, &c), EE_INVALID_ARGUMENT);
    CHECK_ERROR_MENTIONS("max_batch_bytes");
    OK(ee_client_options_default(&o));
    o.max_batch_bytes = 3145728;
    OK(ee_client_connect_port("127.0.0.1", 1, &o, &c));
    ee_client_free(c);
    c = NULL;
    /* Tokens (docs/security.md): checked before anything is sent, never shown in errors. */
    OK(ee_client_options_default(&o));
    o.token = "short";
    CHECK_STATUS(ee_client_connect_port("127.0.0.1", 1, &o, &c), EE_INVALID_ARGUMENT);
    CHECK_ERROR_MENTIONS("16 to 255 bytes");
    CHECK(strstr(ee_last_error(), "short") == NULL);
    o.token = "0123456789abcdef0123";
    o.token_file = "/nonexistent/token";
    CHECK_STATUS(ee_client_connect_port("127.0.0.1", 1, &o, &c), EE_INVALID_ARGUMENT);
    CHECK_ERROR_MENTIONS("not both");
    o.token = NULL;
    CHECK_STATUS(ee_client_connect_port("127.0.0.1", 1, &o, &c), EE_INVALID_ARGUMENT);
    CHECK_ERROR_MENTIONS("could not read the plugin token file");
    o.token = "0123456789abcdef0123";
    o.token_file = NULL;
    OK(ee_client_connect_port("127.0.0.1", 1, &o, &c));
    ee_client_free(c);
    c = NULL;

    /* CURVE keys (docs/security.md): the client core's checks and words. */
    test_curve_options();

    CHECK_STATUS(ee_client_connect_port(NULL, 1, NULL, &c), EE_NULL_POINTER);
    CHECK_STATUS(ee_client_connect_port("", 1, NULL, &c), EE_INVALID_ARGUMENT);
    CHECK_STATUS(ee_client_connect_port("\xc3\x28", 1, NULL, &c), EE_INVALID_UTF8);
    CHECK_STATUS(ee_client_connect_port("127.0.0.1", 1, NULL, NULL), EE_NULL_POINTER);
    CHECK(c == NULL);
}

/* Calls that fail before any request is sent (connecting is lazy: no engine is needed). */
static void test_client_without_engine(void) {
    ee_client_t *c = NULL;
    OK(ee_client_connect_port("::1", 9, NULL, &c));
    CHECK(c != NULL);
    const char *endpoint = NULL;
    OK(ee_client_endpoint(c, &endpoint));
    CHECK(endpoint != NULL && strcmp(endpoint, "tcp://[::1]:9") == 0);
    ee_client_free(c);

    c = NULL;
    OK(ee_client_connect("tcp://127.0.0.1:9", NULL, &c));
    OK(ee_client_endpoint(c, &endpoint));
    CHECK(strcmp(endpoint, "tcp://127.0.0.1:9") == 0);

    uint64_t seq = 99;
    OK(ee_client_last_seq(c, &seq));
    CHECK(seq == 0);
    /* ack with nothing received sends nothing. */
    uint64_t pending = 99;
    OK(ee_client_ack(c, &pending));
    CHECK(pending == 0);
    OK(ee_client_ack(c, NULL));

    CHECK_STATUS(ee_client_publish(c, (const uint8_t *)"", 0), EE_INVALID_ARGUMENT);
    CHECK_ERROR_MENTIONS("empty");
    CHECK_STATUS(ee_client_publish(c, NULL, 0), EE_INVALID_ARGUMENT);
    CHECK_STATUS(ee_client_publish(c, NULL, 5), EE_NULL_POINTER);
    CHECK_STATUS(ee_client_publish(NULL, (const uint8_t *)"TypeA", 5), EE_NULL_POINTER);

    size_t published = 77;
    OK(ee_client_publish_batch(c, NULL, 0, &published));
    CHECK(published == 0);
    ee_bytes_t events[2];
    events[0] = text_bytes("TypeAone");
    events[1] = text_bytes("");
    published = 77;
    CHECK_STATUS(ee_client_publish_batch(c, events, 2, &published), EE_INVALID_ARGUMENT);
    CHECK(published == 0);
    CHECK_ERROR_MENTIONS("event 2");
    events[1].data = NULL;
    events[1].len = 3;
    CHECK_STATUS(ee_client_publish_batch(c, events, 2, NULL), EE_NULL_POINTER);
    CHECK_ERROR_MENTIONS("events[1]");
    CHECK_STATUS(ee_client_publish_batch(c, NULL, 2, NULL), EE_NULL_POINTER);
    CHECK_STATUS(ee_client_publish_batch(NULL, events, 1, NULL), EE_NULL_POINTER);
    /* More than the protocol's largest batch is split, not refused (test_client.c publishes
     * such a batch to an engine). */
    size_t big = 65537;
    ee_bytes_t *many = (ee_bytes_t *)calloc(big, sizeof(ee_bytes_t));
    CHECK(many != NULL);
    if (many != NULL) {
        for (size_t i = 0; i < big; i++) {
            many[i] = text_bytes("TypeA");
        }
        ee_client_options_t quick;
        OK(ee_client_options_default(&quick));
        quick.reply_timeout_ms = 20;
        quick.publish_timeout_ms = 0;
        ee_client_t *nobody = NULL;
        OK(ee_client_connect("tcp://127.0.0.1:9", &quick, &nobody));
        /* No engine: the first request of 65536 goes out and gets no answer. */
        published = 77;
        CHECK_STATUS(ee_client_publish_batch(nobody, many, big, &published), EE_DISCONNECTED);
        CHECK(published == 0);
        ee_client_free(nobody);
        free(many);
    }

    ee_batch_t *batch = (ee_batch_t *)(uintptr_t)1;
    CHECK_STATUS(ee_client_next_batch(c, 0, 10, &batch), EE_INVALID_ARGUMENT);
    CHECK(batch == NULL);
    CHECK_STATUS(ee_client_next_batch(c, 65537, 10, &batch), EE_INVALID_ARGUMENT);
    CHECK_STATUS(ee_client_next_batch(c, 1, 10, NULL), EE_NULL_POINTER);
    CHECK_STATUS(ee_client_next_batch(NULL, 1, 10, &batch), EE_NULL_POINTER);
    ee_event_t *event = (ee_event_t *)(uintptr_t)1;
    CHECK_STATUS(ee_client_next(NULL, 10, &event), EE_NULL_POINTER);
    CHECK(event == NULL);
    CHECK_STATUS(ee_client_next(c, 10, NULL), EE_NULL_POINTER);

    /* Cancel tokens. */
    ee_cancel_t *token = NULL;
    OK(ee_client_cancel_token(c, &token));
    bool cancelled = true;
    OK(ee_cancel_is_cancelled(token, &cancelled));
    CHECK(!cancelled);
    OK(ee_cancel_cancel(token));
    OK(ee_cancel_is_cancelled(token, &cancelled));
    CHECK(cancelled);
    /* A cancelled client's blocking call returns at once. */
    CHECK_STATUS(ee_client_next(c, -1, &event), EE_INTERRUPTED);
    CHECK(event == NULL);
    CHECK_STATUS(ee_client_info(c, NULL), EE_NULL_POINTER);
    OK(ee_cancel_reset(token));
    OK(ee_cancel_is_cancelled(token, &cancelled));
    CHECK(!cancelled);
    CHECK_STATUS(ee_cancel_is_cancelled(token, NULL), EE_NULL_POINTER);
    CHECK_STATUS(ee_cancel_cancel(NULL), EE_NULL_POINTER);
    CHECK_STATUS(ee_cancel_reset(NULL), EE_NULL_POINTER);
    CHECK_STATUS(ee_cancel_is_cancelled(NULL, &cancelled), EE_NULL_POINTER);
    ee_cancel_free(token);
    CHECK_STATUS(ee_client_cancel_token(c, NULL), EE_NULL_POINTER);
    token = (ee_cancel_t *)(uintptr_t)1;
    CHECK_STATUS(ee_client_cancel_token(NULL, &token), EE_NULL_POINTER);
    CHECK(token == NULL);

    /* NULL handles and out-parameters everywhere else. */
    ee_plugin_stats_t stats;
    ee_info_t *info = (ee_info_t *)(uintptr_t)1;
    CHECK_STATUS(ee_client_info(NULL, &info), EE_NULL_POINTER);
    CHECK(info == NULL);
    CHECK_STATUS(ee_client_stats(NULL, &stats), EE_NULL_POINTER);
    CHECK_STATUS(ee_client_stats(c, NULL), EE_NULL_POINTER);
    CHECK_STATUS(ee_client_ack(NULL, NULL), EE_NULL_POINTER);
    CHECK_STATUS(ee_client_last_seq(NULL, &seq), EE_NULL_POINTER);
    CHECK_STATUS(ee_client_last_seq(c, NULL), EE_NULL_POINTER);
    CHECK_STATUS(ee_client_quit(NULL), EE_NULL_POINTER);
    CHECK_STATUS(ee_client_endpoint(NULL, &endpoint), EE_NULL_POINTER);
    CHECK_STATUS(ee_client_endpoint(c, NULL), EE_NULL_POINTER);

    ee_client_free(c);
    ee_cancel_free(NULL);
    ee_client_free(NULL);
}

/* The accessors of events, batches, infos and reports with NULL handles. */
static void test_null_handles(void) {
    const uint8_t *data = NULL;
    size_t len = 0;
    uint64_t u64 = 0;
    uint32_t u32 = 0;
    bool flag = false;
    const char *text = NULL;
    const ee_event_t *borrowed = NULL;

    CHECK_STATUS(ee_event_data(NULL, &data, &len), EE_NULL_POINTER);
    CHECK_STATUS(ee_event_seq(NULL, &u64), EE_NULL_POINTER);
    CHECK_STATUS(ee_event_redelivered(NULL, &flag), EE_NULL_POINTER);
    CHECK_STATUS(ee_batch_len(NULL, &len), EE_NULL_POINTER);
    CHECK_STATUS(ee_batch_get(NULL, 0, &borrowed), EE_NULL_POINTER);
    ee_event_free(NULL);
    ee_batch_free(NULL);

    CHECK_STATUS(ee_info_name(NULL, &text), EE_NULL_POINTER);
    CHECK_STATUS(ee_info_id(NULL, &text), EE_NULL_POINTER);
    CHECK_STATUS(ee_info_engine(NULL, &text), EE_NULL_POINTER);
    CHECK_STATUS(ee_info_protocol(NULL, &u32, NULL, NULL), EE_NULL_POINTER);
    CHECK_STATUS(ee_info_limits(NULL, &u32, &u64), EE_NULL_POINTER);
    CHECK_STATUS(ee_info_subscription_count(NULL, &len), EE_NULL_POINTER);
    CHECK_STATUS(ee_info_subscription(NULL, 0, &data, &len), EE_NULL_POINTER);
    ee_info_free(NULL);

    ee_report_summary_t summary;
    ee_plugin_report_t plugin;
    CHECK_STATUS(ee_report_summary(NULL, &summary), EE_NULL_POINTER);
    CHECK_STATUS(ee_report_plugin(NULL, 0, &plugin), EE_NULL_POINTER);
    CHECK_STATUS(ee_report_text(NULL, &text), EE_NULL_POINTER);
    ee_report_free(NULL);

    uint16_t port = 0;
    ee_plugin_stats_t stats;
    CHECK_STATUS(ee_running_ports(NULL, &port, &port), EE_NULL_POINTER);
    CHECK_STATUS(ee_running_external_port(NULL, "x", &port), EE_NULL_POINTER);
    CHECK_STATUS(ee_running_plugin_stats(NULL, "x", &stats, NULL), EE_NULL_POINTER);
    CHECK_STATUS(ee_running_stop(NULL), EE_NULL_POINTER);
    ee_report_t *report = (ee_report_t *)(uintptr_t)1;
    CHECK_STATUS(ee_running_wait(NULL, &report), EE_NULL_POINTER);
    CHECK(report == NULL);
    ee_running_free(NULL);

    ee_event_t *event = (ee_event_t *)(uintptr_t)1;
    CHECK_STATUS(ee_plugin_ctx_publish(NULL, (const uint8_t *)"TypeA", 5), EE_NULL_POINTER);
    CHECK_STATUS(ee_plugin_ctx_recv(NULL, 0, &event), EE_NULL_POINTER);
    CHECK(event == NULL);
    CHECK_STATUS(ee_plugin_ctx_name(NULL, &text), EE_NULL_POINTER);
    CHECK_STATUS(ee_plugin_ctx_set_error(NULL, "x"), EE_NULL_POINTER);
}

static void test_app_arguments(void) {
    ee_app_t *app = NULL;
    CHECK_STATUS(ee_app_new(0, 0, NULL), EE_NULL_POINTER);
    OK(ee_app_new(0, 0, &app));
    CHECK(app != NULL);

    ee_bytes_t subs[2];
    subs[0] = text_bytes("TypeA");
    subs[1].data = NULL;
    subs[1].len = 0; /* an empty filter: every event */
    OK(ee_app_add_external_plugin(app, "ext", 0, subs, 2));
    OK(ee_app_add_external_plugin(app, "none", 0, NULL, 0));
    CHECK_STATUS(ee_app_add_external_plugin(app, "", 0, subs, 1), EE_INVALID_ARGUMENT);
    CHECK_ERROR_MENTIONS("name");
    CHECK_STATUS(ee_app_add_external_plugin(app, NULL, 0, subs, 1), EE_NULL_POINTER);
    CHECK_STATUS(ee_app_add_external_plugin(app, "bad\xff", 0, subs, 1), EE_INVALID_UTF8);
    CHECK_STATUS(ee_app_add_external_plugin(app, "ext2", 0, NULL, 1), EE_NULL_POINTER);
    subs[1].len = 4;
    CHECK_STATUS(ee_app_add_external_plugin(app, "ext2", 0, subs, 2), EE_NULL_POINTER);
    CHECK_ERROR_MENTIONS("subscriptions[1]");
    CHECK_STATUS(ee_app_add_external_plugin(NULL, "ext2", 0, subs, 1), EE_NULL_POINTER);

    OK(ee_app_add_plugin(app, "cb", subs, 1, never_called, NULL));
    CHECK_STATUS(ee_app_add_plugin(app, "cb2", subs, 1, NULL, NULL), EE_NULL_POINTER);
    CHECK_ERROR_MENTIONS("start");
    CHECK_STATUS(ee_app_add_plugin(app, "", subs, 1, never_called, NULL), EE_INVALID_ARGUMENT);
    CHECK_STATUS(ee_app_add_plugin(app, NULL, subs, 1, never_called, NULL), EE_NULL_POINTER);
    CHECK_STATUS(ee_app_add_plugin(NULL, "cb2", subs, 1, never_called, NULL), EE_NULL_POINTER);

    OK(ee_app_set_bind_address(app, "127.0.0.1"));
    CHECK_STATUS(ee_app_set_bind_address(app, NULL), EE_NULL_POINTER);
    CHECK_STATUS(ee_app_set_bind_address(NULL, "127.0.0.1"), EE_NULL_POINTER);
    OK(ee_app_set_high_water_mark(app, 500));
    OK(ee_app_set_wait_for_external(app, -1));
    OK(ee_app_set_setup_timeout(app, 5000));
    OK(ee_app_set_stop_on_failure(app, true));
    OK(ee_app_set_max_pending(app, 10));
    CHECK_STATUS(ee_app_set_high_water_mark(NULL, 1), EE_NULL_POINTER);
    CHECK_STATUS(ee_app_set_wait_for_external(NULL, 1), EE_NULL_POINTER);
    CHECK_STATUS(ee_app_set_setup_timeout(NULL, 1), EE_NULL_POINTER);
    CHECK_STATUS(ee_app_set_stop_on_failure(NULL, true), EE_NULL_POINTER);
    CHECK_STATUS(ee_app_set_max_pending(NULL, 1), EE_NULL_POINTER);
    CHECK_STATUS(ee_app_run(NULL, NULL), EE_NULL_POINTER);
    CHECK_STATUS(ee_app_start(NULL, NULL), EE_NULL_POINTER);
    ee_running_t *running = (ee_running_t *)(uintptr_t)1;
    CHECK_STATUS(ee_app_start(NULL, &running), EE_NULL_POINTER);
    CHECK(running == NULL);
    ee_app_free(app); /* never started: nothing runs */
    ee_app_free(NULL);
}

/* Invalid settings are refused when the app starts, naming the setting. */
static void test_config_errors(void) {
    ee_app_t *app = NULL;
    ee_running_t *running = NULL;
    ee_report_t *report = (ee_report_t *)(uintptr_t)1;

    OK(ee_app_new(0, 0, &app));
    OK(ee_app_set_high_water_mark(app, 0));
    CHECK_STATUS(ee_app_run(app, &report), EE_CONFIG);
    CHECK_ERROR_MENTIONS("high_water_mark");
    CHECK(report == NULL);
    /* The app was used up by the attempt. */
    CHECK_STATUS(ee_app_run(app, NULL), EE_BAD_STATE);
    CHECK_STATUS(ee_app_set_high_water_mark(app, 10), EE_BAD_STATE);
    CHECK_STATUS(ee_app_add_external_plugin(app, "x", 0, NULL, 0), EE_BAD_STATE);
    CHECK_STATUS(ee_app_add_plugin(app, "x", NULL, 0, never_called, NULL), EE_BAD_STATE);
    CHECK_STATUS(ee_app_set_max_pending(app, 1), EE_BAD_STATE);
    CHECK_STATUS(ee_app_set_wait_for_external(app, 1), EE_BAD_STATE);
    ee_app_free(app);

    OK(ee_app_new(70000, 0, &app));
    CHECK_STATUS(ee_app_start(app, &running), EE_CONFIG);
    CHECK_ERROR_MENTIONS("publish_port");
    CHECK(running == NULL);
    CHECK_STATUS(ee_app_start(app, &running), EE_BAD_STATE);
    ee_app_free(app);

    OK(ee_app_new(0, 0, &app));
    OK(ee_app_set_bind_address(app, "not an address"));
    CHECK_STATUS(ee_app_start(app, &running), EE_CONFIG);
    CHECK_ERROR_MENTIONS("bind_address");
    ee_app_free(app);

    OK(ee_app_new(0, 0, &app));
    OK(ee_app_set_max_pending(app, 0));
    CHECK_STATUS(ee_app_start(app, &running), EE_CONFIG);
    ee_app_free(app);

    OK(ee_app_new(0, 0, &app));
    OK(ee_app_set_setup_timeout(app, 0));
    CHECK_STATUS(ee_app_start(app, &running), EE_CONFIG);
    ee_app_free(app);

    OK(ee_app_new(0, 0, &app));
    OK(ee_app_add_external_plugin(app, "ext", -5, NULL, 0));
    CHECK_STATUS(ee_app_start(app, &running), EE_CONFIG);
    CHECK_ERROR_MENTIONS("ext");
    ee_app_free(app);
}

int main(void) {
    test_status_and_errors();
    test_options();
    test_connect_errors();
    test_client_without_engine();
    test_null_handles();
    test_app_arguments();
    test_config_errors();
    return finish("test_api");
}
