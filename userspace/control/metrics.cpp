#include "common/clock.hpp"
#include "control/metrics.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "common/error.hpp"

namespace stockade::control {

void LatencyHistogram::observe(double seconds) {
    if (!(seconds >= 0)) return;  // negative or NaN: a clock oddity, not a latency
    size_t i = 0;
    while (i < kBounds.size() && seconds > kBounds[i]) ++i;
    buckets_[i].fetch_add(1, std::memory_order_relaxed);
    sum_ns_.fetch_add(static_cast<uint64_t>(std::llround(seconds * 1e9)), std::memory_order_relaxed);
}

LatencyHistogram::Snapshot LatencyHistogram::snapshot() const {
    Snapshot s;
    for (size_t i = 0; i < buckets_.size(); ++i) {
        s.count += buckets_[i].load(std::memory_order_relaxed);
        if (i < kBounds.size()) s.cumulative[i] = s.count;
    }
    s.sum = static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e9;
    return s;
}

namespace {

std::string num(double v) {  // "0.00005", "12", "0.25"
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.9f", v);
    std::string s = buf;
    s.erase(s.find_last_not_of('0') + 1);
    if (s.back() == '.') s.pop_back();
    return s;
}

std::string label(const std::string& v) {  // a label value, escaped
    std::string out;
    for (char c : v) {
        if (c == '\\' || c == '"') out += '\\';
        if (c == '\n') out += "\\n";
        else out += c;
    }
    return out;
}

struct Out {
    std::string text;
    void head(const char* name, const char* type, const char* help) {
        text += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
    }
    void sample(const std::string& name, const std::string& labels, const std::string& value) {
        text += name + (labels.empty() ? "" : "{" + labels + "}") + " " + value + "\n";
    }
};

}  // namespace

std::string render_metrics(const control::Status& s, const LatencyHistogram& latency) {
    Out o;
    auto per_agent = [&](const char* name, const char* type, const char* help, auto value) {
        o.head(name, type, help);
        for (auto& a : s.agents) o.sample(name, "agent=\"" + label(a.name) + "\"", std::to_string(value(a)));
    };
    using A = control::AgentStatus;
    o.head("stockade_build_info", "gauge", "stockade's version; always 1.");
    o.sample("stockade_build_info", "version=\"" + label(s.version) + "\"", "1");
    o.head("stockade_agent_info", "gauge", "Agents whose boundary is in force, with their mode; always 1.");
    for (auto& a : s.agents)
        o.sample("stockade_agent_info", "agent=\"" + label(a.name) + "\",mode=\"" + label(a.mode) +
                     "\",on_violation=\"" + label(a.on_violation) + "\"", "1");
    per_agent("stockade_events_total", "counter", "Kernel events attributed to the agent.", [](const A& a) { return a.events; });
    o.head("stockade_decisions_total", "counter", "Actions judged, by outcome: allowed, or violations (flag, deny, kill, would-deny).");
    for (auto& a : s.agents) {
        o.sample("stockade_decisions_total", "agent=\"" + label(a.name) + "\",verdict=\"allowed\"", std::to_string(a.allowed));
        o.sample("stockade_decisions_total", "agent=\"" + label(a.name) + "\",verdict=\"violations\"",
                 std::to_string(a.violations));
    }
    o.head("stockade_agent_actions_total", "counter", "Kernel events attributed to the agent, by action.");
    for (auto& a : s.agents)
        for (auto& [action, n] : a.actions)
            o.sample("stockade_agent_actions_total", "agent=\"" + label(a.name) + "\",action=\"" + label(action) + "\"",
                     std::to_string(n));
    per_agent("stockade_kills_total", "counter", "Processes (or whole agents) killed for a violation.", [](const A& a) { return a.kills; });
    per_agent("stockade_denials_total", "counter", "Operations the kernel refused.", [](const A& a) { return a.denies; });
    per_agent("stockade_tracked_processes", "gauge", "Live processes of the agent.", [](const A& a) { return a.tracked; });
    o.head("stockade_rule_decisions_total", "counter", "Decisions per deciding rule id (at most 256 rules per agent).");
    for (auto& a : s.agents)
        for (auto& [rule, n] : a.rules)
            o.sample("stockade_rule_decisions_total", "agent=\"" + label(a.name) + "\",rule=\"" + label(rule) + "\"",
                     std::to_string(n));
    auto global = [&](const char* name, const char* type, const char* help, uint64_t v) {
        o.head(name, type, help);
        o.sample(name, "", std::to_string(v));
    };
    global("stockade_kernel_events_total", "counter", "Events received from the kernel probes.", s.events);
    global("stockade_lost_events_total", "counter", "Events the kernel dropped because the ring buffer was full.", s.lost);
    global("stockade_kernel_kills_total", "counter", "Processes the kernel probes killed.", s.kernel_kills);
    global("stockade_kernel_denials_total", "counter", "Operations the kernel probes refused.", s.kernel_denies);
    global("stockade_bad_records_total", "counter", "Kernel records that could not be decoded.", s.bad_records);
    global("stockade_journal_bytes", "gauge", "Size of the live journal file.", s.journal_bytes);
    global("stockade_ringbuf_pending_bytes", "gauge", "Bytes waiting in the kernel ring buffer at the last submit.",
           s.ring_pending);
    global("stockade_ringbuf_size_bytes", "gauge", "Capacity of the kernel ring buffer.", s.ring_size);
    global("stockade_last_reload_success", "gauge", "1 if the last boundary reload succeeded, 0 if it failed.",
           s.last_reload == "ok" ? 1 : 0);

    auto h = latency.snapshot();
    const char* hn = "stockade_verdict_latency_seconds";
    o.head(hn, "histogram", "Time from the kernel event to its verdict and enforcement.");
    for (size_t i = 0; i < LatencyHistogram::kBounds.size(); ++i)
        o.sample(std::string(hn) + "_bucket", "le=\"" + num(LatencyHistogram::kBounds[i]) + "\"",
                 std::to_string(h.cumulative[i]));
    o.sample(std::string(hn) + "_bucket", "le=\"+Inf\"", std::to_string(h.count));
    o.sample(std::string(hn) + "_sum", "", num(h.sum));
    o.sample(std::string(hn) + "_count", "", std::to_string(h.count));
    return o.text;
}

void write_textfile(const std::string& dir, const std::string& content) {
    std::string tmp = dir + "/.stockade.prom.XXXXXX";
    int fd = mkostemp(tmp.data(), O_CLOEXEC);
    if (fd < 0) throw Error("metrics: cannot create a file in " + dir + ": " + std::strerror(errno));
    auto fail = [&](const char* what) {
        int err = errno;
        close(fd);
        unlink(tmp.c_str());
        throw Error(std::string("metrics: ") + what + " " + tmp + ": " + std::strerror(err));
    };
    if (fchmod(fd, 0644) != 0) fail("chmod");
    for (size_t off = 0; off < content.size();) {
        ssize_t n = write(fd, content.data() + off, content.size() - off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) fail("write");
        off += static_cast<size_t>(n);
    }
    // No fsync: readers only need the rename to be atomic; after a crash the next second rewrites it.
    if (close(fd) != 0) {
        unlink(tmp.c_str());
        throw Error("metrics: close " + tmp + ": " + std::strerror(errno));
    }
    std::string dest = dir + "/" + kTextfileName;
    if (rename(tmp.c_str(), dest.c_str()) != 0) {
        int err = errno;
        unlink(tmp.c_str());
        throw Error("metrics: rename to " + dest + ": " + std::strerror(err));
    }
}

}  // namespace stockade::control
