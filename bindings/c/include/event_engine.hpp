/*
 * event_engine.hpp: a header-only C++17 layer over the C API of event-engine (event_engine.h).
 *
 * Written by hand (event_engine.h is generated); it adds no behaviour, only C++ ownership and
 * errors:
 *
 *   - Every handle of the C API is a move-only class whose destructor calls the matching
 *     ee_*_free: ee::client, ee::cancel_token, ee::event, ee::batch, ee::info, ee::app,
 *     ee::running, ee::report. A moved-from object holds nothing (`!obj`); `get()` gives the C handle.
 *   - A call that fails throws ee::error: its status() is the ee_status_t, its message() the
 *     library's ee_last_error() text (copied when the call failed), wire_code() the engine's
 *     reason for EE_PROTOCOL, and what() is "<call>: <STATUS>: <message>".
 *   - What is not an error is not an exception: a receive that times out gives an empty
 *     std::optional (or an empty batch), and a run whose plugins failed gives its report
 *     (report::status() is EE_PLUGINS_FAILED).
 *
 * Strings handed to the library are copied by it; views handed back (event bytes, names) belong
 * to the object they came from and live as long as it does. See docs/c.md ("C++").
 */

#ifndef EVENT_ENGINE_HPP
#define EVENT_ENGINE_HPP

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "event_engine.h"

namespace ee {

/// A failed call of the library: its status, the library's message and, for EE_PROTOCOL, the
/// engine's reason.
class error : public std::runtime_error {
public:
    /// `context` names the call (e.g. "next_batch"); `message` is the library's text.
    error(ee_status_t status, const std::string &context, const std::string &message,
          ee_wire_code_t wire_code = EE_WIRE_NONE)
        : std::runtime_error(context + ": " + ee_status_str(status) +
                             (message.empty() ? std::string() : ": " + message)),
          status_(status), wire_code_(wire_code), context_(context), message_(message) {}

    /// What the call returned (never EE_OK).
    ee_status_t status() const noexcept { return status_; }
    /// The status's name, e.g. "EE_DISCONNECTED".
    const char *status_name() const noexcept { return ee_status_str(status_); }
    /// The engine's reason when status() is EE_PROTOCOL; EE_WIRE_NONE otherwise.
    ee_wire_code_t wire_code() const noexcept { return wire_code_; }
    /// Which call failed, e.g. "connect" or "next_batch".
    const std::string &context() const noexcept { return context_; }
    /// The library's message (ee_last_error() right after the failure).
    const std::string &message() const noexcept { return message_; }

private:
    ee_status_t status_;
    ee_wire_code_t wire_code_;
    std::string context_;
    std::string message_;
};

namespace detail {

/// Throws ee::error for a failed status, with the thread's last error (read at once: it lasts
/// only until the next call).
inline void check(ee_status_t status, const char *context) {
    if (status != EE_OK) {
        std::string message = ee_last_error();
        ee_wire_code_t wire = ee_last_error_wire_code();
        throw error(status, context, message, wire);
    }
}

template <typename T, void (*Free)(T *)>
struct deleter {
    void operator()(T *handle) const noexcept { Free(handle); }
};

/// The owner of one C handle: move-only, freed by its destructor.
template <typename T, void (*Free)(T *)>
using owner = std::unique_ptr<T, deleter<T, Free>>;

inline ee_bytes_t bytes(std::string_view data) noexcept {
    return ee_bytes_t{reinterpret_cast<const uint8_t *>(data.data()), data.size()};
}

inline std::vector<ee_bytes_t> bytes_of(const std::vector<std::string> &filters) {
    std::vector<ee_bytes_t> out;
    out.reserve(filters.size());
    for (const std::string &f : filters) {
        out.push_back(bytes(f));
    }
    return out;
}

}  // namespace detail

/// A negative time-out: wait as long as it takes.
constexpr std::chrono::milliseconds forever{-1};

/// The library's version, e.g. "0.3.0".
inline const char *version() noexcept { return ee_version(); }

/// The name of a status, e.g. "EE_DISCONNECTED".
inline const char *status_name(ee_status_t status) noexcept { return ee_status_str(status); }

/// An event that belongs to something else (a batch): its bytes, sequence number and whether
/// it is a redelivery. Valid as long as its owner.
class event_view {
public:
    explicit event_view(const ee_event_t *event) noexcept : event_(event) {}

