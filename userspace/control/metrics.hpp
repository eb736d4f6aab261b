// Prometheus metrics in the text exposition format, written for node exporter's textfile
// collector: another rendering of the daemon's status (control::Status). docs/fleet.md lists
// every metric.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

#include "control/protocol.hpp"

namespace stockade::control {

// Latency from the kernel event to its verdict (and enforcement), in seconds. observe() is
// lock-free and may be called from any thread.
class LatencyHistogram {
public:
    static constexpr std::array<double, 11> kBounds = {50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3,
                                                       5e-3,  10e-3,  25e-3,  50e-3,  100e-3};
    void observe(double seconds);

    struct Snapshot {
        std::array<uint64_t, kBounds.size()> cumulative{};  // observations <= each bound
        uint64_t count = 0;
        double sum = 0;  // seconds
    };
    Snapshot snapshot() const;

private:
    std::array<std::atomic<uint64_t>, kBounds.size() + 1> buckets_{};  // last: above every bound
    std::atomic<uint64_t> sum_ns_{0};
};

// Every metric, HELP and TYPE lines first; per-agent series carry agent="NAME".
std::string render_metrics(const control::Status& s, const LatencyHistogram& latency);

// Node exporter's textfile-collector directory, and the file written there.
inline constexpr const char* kTextfileDir = "/var/lib/prometheus/node-exporter";
inline constexpr const char* kTextfileName = "stockade.prom";

// Writes dir/stockade.prom atomically: a temporary file in `dir` (not ending in .prom, so the
// collector never reads it half written), then rename. Throws stockade::Error.
void write_textfile(const std::string& dir, const std::string& content);

}  // namespace stockade::control
