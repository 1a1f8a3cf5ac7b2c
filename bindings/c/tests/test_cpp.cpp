// The C++ layer (event_engine.hpp): ee::error carries the status and the library's message,
// the handles are move-only owners (valgrind, which runs this too, sees every free), and a round
// trip through a hosted engine: an ee::app with C++ internal plugins (one answers, one throws,
// one waits until the engine stops) and an ee::client as the external plugin. C++17 only.
#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "check.h"
#include "event_engine.hpp"

using namespace std::chrono_literals;

#define CHECK_THROWS_STATUS(statement, expected)                                          \
    do {                                                                                  \
        try {                                                                             \
            statement;                                                                    \
            checks_failed++;                                                              \
            fprintf(stderr, "%s:%d: %s did not throw\n", __FILE__, __LINE__, #statement); \
        } catch (const ee::error &e_) {                                                   \
            CHECK(e_.status() == (expected));                                             \
            if (e_.status() != (expected)) fprintf(stderr, "  it threw %s\n", e_.what());  \
        }                                                                                 \
    } while (0)

// Every owner is move-only, and moves cannot throw.
template <typename T>
constexpr bool move_only_v = !std::is_copy_constructible_v<T> && !std::is_copy_assignable_v<T> &&
                             std::is_nothrow_move_constructible_v<T> &&
                             std::is_nothrow_move_assignable_v<T>;
static_assert(move_only_v<ee::client>);
static_assert(move_only_v<ee::cancel_token>);
static_assert(move_only_v<ee::event>);
static_assert(move_only_v<ee::batch>);
static_assert(move_only_v<ee::info>);
static_assert(move_only_v<ee::report>);
static_assert(move_only_v<ee::running>);
static_assert(move_only_v<ee::app>);
static_assert(std::is_base_of_v<std::runtime_error, ee::error>);

static void errors() {
    // An argument error: the status, the call, and the library's message.
    try {
        ee::client::open("tcp://127.0.0.1:1", "127.0.0.1", EE_NO_PORT, nullptr);
        CHECK(false);
    } catch (const ee::error &e) {
        CHECK(e.status() == EE_INVALID_ARGUMENT);
        CHECK(std::string(e.status_name()) == "EE_INVALID_ARGUMENT");
        CHECK(e.context() == "connect");
        CHECK(!e.message().empty());
        CHECK(e.wire_code() == EE_WIRE_NONE);
        CHECK(std::string(e.what()) == "connect: EE_INVALID_ARGUMENT: " + e.message());
    }
    // The message is copied when the call fails: later calls do not change it.
    try {
        ee::detail::check(ee_debug_panic("a deliberate panic"), "debug_panic");
        CHECK(false);
    } catch (const std::runtime_error &e) {  // catchable as the standard base
        const ee::error *err = dynamic_cast<const ee::error *>(&e);
        CHECK(err != nullptr);
        CHECK(ee_client_options_default(nullptr) == EE_NULL_POINTER);  // a new last error
        CHECK(err && err->status() == EE_PANIC);
        CHECK(err && err->message().find("a deliberate panic") != std::string::npos);
    }
    CHECK_THROWS_STATUS(ee::client::connect("no-such-transport://x"), EE_ZMQ);
    CHECK_THROWS_STATUS(ee::app().high_water_mark(0).start(), EE_CONFIG);
    CHECK(std::string(ee::status_name(EE_CLOSED)) == "EE_CLOSED");
    CHECK(std::string(ee::version()) == ee_version());
}

static void moves() {
    ee::client a = ee::client::connect("tcp://127.0.0.1:1");
    ee_client_t *raw = a.get();
    CHECK(raw != nullptr && a);
    ee::client b = std::move(a);  // the handle moves; a holds nothing
    CHECK(!a && a.get() == nullptr);
    CHECK(b.get() == raw);
    ee::client c = ee::client::connect("127.0.0.1", 1);
    c = std::move(b);  // c's own client is freed here (valgrind checks), b's moves in
    CHECK(c.get() == raw && !b);
    CHECK(c.endpoint() == "tcp://127.0.0.1:1");
    ee::cancel_token token = c.cancel_token();
    ee::cancel_token other = std::move(token);
    CHECK(!token && other);
    // A cancelled client's blocking call throws EE_INTERRUPTED, with no engine at all.
    other.cancel();
    CHECK(other.cancelled());
    CHECK_THROWS_STATUS(c.next(ee::forever), EE_INTERRUPTED);
    other.reset();
    CHECK(!other.cancelled());
    ee::client_options options;
    CHECK(options.reply_timeout_ms == 5000 && options.retries == 3);
    ee::client opened = ee::client::open(nullptr, nullptr, 1, &options);
    CHECK(opened.endpoint() == "tcp://127.0.0.1:1");
}

// What the internal plugins did, read after the run (running::wait is a join).
struct pong_state {
    std::vector<std::string> seen;
    std::atomic<bool> stopped{false};
};

static void round_trip() {
    const int pings = 3;
    pong_state state;
    ee::app app;
    app.stop_on_failure(false)
        .setup_timeout(10000ms)
        .add_external_plugin("cpp", 0, {"Pong"})
        .add_plugin("ponger", {"Ping"},
                    [&state](ee::plugin_context &ctx) {
                        ctx.publish("PongReady");  // subscriptions are in place: say so
                        while (static_cast<int>(state.seen.size()) < pings) {
                            std::optional<ee::event> ping = ctx.recv(30000ms);
                            if (!ping) throw std::runtime_error("no ping within 30 s");
                            state.seen.emplace_back(ping->data());
                            ctx.publish("Pong" + std::string(ping->data().substr(4)));
                        }
                    })
        .add_plugin("thrower", {"Never"},
                    [](ee::plugin_context &ctx) {
                        throw std::runtime_error(std::string(ctx.name()) + " fails on purpose");
                    })
        .add_plugin("waiter", {"Never"}, [&state](ee::plugin_context &ctx) {
            try {
                ctx.recv(ee::forever);
            } catch (const ee::error &e) {
                state.stopped = e.status() == EE_STOPPED;
                throw;  // EE_STOPPED: reported as stopped, not failed
            }
        });
    ee::running running = app.start();
    ee::app gone = std::move(app);  // the run does not depend on the app object

    ee::client client = ee::client::connect("127.0.0.1", running.external_port("cpp"));
    CHECK_THROWS_STATUS(running.external_port("nobody"), EE_NOT_FOUND);
    ee::info info = client.info();
    CHECK(info.name() == "cpp");
    CHECK(info.subscriptions() == std::vector<std::string>{"Pong"});
    CHECK(info.protocol() >= 2 && info.max_batch() == 65536 && info.max_pending() > 0);
    CHECK(!info.versions().empty() && !info.id().empty());
    CHECK(info.engine().find("event-engine") == 0);

    std::optional<ee::event> ready = client.next(30000ms);
    CHECK(ready && ready->data() == "PongReady" && ready->seq() == 1 && !ready->redelivered());
    CHECK(client.publish_batch(std::vector<std::string>{"Ping1", "Ping2"}) == 2);
    client.publish("Ping3");
    std::vector<std::string> pongs;
    while (pongs.size() < static_cast<size_t>(pings)) {
        ee::batch batch = client.next_batch(10, 30000ms);
        CHECK(!batch.empty());
        if (batch.empty()) break;
        for (ee::event_view pong : batch) pongs.emplace_back(pong.data());
        ee::batch moved = std::move(batch);  // the events belong to whoever holds the batch
        CHECK(!batch && moved.size() >= 1 && moved[0].data().substr(0, 4) == "Pong");
    }
    CHECK((pongs == std::vector<std::string>{"Pong1", "Pong2", "Pong3"}));
    CHECK(client.last_seq() == 4);
    CHECK(!client.next(50ms));  // a time-out is no event, not an error
    CHECK(client.ack() == 0);
    ee_plugin_stats_t stats = client.stats();
    CHECK(stats.delivered == 4 && stats.acked == 4 && stats.published == 3);
    uint64_t forwarded = 0;
    CHECK(running.plugin_stats("cpp", &forwarded).delivered == 4 && forwarded >= 7);
    CHECK(running.ports().first > 0 && running.ports().second > 0);
    client.quit();
    CHECK_THROWS_STATUS(client.next(0ms), EE_CLOSED);

    running.stop();
    ee::report report = running.wait();
    CHECK_THROWS_STATUS(running.wait(), EE_BAD_STATE);
    CHECK(report.status() == EE_PLUGINS_FAILED && !report.ok());
    CHECK(report.summary().plugin_count == 4 && report.summary().failed_count == 1);
    CHECK(report.summary().stop_requested);
    std::vector<ee_plugin_report_t> plugins = report.plugins();
    CHECK(plugins.size() == 4);
    if (plugins.size() == 4) {
        CHECK(std::string(plugins[0].name) == "ponger" && plugins[0].outcome == EE_OUTCOME_FINISHED);
        CHECK(std::string(plugins[1].name) == "thrower" && plugins[1].outcome == EE_OUTCOME_FAILED);
        CHECK(std::string(plugins[1].details).find("thrower fails on purpose") != std::string::npos);
        CHECK(std::string(plugins[2].name) == "waiter" && plugins[2].outcome == EE_OUTCOME_STOPPED);
        CHECK(std::string(plugins[3].name) == "cpp" && plugins[3].kind == EE_PLUGIN_EXTERNAL);
        CHECK(plugins[3].outcome == EE_OUTCOME_FINISHED && plugins[3].has_stats);
    }
    CHECK(report.text().find("thrower") != std::string_view::npos);
    CHECK((state.seen == std::vector<std::string>{"Ping1", "Ping2", "Ping3"}));
    CHECK(state.stopped);
}

// app::run: start and wait in one call, with a C callback plugin.
static int32_t finish_at_once(ee_plugin_ctx_t *, void *user_data) {
    *static_cast<bool *>(user_data) = true;
    return EE_OK;
}

static void run_to_the_end() {
    bool ran = false;
    ee::report report = ee::app(0, 0)
                            .bind_address("127.0.0.1")
                            .high_water_mark(100)
                            .max_pending(10)
                            .wait_for_external(-1ms)
                            .add_plugin("once", {""}, finish_at_once, &ran)
                            .run();
    CHECK(report.ok() && report.summary().plugin_count == 1 && ran);
}

int main() {
    try {
        errors();
        moves();
        round_trip();
        run_to_the_end();
    } catch (const std::exception &e) {
        fprintf(stderr, "unexpected exception: %s\n", e.what());
        checks_failed++;
    }
    return finish("test_cpp");
}