    /// The bytes, filter first (may contain NUL bytes; not NUL-terminated).
    std::string_view data() const {
        const uint8_t *data = nullptr;
        size_t len = 0;
        detail::check(ee_event_data(event_, &data, &len), "event_data");
        return std::string_view(reinterpret_cast<const char *>(data), len);
    }
    size_t size() const { return data().size(); }
    /// The event's sequence number (1, 2, ...; the same on every redelivery).
    uint64_t seq() const {
        uint64_t seq = 0;
        detail::check(ee_event_seq(event_, &seq), "event_seq");
        return seq;
    }
    /// Whether the engine delivered it before: processing must be idempotent.
    bool redelivered() const {
        bool redelivered = false;
        detail::check(ee_event_redelivered(event_, &redelivered), "event_redelivered");
        return redelivered;
    }
    const ee_event_t *get() const noexcept { return event_; }

private:
    const ee_event_t *event_;
};

/// An event received on its own (client::next, plugin_context::recv): owns its bytes.
class event {
public:
    /// Takes ownership of an event made by the library.
    explicit event(ee_event_t *event) noexcept : event_(event) {}

    std::string_view data() const { return view().data(); }
    size_t size() const { return view().size(); }
    uint64_t seq() const { return view().seq(); }
    bool redelivered() const { return view().redelivered(); }
    event_view view() const noexcept { return event_view(event_.get()); }
    ee_event_t *get() const noexcept { return event_.get(); }
    explicit operator bool() const noexcept { return event_ != nullptr; }

private:
    detail::owner<ee_event_t, ee_event_free> event_;
};

/// The events of one client::next_batch, in order; `for (ee::event_view e : batch)`.
class batch {
public:
    explicit batch(ee_batch_t *batch) noexcept : batch_(batch) {}

    size_t size() const {
        size_t len = 0;
        detail::check(ee_batch_len(batch_.get(), &len), "batch_len");
        return len;
    }
    bool empty() const { return size() == 0; }
    /// The event at `index` (EE_INVALID_ARGUMENT past the end); it belongs to the batch.
    event_view at(size_t index) const {
        const ee_event_t *event = nullptr;
        detail::check(ee_batch_get(batch_.get(), index, &event), "batch_get");
        return event_view(event);
    }
    event_view operator[](size_t index) const { return at(index); }

    class iterator {
    public:
        using iterator_category = std::input_iterator_tag;
        using value_type = event_view;
        using difference_type = std::ptrdiff_t;
        using pointer = void;
        using reference = event_view;

        iterator(const batch *owner, size_t index) noexcept : owner_(owner), index_(index) {}
        event_view operator*() const { return owner_->at(index_); }
        iterator &operator++() noexcept {
            ++index_;
            return *this;
        }
        iterator operator++(int) noexcept {
            iterator before = *this;
            ++index_;
            return before;
        }
        bool operator==(const iterator &other) const noexcept { return index_ == other.index_; }
        bool operator!=(const iterator &other) const noexcept { return index_ != other.index_; }

    private:
        const batch *owner_;
        size_t index_;
    };
    iterator begin() const noexcept { return iterator(this, 0); }
    iterator end() const { return iterator(this, size()); }

    ee_batch_t *get() const noexcept { return batch_.get(); }
    explicit operator bool() const noexcept { return batch_ != nullptr; }

private:
    detail::owner<ee_batch_t, ee_batch_free> batch_;
};

/// Who the plugin is to the engine and what the engine supports (the reply to `hello`).
class info {
public:
    explicit info(ee_info_t *info) noexcept : info_(info) {}

