// The verdict latency the metrics report: wraps the pipeline, passes every event on, then
// observes now - event time (CLOCK_BOOTTIME) in the histogram control/metrics renders.
#pragma once

#include "common/clock.hpp"
#include "control/metrics.hpp"
#include "probe/probe.hpp"

namespace stockade::judge {

class LatencySink : public probe::EventSink {
public:
    LatencySink(probe::EventSink& inner, control::LatencyHistogram& h) : inner_(inner), h_(h) {}
    void on_event(const Event& e) override {
        inner_.on_event(e);
        if (!e.ktime_ns) return;
        uint64_t now = boot_ns();
        if (now >= e.ktime_ns) h_.observe(static_cast<double>(now - e.ktime_ns) / 1e9);
    }
    void on_bad_record(const std::string& why) override { inner_.on_bad_record(why); }

private:
    probe::EventSink& inner_;
    control::LatencyHistogram& h_;
};

}  // namespace stockade::judge
