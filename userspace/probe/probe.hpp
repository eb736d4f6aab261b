// The kernel side of stockade as one object: opens, loads and attaches the BPF skeleton,
// owns its kernel tables and its ring buffer. Destroying it detaches everything.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <tuple>
#include <optional>
#include <vector>

#include "common/event.hpp"
#include "probe/features.hpp"
#include "probe/go_tls.hpp"
#include "probe/pins.hpp"
#include "stockade/events.h"

struct stockade_bpf;  // generated skeleton (bpf-gen/stockade_bpf.skel.h)
struct ring_buffer;
struct bpf_link;

namespace stockade::probe {

namespace detail {
// Throws stockade::Error with the errno text and libbpf's last lines (probe.cpp).
[[noreturn]] void fail_libbpf(const std::string& what, int err);
}  // namespace detail

struct ProbeOptions {
    uint32_t ring_bytes = 8u << 20;     // power of two, >= page size
    uint32_t wake_threshold = 256u << 10;  // bytes pending before the kernel forces a wake-up
    // Files whose OpenSSL SSL_write/SSL_read get uprobes (libssl.so.3, or programs that carry
    // OpenSSL and export its symbols). Empty: find the system's libssl.so.3.
    std::vector<std::string> tls_libraries;
    bool tls = true;  // false: no TLS uprobes at all
    // Go crypto/tls, per agent process (probe/go_tls.hpp): the kernel holds an agent's exec of an
    // image not looked at yet until the daemon has. false: Go programs' TLS is not probed.
    bool go_tls = true;
    // Service-manager executors (systemd 255+ execs "systemd-executor" in a unit's cgroup before
    // the unit's program), recognised by the kernel by (dev, inode). Added to the system's own
    // (/usr/lib/systemd/systemd-executor, /lib/systemd/systemd-executor) when present.
    std::vector<std::string> service_executors;
    // bpffs directory where maps and links are pinned so the kernel goes on enforcing while no
    // daemon runs, and a restarted one takes over (probe/pins.hpp). Empty: nothing is pinned,
    // everything detaches with the Probe.
    std::string pin_dir;
};

struct KernelCounters {
    uint64_t events = 0, lost = 0, truncated = 0, kills = 0, denies = 0;
    uint64_t loss_kills = 0;  // processes killed because their record was lost (on_loss: kill)
    uint64_t holds = 0, hold_breaks = 0;  // processes held for a verdict; held ones killed (released by another)
    uint64_t ring_pending = 0, ring_size = 0;  // bytes waiting at the last submit, ring capacity
};

// Receives decoded events: judge::Pipeline implements it (identity, then the judge for the
// event's kind); the daemon wraps it to time each verdict (judge/latency_sink.hpp).
class EventSink {
public:
    virtual ~EventSink() = default;
    virtual void on_event(const Event& e) = 0;
    // A record that could not be decoded: counted, never silently dropped.
    virtual void on_bad_record(const std::string& why) = 0;
};

class Probe {
public:
    // Throws stockade::Error naming what is missing (feature, permission) and how to get it.
    explicit Probe(const ProbeOptions& opts = {});
    ~Probe();
    Probe(const Probe&) = delete;
    Probe& operator=(const Probe&) = delete;

    const Features& features() const { return features_; }
    // Pinned state found at start: maps reused from a previous run of this build, links adopted
    // (programs that never stopped), other builds' directories (retired by retire_stale_pins()).
    struct Takeover {
        int maps_reused = 0, links_adopted = 0;
        std::vector<std::string> stale_builds;
        std::string pin_error;  // why nothing is pinned although a pin_dir was asked for
    };
    const Takeover& takeover() const { return takeover_; }
    // Once the daemon's tables are in: removes other builds' pins, whose programs then detach.
    std::vector<std::string> retire_stale_pins() { return pins_.retire_stale(); }
    // The heartbeat the kernel fails closed on (SK_DAEMON_STALE_NS): beat() each loop turn;
    // gone() at a clean stop, so the kernel need not wait for the beat to go stale.
    void beat();
    void gone();
    std::vector<std::string> attached() const;  // names of attached programs

