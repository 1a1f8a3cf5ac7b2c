// The "counter" example in C++: an external plugin that receives TypeA events and answers each
// with TypeB<number of bytes after the 5-byte filter>, then quits after N events.
//
//   counter [PORT]      port from the argument or EE_PLUGIN_PORT; N from EE_COUNT (default 5);
//                       the answers' type from EE_REPLY_TYPE (default TypeB)
//
// Build: make examples-c (or: c++ counter.cpp $(pkg-config --cflags --libs event_engine), or
// with CMake: CMakeLists.txt here).
// It uses event_engine.hpp, the header-only C++ layer over the C API: RAII handles, and an
// ee::error exception for a failed call.
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "event_engine.hpp"

namespace {

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
        ee::client client = ee::client::connect("127.0.0.1", static_cast<uint16_t>(port));
        long seen = 0;
        while (seen < count) {
            // Up to the events still expected, waiting at most a second for the first.
            ee::batch batch = client.next_batch(static_cast<size_t>(std::min(count - seen, 1000L)),
                                                std::chrono::milliseconds(1000));
            std::vector<std::string> answers;
            for (ee::event_view event : batch) {
                size_t len = event.size();
                answers.push_back(reply + std::to_string(len > 5 ? len - 5 : 0));
            }
            client.publish_batch(answers);
            seen += static_cast<long>(answers.size());
        }
        client.quit();
        std::cout << "counter: answered " << seen << " events\n";
        return 0;
    } catch (const ee::error &e) {
        std::cerr << "counter: " << e.what() << "\n";
        return 1;
    }
}