    std::string_view name() const { return text(ee_info_name, "info_name"); }
    std::string_view id() const { return text(ee_info_id, "info_id"); }
    /// The engine's name and version, e.g. "event-engine 0.3.0".
    std::string_view engine() const { return text(ee_info_engine, "info_engine"); }
    /// The highest protocol version the engine speaks.
    uint32_t protocol() const {
        uint32_t protocol = 0;
        detail::check(ee_info_protocol(info_.get(), &protocol, nullptr, nullptr), "info_protocol");
        return protocol;
    }
    /// Every protocol version the engine speaks.
    std::vector<uint32_t> versions() const {
        uint32_t protocol = 0;
        const uint32_t *versions = nullptr;
        size_t count = 0;
        detail::check(ee_info_protocol(info_.get(), &protocol, &versions, &count), "info_protocol");
        return std::vector<uint32_t>(versions, versions + count);
    }
    /// The largest batch client::next_batch may ask for.
    uint32_t max_batch() const {
        uint32_t max_batch = 0;
        detail::check(ee_info_limits(info_.get(), &max_batch, nullptr), "info_limits");
        return max_batch;
    }
    /// The most events the plugin may hold delivered but unacknowledged.
    uint64_t max_pending() const {
        uint64_t max_pending = 0;
        detail::check(ee_info_limits(info_.get(), nullptr, &max_pending), "info_limits");
        return max_pending;
    }
    /// The subscription filters (byte prefixes).
    std::vector<std::string> subscriptions() const {
        size_t count = 0;
        detail::check(ee_info_subscription_count(info_.get(), &count), "info_subscription_count");
        std::vector<std::string> out;
        for (size_t i = 0; i < count; i++) {
            const uint8_t *data = nullptr;
            size_t len = 0;
            detail::check(ee_info_subscription(info_.get(), i, &data, &len), "info_subscription");
            out.emplace_back(reinterpret_cast<const char *>(data), len);
        }
        return out;
    }
    ee_info_t *get() const noexcept { return info_.get(); }
    explicit operator bool() const noexcept { return info_ != nullptr; }

private:
    std::string_view text(ee_status_t (*accessor)(const ee_info_t *, const char **),
                          const char *context) const {
        const char *value = nullptr;
        detail::check(accessor(info_.get(), &value), context);
        return value;
    }

    detail::owner<ee_info_t, ee_info_free> info_;
};

/// Interrupts a client's blocking calls from another thread (they throw ee::error with
/// EE_INTERRUPTED) until reset(). May outlive its client.
class cancel_token {
public:
    explicit cancel_token(ee_cancel_t *token) noexcept : token_(token) {}

    /// Safe from any thread; it only sets a flag.
    void cancel() const { detail::check(ee_cancel_cancel(token_.get()), "cancel"); }
    void reset() const { detail::check(ee_cancel_reset(token_.get()), "cancel_reset"); }
    bool cancelled() const {
        bool cancelled = false;
        detail::check(ee_cancel_is_cancelled(token_.get(), &cancelled), "cancel_is_cancelled");
        return cancelled;
    }
    ee_cancel_t *get() const noexcept { return token_.get(); }
    explicit operator bool() const noexcept { return token_ != nullptr; }

private:
    detail::owner<ee_cancel_t, ee_cancel_free> token_;
};

/// A client's settings: the library's defaults, to change before connecting.
struct client_options : ee_client_options_t {
    client_options() : ee_client_options_t() {
        detail::check(ee_client_options_default(this), "client_options_default");
    }
};

/// A connection to one external plugin's port on an engine (the plugin side). Connecting is
/// lazy: a missing engine shows later as EE_DISCONNECTED. Freeing does not quit: call quit()
/// when the plugin is done.
class client {
public:
    /// Takes ownership of a client made by the library.
    explicit client(ee_client_t *client) noexcept : client_(client) {}