    // Tracking tables. track_cgroup() returns whether the cgroup's processes are the agent's now:
    // false while a cgroup the kernel tagged at its mkdir waits for its first exec (until then
    // what runs there is the service manager's; the kernel tracks each process from its exec).
    bool track_cgroup(uint64_t cgroup_id, uint32_t agent_id);
    void untrack_cgroup(uint64_t cgroup_id);
    // A container's cgroup: tracked from the first exec in it (what runs there before is the
    // runtime's init setting the container up), unless the kernel already tracks it for the agent.
    void track_cgroup_from_exec(uint64_t cgroup_id, uint32_t agent_id);
    // While on, the kernel reports every cgroup v2 mkdir (a new container's cgroup).
    void report_cgroup_mkdirs(bool on);
    void track_process(uint32_t tgid, uint32_t agent_id, uint64_t start_ns);
    void untrack_process(uint32_t tgid);
    // The sys_exit hook is attached by the first track_*() and detached here once no cgroup and
    // no process is tracked any more (call it from time to time).
    void release_syscall_hook_if_idle();
    bool syscall_hook_attached() const { return sys_exit_link_ != nullptr; }
    // The TLS libraries found (what the uprobes go on while something is tracked).
    const std::vector<std::string>& tls_libraries() const { return tls_files_; }
    // Processes with Go crypto/tls uprobes of their own now.
    size_t go_tls_processes() const { return go_tls_ ? go_tls_->processes() : 0; }
    // The cgroup names agents are matched by: (SK_CG_PATH, "/a/b") or (SK_CG_LEAF, "x.service") ->
    // agent id. A cgroup v2 directory made with such a name is tracked from its mkdir. Replaces
    // the previous set.
    void set_cgroup_names(const std::vector<std::tuple<uint32_t, std::string, uint32_t>>& names);
    // The daemon killed the cgroup (cgroup.kill): the kernel stops dooming its tasks.
    void clear_doomed(uint64_t cgroup_id);
    // Attaches a sequence label (kernel rule number of the sequence) to a process; `through`: the
    // SK_THROUGH_* objects its writes pass the label through (bpf/taint.bpf.h).
    void label_process(uint32_t tgid, uint32_t rule, uint32_t through);

    // Kernel rule tables (callers build the full content; see enforce/kernel_tables).
    void set_agent_config(uint32_t agent_id, const sk_agent_cfg& cfg);
    void clear_agent_config(uint32_t agent_id);
    int agent_cfg_fd() const;
    // Records lost so far for one kernel id (agent or task): 0 when none or out of range.
    uint64_t lost_for(uint32_t kernel_id) const;
    int inode_rules_fd() const;
    int net_allow_fd() const;
    int net_deny_fd() const;
    int tool_deny_fd() const;
    int http_rules_fd() const;

    // Drains the ring buffer into `sink`, waiting up to timeout_ms for data. Returns records read.
    // With a budget (max_records and/or max_time > 0), stops after that many records or that
    // long, so that a caller's loop keeps its rhythm under any event rate; backlog() then says
    // records were left for the next call. A record is consumed only once it was handed to the
    // sink: stopping early loses nothing.
    int poll(EventSink& sink, int timeout_ms, size_t max_records = 0,
             std::chrono::microseconds max_time = std::chrono::microseconds(0));
    bool backlog() const { return budget_spent_; }
    int ring_fd() const;  // epoll-able: readable when the kernel woke the consumer
    KernelCounters counters() const;

    // Self-protection (bpf/self.bpf.h; probe_self.cpp). The agent of a tracked process, by tgid.
    std::optional<uint32_t> tracked_agent(uint32_t tgid) const;
    // Whether `pid` is an agent process that signalled stockaded (the kernel killed it and noted
    // it): its agent id, and the note is taken, so the daemon ignores that signal.
    std::optional<uint32_t> take_agent_signal(uint32_t pid);
    // Stop signals that reached stockaded and were cancelled by the kernel, since start.
    uint64_t stops_cancelled() const;

    // Holds (bpf/hold.bpf.h; probe_hold.cpp): a process the kernel stopped until the daemon's
    // verdict. What the kernel's `held` map says of process `tgid`:
    struct HoldState {
        enum State { None, Held, Released, Broken } state = None;  // the order of judge::HoldInfo::State
        uint64_t holds = 0;     // holds so far; the last one's number
        uint64_t since_ns = 0;  // CLOCK_BOOTTIME of the last hold
        uint32_t breaker = 0;   // Broken: the process that released it (0: the kernel, no daemon)
    };
    HoldState hold_state(uint32_t tgid) const;
    // A broken hold, once journaled: the kernel keeps it until then.
    void forget_hold(uint32_t tgid);

private:
    void open_pins(const ProbeOptions& opts);
    void release();  // detaches what is not pinned, frees the rest
    void attach_all();
    ::bpf_link* attach_pinned(const std::string& name, const std::function<::bpf_link*()>& attach);
    void release_link(const std::string& name, ::bpf_link* link);
    void set_service_executors(const std::vector<std::string>& configured);
    void set_elf_loaders();  // probe_loaders.cpp
    void set_interpreters();  // probe_loaders.cpp
    void ensure_syscall_hook();
    void adopt_syscall_hook();
    void attach_tls();
    void detach_tls();
    void follow_go_tls(const Event& e);
    Pins pins_;
    Takeover takeover_;
    ::bpf_link* sys_exit_link_ = nullptr;
    std::vector<std::string> tls_files_;
    std::vector<std::pair<std::string, ::bpf_link*>> tls_links_;
    std::unique_ptr<GoTlsAttacher> go_tls_;
    Features features_;
    ::stockade_bpf* skel_ = nullptr;
    ::ring_buffer* rb_ = nullptr;
    std::vector<std::pair<std::string, ::bpf_link*>> links_;
    int cgroup_root_fd_ = -1;
    EventSink* sink_ = nullptr;
    size_t budget_records_ = 0, consumed_ = 0;
    std::chrono::steady_clock::time_point budget_until_{};
    bool budget_spent_ = false;
    uint32_t ring_bytes_ = 0;
    static int on_record(void* ctx, void* data, size_t size);
};

}  // namespace stockade::probe
