// The "counter" example in C++: an external plugin that receives TypeA events and answers each
// with TypeB<number of bytes after the 5-byte filter>, then quits after N events.
//
//   counter [PORT]      port from the argument or EE_PLUGIN_PORT; N from EE_COUNT (default 5);
//                       the answers' type from EE_REPLY_TYPE (default TypeB)
//
// Build: make examples-c (or: c++ counter.cpp $(pkg-config --cflags --libs event_engine), or
// with CMake: CMakeLists.txt here).
// The C API is wrapped in RAII handles and an exception, as a C++ program would.
#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "event_engine.h"

namespace {

struct Error : std::runtime_error {
    explicit Error(const std::string &what, ee_status_t status)
        : std::runtime_error(what + ": " + ee_status_str(status) + ": " + ee_last_error()) {}
};

void check(ee_status_t status, const char *what) {
    if (status != EE_OK) {
        throw Error(what, status);
    }
}

struct ClientFree {
    void operator()(ee_client_t *c) const { ee_client_free(c); }
};
struct BatchFree {
    void operator()(ee_batch_t *b) const { ee_batch_free(b); }
};
using Client = std::unique_ptr<ee_client_t, ClientFree>;
using Batch = std::unique_ptr<ee_batch_t, BatchFree>;

long env_or(const char *name, long fallback) {
    const char *text = std::getenv(name);
    return text ? std::strtol(text, nullptr, 10) : fallback;
}

}  // namespace

int main(int argc, char **argv) {
    long port = argc > 1 ? std::strtol(argv[1], nullptr, 10) : env_or("EE_PLUGIN_PORT", 0);
    long count = env_or("EE_COUNT", 5);
    const char *reply_env = std::getenv("EE_REPLY_TYPE");
    const std::string reply = reply_env && *reply_env ? reply_env : "TypeB";
    if (port <= 0 || port > 65535 || count <= 0) {
        std::cerr << "usage: counter PORT (or EE_PLUGIN_PORT); EE_COUNT=N (default 5)\n";
        return 2;
    }
    try {
        ee_client_t *raw = nullptr;
        check(ee_client_connect_port("127.0.0.1", static_cast<uint16_t>(port), nullptr, &raw),
              "connect");
        Client client(raw);
        long seen = 0;
        while (seen < count) {
            // Up to the events still expected, waiting at most a second for the first.
            ee_batch_t *raw_batch = nullptr;
            check(ee_client_next_batch(client.get(), static_cast<size_t>(std::min(count - seen, 1000L)), 1000,
                                       &raw_batch),
                  "next_batch");
            Batch batch(raw_batch);
            size_t n = 0;
            check(ee_batch_len(batch.get(), &n), "batch_len");
            std::vector<std::string> answers;
            for (size_t i = 0; i < n; i++) {
                const ee_event_t *event = nullptr;
                const uint8_t *data = nullptr;
                size_t len = 0;
                check(ee_batch_get(batch.get(), i, &event), "batch_get");
                check(ee_event_data(event, &data, &len), "event_data");
                answers.push_back(reply + std::to_string(len > 5 ? len - 5 : 0));
            }
            std::vector<ee_bytes_t> out;
            for (const std::string &a : answers) {
                out.push_back(ee_bytes_t{reinterpret_cast<const uint8_t *>(a.data()), a.size()});
            }
            check(ee_client_publish_batch(client.get(), out.data(), out.size(), nullptr),
                  "publish_batch");
            seen += static_cast<long>(n);
        }
        check(ee_client_quit(client.get()), "quit");
        std::cout << "counter: answered " << seen << " events\n";
        return 0;
    } catch (const Error &e) {
        std::cerr << "counter: " << e.what() << "\n";
        return 1;
    }
}