    /// The engine that launched this process (`event-engine run`): $EE_PLUGIN_ENDPOINT, else
    /// $EE_PLUGIN_PORT on 127.0.0.1.
    static client open() { return open(nullptr, nullptr, EE_NO_PORT, nullptr); }
    static client open(const ee_client_options_t &options) {
        return open(nullptr, nullptr, EE_NO_PORT, &options);
    }
    /// Every SDK's rule (ee_client_open): `endpoint`, else `port` on `host`, else the
    /// environment; NULL / EE_NO_PORT for what is not given.
    static client open(const char *endpoint, const char *host, int32_t port,
                       const ee_client_options_t *options) {
        ee_client_t *raw = nullptr;
        detail::check(ee_client_open(endpoint, host, port, options, &raw), "connect");
        return client(raw);
    }
    /// A ZeroMQ endpoint such as "tcp://127.0.0.1:6000".
    static client connect(const std::string &endpoint) { return connect(endpoint, nullptr); }
    static client connect(const std::string &endpoint, const ee_client_options_t &options) {
        return connect(endpoint, &options);
    }
    /// TCP `port` on `host` ("127.0.0.1", or an IPv6 address without brackets).
    static client connect(const std::string &host, uint16_t port) {
        return connect(host, port, nullptr);
    }
    static client connect(const std::string &host, uint16_t port,
                          const ee_client_options_t &options) {
        return connect(host, port, &options);
    }

    /// The endpoint it talks to.
    std::string endpoint() const {
        const char *endpoint = nullptr;
        detail::check(ee_client_endpoint(client_.get(), &endpoint), "endpoint");
        return endpoint;
    }
    /// Asks the engine who this plugin is (`hello`).
    ee::info info() const {
        ee_info_t *raw = nullptr;
        detail::check(ee_client_info(client_.get(), &raw), "info");
        return ee::info(raw);
    }
    /// This plugin's counters on the engine.
    ee_plugin_stats_t stats() const {
        ee_plugin_stats_t stats{};
        detail::check(ee_client_stats(client_.get(), &stats), "stats");
        return stats;
    }
    /// The next event, or nothing when none came within `timeout` (ee::forever: no limit).
    /// Receiving acknowledges every event received before.
    std::optional<event> next(std::chrono::milliseconds timeout = forever) const {
        ee_event_t *raw = nullptr;
        detail::check(ee_client_next(client_.get(), timeout.count(), &raw), "next");
        if (raw == nullptr) {
            return std::nullopt;
        }
        return event(raw);
    }
    /// Up to `max` events in one round trip, waiting at most `timeout` for the first; empty
    /// when none came in time.
    ee::batch next_batch(size_t max, std::chrono::milliseconds timeout = forever) const {
        ee_batch_t *raw = nullptr;
        detail::check(ee_client_next_batch(client_.get(), max, timeout.count(), &raw), "next_batch");
        return ee::batch(raw);
    }
    /// Publishes one event (filter first; empty is EE_INVALID_ARGUMENT). Waits while the bus
    /// is full, up to the publish time-out.
    void publish(std::string_view data) const {
        detail::check(ee_client_publish(client_.get(), reinterpret_cast<const uint8_t *>(data.data()),
                                        data.size()),
                      "publish");
    }
    /// Publishes every event of `events` (anything iterable whose items convert to
    /// std::string_view), in order, in as few round trips as the protocol allows. Returns how
    /// many were published. When a round trip fails it throws; `*published` (if not null) then
    /// still says how many the earlier round trips published.
    template <typename Events>
    size_t publish_batch(const Events &events, size_t *published = nullptr) const {
        std::vector<ee_bytes_t> out;
        for (const auto &e : events) {
            out.push_back(detail::bytes(std::string_view(e)));
        }
        return publish_batch(out.data(), out.size(), published);
    }
    size_t publish_batch(const ee_bytes_t *events, size_t count, size_t *published = nullptr) const {
        size_t done = 0;
        ee_status_t status = ee_client_publish_batch(client_.get(), events, count, &done);
        if (published != nullptr) {
            *published = done;
        }
        detail::check(status, "publish_batch");
        return done;
    }
    /// Acknowledges every event received so far; returns how many the engine still holds.
    uint64_t ack() const {
        uint64_t pending = 0;
        detail::check(ee_client_ack(client_.get(), &pending), "ack");
        return pending;
    }
    /// The sequence number of the last event received, 0 before the first.
    uint64_t last_seq() const {
        uint64_t seq = 0;
        detail::check(ee_client_last_seq(client_.get(), &seq), "last_seq");
        return seq;
    }
    /// Tells the engine this plugin is done; every later call but quit() throws EE_CLOSED.
    void quit() const { detail::check(ee_client_quit(client_.get()), "quit"); }
    /// A token that interrupts this client's blocking calls from another thread.
    ee::cancel_token cancel_token() const {
        ee_cancel_t *raw = nullptr;
        detail::check(ee_client_cancel_token(client_.get(), &raw), "cancel_token");
        return ee::cancel_token(raw);
    }

    ee_client_t *get() const noexcept { return client_.get(); }
    explicit operator bool() const noexcept { return client_ != nullptr; }

private:
    static client connect(const std::string &endpoint, const ee_client_options_t *options) {
        ee_client_t *raw = nullptr;
        detail::check(ee_client_connect(endpoint.c_str(), options, &raw), "connect");
        return client(raw);
    }
    static client connect(const std::string &host, uint16_t port,
                          const ee_client_options_t *options) {
        ee_client_t *raw = nullptr;
        detail::check(ee_client_connect_port(host.c_str(), port, options, &raw), "connect");
        return client(raw);
    }

    detail::owner<ee_client_t, ee_client_free> client_;
};

/// What an internal plugin works with, inside its callback only: receive, publish, its name.
class plugin_context {
public:
    explicit plugin_context(ee_plugin_ctx_t *ctx) noexcept : ctx_(ctx) {}

    /// The next event, or nothing within `timeout`; throws EE_STOPPED once the engine stops.
    std::optional<event> recv(std::chrono::milliseconds timeout = forever) const {
        ee_event_t *raw = nullptr;
        detail::check(ee_plugin_ctx_recv(ctx_, timeout.count(), &raw), "recv");
        if (raw == nullptr) {
            return std::nullopt;
        }
        return event(raw);
    }
    /// Publishes one event; waits while the bus is full; throws EE_STOPPED once it stops.
    void publish(std::string_view data) const {
        detail::check(ee_plugin_ctx_publish(ctx_, reinterpret_cast<const uint8_t *>(data.data()),
                                            data.size()),
                      "publish");
    }
    std::string_view name() const {
        const char *name = nullptr;
        detail::check(ee_plugin_ctx_name(ctx_, &name), "name");
        return name;
    }
    /// The details the report gives if the plugin then fails.
    void set_error(const std::string &message) const {
        detail::check(ee_plugin_ctx_set_error(ctx_, message.c_str()), "set_error");
    }
    ee_plugin_ctx_t *get() const noexcept { return ctx_; }

private:
    ee_plugin_ctx_t *ctx_;
};

/// What happened in a run: the run's status, totals, and each plugin's outcome.
class report {
public:
    /// Takes ownership of a report made by the library; `status` is what the run returned.
    report(ee_report_t *report, ee_status_t status) noexcept : report_(report), status_(status) {}

    /// EE_OK, EE_PLUGINS_FAILED (plugins() says which), or the engine's error.
    ee_status_t status() const noexcept { return status_; }
    bool ok() const noexcept { return status_ == EE_OK; }
    ee_report_summary_t summary() const {
        ee_report_summary_t summary{};
        detail::check(ee_report_summary(report_.get(), &summary), "report_summary");
        return summary;
    }
    /// Internal plugins first, then external ones, each in registration order. Its strings
    /// belong to the report.
    std::vector<ee_plugin_report_t> plugins() const {
        std::vector<ee_plugin_report_t> out(summary().plugin_count);
        for (size_t i = 0; i < out.size(); i++) {
            detail::check(ee_report_plugin(report_.get(), i, &out[i]), "report_plugin");
        }
        return out;
    }
    /// The report for humans, one line per plugin.
    std::string_view text() const {
        const char *text = nullptr;
        detail::check(ee_report_text(report_.get(), &text), "report_text");
        return text;
    }
    ee_report_t *get() const noexcept { return report_.get(); }
    explicit operator bool() const noexcept { return report_ != nullptr; }

private:
    detail::owner<ee_report_t, ee_report_free> report_;
    ee_status_t status_;
};

namespace detail {

/// The C++ callables of an app's internal plugins; shared by the app and its run, so that they
/// live until the run has ended.
using plugin_body = std::function<void(plugin_context &)>;
using plugin_bodies = std::vector<std::unique_ptr<plugin_body>>;

/// The ee_plugin_fn_t of a C++ callable: no exception crosses into the library. ee::error
/// returns its status (EE_STOPPED: the plugin is stopped, not failed); any other exception fails
/// the plugin with its what() as the report's details.
inline int32_t run_body(ee_plugin_ctx_t *ctx, void *user_data) noexcept {
    plugin_context context(ctx);
    try {
        (*static_cast<plugin_body *>(user_data))(context);
        return EE_OK;
    } catch (const error &e) {
        if (e.status() != EE_STOPPED) {
            ee_plugin_ctx_set_error(ctx, e.what());
        }
        return e.status();
    } catch (const std::exception &e) {
        ee_plugin_ctx_set_error(ctx, e.what());
    } catch (...) {
        ee_plugin_ctx_set_error(ctx, "an exception that is not a std::exception");
    }
    return EE_ENGINE;
}

}  // namespace detail

/// A started application: its ports, live counters, a stop switch and the wait for its end.
/// The destructor stops the run and waits for it if wait() was not called.
class running {
public:
    running(ee_running_t *running, std::shared_ptr<detail::plugin_bodies> bodies) noexcept
        : bodies_(std::move(bodies)), running_(running) {}

    /// The bus's bound TCP ports: {publish, subscribe}.
    std::pair<uint16_t, uint16_t> ports() const {
        uint16_t publish = 0, subscribe = 0;
        detail::check(ee_running_ports(running_.get(), &publish, &subscribe), "running_ports");
        return {publish, subscribe};
    }
    /// The bound port of the external plugin `name` (EE_NOT_FOUND if none has that name).
    uint16_t external_port(const std::string &name) const {
        uint16_t port = 0;
        detail::check(ee_running_external_port(running_.get(), name.c_str(), &port), "external_port");
        return port;
    }
    /// The live counters of the external plugin `name`; `*events_forwarded` (if not null)
    /// gets the bus's count so far.
    ee_plugin_stats_t plugin_stats(const std::string &name, uint64_t *events_forwarded = nullptr) const {
        ee_plugin_stats_t stats{};
        detail::check(ee_running_plugin_stats(running_.get(), name.c_str(), &stats, events_forwarded),
                      "plugin_stats");
        return stats;
    }
    /// Asks the application to stop; returns at once; safe from any thread.
    void stop() const { detail::check(ee_running_stop(running_.get()), "stop"); }
    /// Waits for the end of the run and returns its report (report::status() says whether
    /// plugins failed). Throws when the engine gave no report, and EE_BAD_STATE on a second wait.
    ee::report wait() const {
        ee_report_t *raw = nullptr;
        ee_status_t status = ee_running_wait(running_.get(), &raw);
        if (raw == nullptr) {
            detail::check(status == EE_OK ? EE_ENGINE : status, "wait");
        }
        return ee::report(raw, status);
    }

    ee_running_t *get() const noexcept { return running_.get(); }
    explicit operator bool() const noexcept { return running_ != nullptr; }

private:
    // Declared first, destroyed last: ee_running_free (which waits) runs before the callables go.
    std::shared_ptr<detail::plugin_bodies> bodies_;
    detail::owner<ee_running_t, ee_running_free> running_;
};

/// An application being declared: bus settings and plugins; then run() or start().
class app {
public:
    /// A bus on `publish_port` and `subscribe_port` of 127.0.0.1 (0: any free port).
    explicit app(int32_t publish_port = 0, int32_t subscribe_port = 0)
        : bodies_(std::make_shared<detail::plugin_bodies>()) {
        ee_app_t *raw = nullptr;
        detail::check(ee_app_new(publish_port, subscribe_port, &raw), "app_new");
        app_.reset(raw);
    }

    app &bind_address(const std::string &address) {
        detail::check(ee_app_set_bind_address(app_.get(), address.c_str()), "set_bind_address");
        return *this;
    }
    app &high_water_mark(int32_t events) {
        detail::check(ee_app_set_high_water_mark(app_.get(), events), "set_high_water_mark");
        return *this;
    }
    app &wait_for_external(std::chrono::milliseconds timeout) {
        detail::check(ee_app_set_wait_for_external(app_.get(), timeout.count()), "set_wait_for_external");
        return *this;
    }
    app &setup_timeout(std::chrono::milliseconds timeout) {
        detail::check(ee_app_set_setup_timeout(app_.get(), static_cast<uint64_t>(timeout.count())),
                      "set_setup_timeout");
        return *this;
    }
    app &stop_on_failure(bool stop) {
        detail::check(ee_app_set_stop_on_failure(app_.get(), stop), "set_stop_on_failure");
        return *this;
    }
    app &max_pending(size_t events) {
        detail::check(ee_app_set_max_pending(app_.get(), events), "set_max_pending");
        return *this;
    }
    /// An external plugin (a process) on TCP `port` (0: any free port), receiving the events
    /// that start with one of `subscriptions` (byte prefixes).
    app &add_external_plugin(const std::string &name, int32_t port,
                             const std::vector<std::string> &subscriptions) {
        std::vector<ee_bytes_t> filters = detail::bytes_of(subscriptions);
        detail::check(ee_app_add_external_plugin(app_.get(), name.c_str(), port, filters.data(),
                                                 filters.size()),
                      "add_external_plugin");
        return *this;
    }
    /// An internal plugin: `body(ctx)` runs once on the plugin's own thread. Returning finishes
    /// the plugin; an ee::error with EE_STOPPED (what ctx's calls throw once the engine stops)
    /// stops it; any other exception fails it, with its what() in the report.
    app &add_plugin(const std::string &name, const std::vector<std::string> &subscriptions,
                    std::function<void(plugin_context &)> body) {
        auto owned = std::make_unique<detail::plugin_body>(std::move(body));
        std::vector<ee_bytes_t> filters = detail::bytes_of(subscriptions);
        detail::check(ee_app_add_plugin(app_.get(), name.c_str(), filters.data(), filters.size(),
                                        detail::run_body, owned.get()),
                      "add_plugin");
        bodies_->push_back(std::move(owned));
        return *this;
    }
    /// An internal plugin as a C callback (see ee_plugin_fn_t; it must not throw).
    app &add_plugin(const std::string &name, const std::vector<std::string> &subscriptions,
                    ee_plugin_fn_t start, void *user_data) {
        std::vector<ee_bytes_t> filters = detail::bytes_of(subscriptions);
        detail::check(ee_app_add_plugin(app_.get(), name.c_str(), filters.data(), filters.size(),
                                        start, user_data),
                      "add_plugin");
        return *this;
    }
    /// Binds every port and starts the run in the background.
    ee::running start() {
        ee_running_t *raw = nullptr;
        detail::check(ee_app_start(app_.get(), &raw), "start");
        return ee::running(raw, bodies_);
    }
    /// Runs the application until every plugin is done; the report as for running::wait().
    ee::report run() {
        ee_report_t *raw = nullptr;
        ee_status_t status = ee_app_run(app_.get(), &raw);
        if (raw == nullptr) {
            detail::check(status == EE_OK ? EE_ENGINE : status, "run");
        }
        return ee::report(raw, status);
    }

    ee_app_t *get() const noexcept { return app_.get(); }
    explicit operator bool() const noexcept { return app_ != nullptr; }

private:
    // Declared first, destroyed last.
    std::shared_ptr<detail::plugin_bodies> bodies_;
    detail::owner<ee_app_t, ee_app_free> app_;
};

}  // namespace ee

#endif /* EVENT_ENGINE_HPP */
