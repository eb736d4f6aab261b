#include "probe/probe.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <sys/stat.h>

#include <cerrno>
#include <cstdarg>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <set>

#include "common/error.hpp"
#include "probe/file_id.hpp"
#include "probe/record.hpp"
#include "stockade_bpf.skel.h"

namespace stockade::probe {

namespace {

// libbpf speaks through a C callback: keep its last lines so a failure can quote the kernel.
std::mutex g_log_mu;
std::string g_libbpf_tail;

int libbpf_log(enum libbpf_print_level level, const char* fmt, va_list args) {
    va_list copy;
    va_copy(copy, args);
    int n = vsnprintf(nullptr, 0, fmt, copy);
    va_end(copy);
    std::string line(n > 0 ? n : 0, '\0');
    vsnprintf(line.data(), line.size() + 1, fmt, args);
    while (!line.empty() && line.back() == '\n') line.pop_back();
    {
        std::lock_guard lk(g_log_mu);
        g_libbpf_tail += line + "\n";
        if (g_libbpf_tail.size() > 4096) g_libbpf_tail.erase(0, g_libbpf_tail.size() - 4096);
    }
    if (level == LIBBPF_WARN)
        spdlog::warn("libbpf: {}", line);
    else
        spdlog::debug("libbpf: {}", line);
    return 0;
}

std::string libbpf_tail() {
    std::lock_guard lk(g_log_mu);
    return g_libbpf_tail;
}

}  // namespace

[[noreturn]] void detail::fail_libbpf(const std::string& what, int err) {
    std::string msg = what + ": " + std::strerror(err < 0 ? -err : err);
    if (err == -EPERM || err == EPERM) msg += " (stockaded needs root: CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN)";
    std::string tail = libbpf_tail();
    if (!tail.empty()) msg += "\nlibbpf said:\n" + tail;
    throw Error(msg);
}

namespace {

[[noreturn]] void fail(const std::string& what, int err) { detail::fail_libbpf(what, err); }

void check_update(int rc, const char* what) {
    if (rc) throw Error(std::string("updating kernel table ") + what + ": " + std::strerror(errno));
}

// The files to put TLS uprobes on: the system's libssl.so.3, and the configured ones besides it
// (a Node binary with its own OpenSSL adds to the system library, it never replaces it: curl
// and Python still use libssl). One file per inode: /lib and /usr/lib are the same directory
// on a merged-/usr system, and two uprobes on one inode would report every call twice.
std::vector<std::string> tls_files(const ProbeOptions& opts) {
    static const std::vector<std::string> kSystem = {"/usr/lib/x86_64-linux-gnu/libssl.so.3",
                                                     "/lib/x86_64-linux-gnu/libssl.so.3", "/usr/lib64/libssl.so.3",
                                                     "/usr/lib/libssl.so.3"};
    std::vector<std::string> candidates = kSystem;
    candidates.insert(candidates.end(), opts.tls_libraries.begin(), opts.tls_libraries.end());
    std::vector<std::string> out;
    std::set<std::pair<dev_t, ino_t>> seen;
    for (size_t i = 0; i < candidates.size(); ++i) {
        const std::string& c = candidates[i];
        struct stat st;
        std::error_code ec;
        auto real = std::filesystem::canonical(c, ec);
        if (ec || stat(real.c_str(), &st) != 0) {
            if (i >= kSystem.size()) spdlog::warn("tls_libraries: {} not found: TLS there is not seen", c);
            continue;
        }
        if (seen.insert({st.st_dev, st.st_ino}).second) out.push_back(real.string());
    }
    return out;
}

}  // namespace

Probe::Probe(const ProbeOptions& opts) {
    libbpf_set_print(libbpf_log);
    features_ = probe_features();
    auto missing = features_.missing();
    if (!missing.empty()) {
        std::string msg = "this kernel cannot run stockade's probes:";
        for (auto& m : missing) msg += "\n  - " + m;
        throw Error(msg);
    }
    skel_ = stockade_bpf__open();
    if (!skel_) fail("opening the BPF object", errno);
    bpf_map__set_max_entries(skel_->maps.events, opts.ring_bytes);
    ring_bytes_ = opts.ring_bytes;
    skel_->rodata->wake_threshold = opts.wake_threshold;
    if (!features_.tcp_send_tracepoint) {
        // Before Linux 6.16: a labelled process's sends on a socket connected before its label
        // go unjudged (docs/boundary.md); everything else loads.
        bpf_program__set_autoload(skel_->progs.sk_tcp_send, false);
        spdlog::warn("no tcp:tcp_sendmsg_locked tracepoint (Linux 6.16+): a labelled process's sends on a socket "
                     "connected before its label are not judged");
    }
    try {
        open_pins(opts);
    } catch (...) {
        stockade_bpf__destroy(skel_);
        skel_ = nullptr;
        throw;
    }
    if (int err = stockade_bpf__load(skel_)) {
        stockade_bpf__destroy(skel_);
        skel_ = nullptr;
        fail("loading the BPF programs", err);
    }
    try {
        pins_.pin_maps(skel_->obj);
        // The .bss may be the previous daemon's (reused): say who guards it now. Until the first
        // beat() the kernel treats the daemon as gone and fails closed.
        skel_->bss->daemon_tgid = static_cast<uint32_t>(getpid());
        set_service_executors(opts.service_executors);
        set_elf_loaders();
        set_interpreters();
        attach_all();
        if (opts.tls) tls_files_ = tls_files(opts);
        bool go = opts.tls && opts.go_tls;
        if (go)
            go_tls_ = std::make_unique<GoTlsAttacher>(skel_->progs.sk_go_tls_write, skel_->progs.sk_go_tls_handshake,
                                                      skel_->maps.tls_images, skel_->maps.tls_held,
                                                      skel_->maps.tls_seen);
        skel_->bss->tls_hold_execs = go ? 1 : 0;  // the .bss may be a previous daemon's
        adopt_syscall_hook();
        rb_ = ring_buffer__new(bpf_map__fd(skel_->maps.events), &Probe::on_record, this, nullptr);
        if (!rb_) fail("creating the ring-buffer consumer", errno);
    } catch (...) {
        release();  // not ~Probe(): the members would then be destroyed twice
        throw;
    }
}

void Probe::set_service_executors(const std::vector<std::string>& configured) {
    // Built in, where present: systemd 255+'s executor, and the container runtimes, which exec
    // themselves again in the container's cgroup before its program (runc 1.1 from a read-only
    // bind mount of its own file; the unlinked copies are told apart in the kernel).
    std::vector<std::string> paths = {"/usr/lib/systemd/systemd-executor", "/lib/systemd/systemd-executor",
                                      "/usr/sbin/runc", "/usr/bin/runc", "/usr/bin/crun", "/usr/sbin/crun"};
    const size_t builtin = paths.size();
    paths.insert(paths.end(), configured.begin(), configured.end());
    for (size_t i = 0; i < paths.size(); ++i) {
        auto id = kernel_file_id(paths[i]);
        if (!id) {
            if (i >= builtin) spdlog::warn("service_executors: {} not found: not recognised as an executor", paths[i]);
            continue;
        }
        sk_inode_key key{};
        key.dev = id->dev;
        key.ino = id->ino;
        uint8_t one = 1;
        check_update(bpf_map__update_elem(skel_->maps.service_executors, &key, sizeof key, &one, sizeof one, BPF_ANY),
                     "service_executors");
        spdlog::debug("service executor: {} (dev {:#x}, inode {})", paths[i], key.dev, key.ino);
    }
}

// Same build: its pinned maps are reused before load. Another build's pins stay (and enforce)
// until the daemon retires them, once its own tables are in.
void Probe::open_pins(const ProbeOptions& opts) {
    if (opts.pin_dir.empty()) return;
    size_t elf_size = 0;
    const void* elf = stockade_bpf__elf_bytes(&elf_size);
    try {
        pins_ = Pins(opts.pin_dir, build_id(elf, elf_size, {opts.ring_bytes, opts.wake_threshold}));
    } catch (const Error& e) {
        // Running unpinned beats not running: the daemon still enforces while it lives.
        takeover_.pin_error = std::string(e.what()) + ": running unpinned, the kernel stops enforcing when the "
                                                      "daemon stops";
        spdlog::error("{}", takeover_.pin_error);
        return;
    }
    takeover_.stale_builds = pins_.stale_builds();
    for (auto& dir : takeover_.stale_builds)
        spdlog::warn("bpf pins of another build (or ring size) in {}: they keep enforcing until this daemon's "
                     "programs and tables are in, then they are removed", dir);
    takeover_.maps_reused = pins_.reuse_maps(skel_->obj);
    if (takeover_.maps_reused)
        spdlog::info("bpf pins: reusing {} maps pinned in {} (tables, tracked processes, ring)", takeover_.maps_reused,
                     pins_.build_dir());
}

void Probe::beat() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);  // bpf_ktime_get_ns()'s clock
    __atomic_store_n(&skel_->bss->daemon_beat_ns, uint64_t(ts.tv_sec) * 1'000'000'000ULL + uint64_t(ts.tv_nsec),
                     __ATOMIC_RELEASE);
}

void Probe::gone() { __atomic_store_n(&skel_->bss->daemon_beat_ns, uint64_t(0), __ATOMIC_RELEASE); }

Probe::~Probe() { release(); }

void Probe::release() {
    if (skel_ && skel_->bss) gone();
    if (rb_) ring_buffer__free(rb_);
    rb_ = nullptr;
    if (sys_exit_link_) bpf_link__destroy(sys_exit_link_);
    sys_exit_link_ = nullptr;
    detach_tls();
    go_tls_.reset();
    for (auto it = links_.rbegin(); it != links_.rend(); ++it) bpf_link__destroy(it->second);
    links_.clear();
    if (skel_) stockade_bpf__destroy(skel_);
    skel_ = nullptr;
    if (cgroup_root_fd_ >= 0) close(cgroup_root_fd_);
    cgroup_root_fd_ = -1;
}

std::vector<std::string> Probe::attached() const {
    std::vector<std::string> out;
    for (auto& [name, link] : links_) out.push_back(name);
    if (sys_exit_link_) out.push_back("tp_btf/sys_exit");
    for (auto& [name, link] : tls_links_) out.push_back(name);
    return out;
}

bool Probe::track_cgroup(uint64_t cgroup_id, uint32_t agent_id) {
    ensure_syscall_hook();
    // A cgroup the mkdir hook tagged for this agent stays unarmed until its first exec.
    uint32_t have = 0;
    if (bpf_map__lookup_elem(skel_->maps.agent_cgroups, &cgroup_id, sizeof cgroup_id, &have, sizeof have, 0) == 0 &&
        (have & ~SK_CG_UNARMED) == agent_id)
        return !(have & SK_CG_UNARMED);
    check_update(bpf_map__update_elem(skel_->maps.agent_cgroups, &cgroup_id, sizeof cgroup_id, &agent_id,
                                      sizeof agent_id, BPF_ANY),
                 "agent_cgroups");
    return true;
}

void Probe::track_cgroup_from_exec(uint64_t cgroup_id, uint32_t agent_id) {
    ensure_syscall_hook();
    uint32_t have = 0;
    if (bpf_map__lookup_elem(skel_->maps.agent_cgroups, &cgroup_id, sizeof cgroup_id, &have, sizeof have, 0) == 0 &&
        (have & ~SK_CG_UNARMED) == agent_id)
        return;
    uint32_t unarmed = agent_id | SK_CG_UNARMED;
    check_update(bpf_map__update_elem(skel_->maps.agent_cgroups, &cgroup_id, sizeof cgroup_id, &unarmed,
                                      sizeof unarmed, BPF_ANY),
                 "agent_cgroups");
}

void Probe::report_cgroup_mkdirs(bool on) {
    __atomic_store_n(&skel_->bss->report_cgroup_mkdir, on ? 1u : 0u, __ATOMIC_RELEASE);
}

void Probe::untrack_cgroup(uint64_t cgroup_id) {
    bpf_map__delete_elem(skel_->maps.agent_cgroups, &cgroup_id, sizeof cgroup_id, 0);
    clear_doomed(cgroup_id);
}

void Probe::track_process(uint32_t tgid, uint32_t agent_id, uint64_t start_ns) {
    ensure_syscall_hook();
    sk_track t{};
    t.agent_id = agent_id;
    t.start_ns = start_ns;
    check_update(bpf_map__update_elem(skel_->maps.tracked, &tgid, sizeof tgid, &t, sizeof t, BPF_ANY), "tracked");
}

void Probe::label_process(uint32_t tgid, uint32_t rule, uint32_t through) {
    sk_label l{};
    l.rule = rule;
    l.through = through;
    __atomic_store_n(&skel_->bss->labels_live, 1, __ATOMIC_RELEASE);  // before the label: hooks look
    check_update(bpf_map__update_elem(skel_->maps.labels, &tgid, sizeof tgid, &l, sizeof l, BPF_NOEXIST) == 0 ||
                         errno == EEXIST
                     ? 0
                     : -1,
                 "labels");
}

void Probe::set_cgroup_names(const std::vector<std::tuple<uint32_t, std::string, uint32_t>>& names) {
    std::set<std::pair<uint32_t, uint64_t>> keep;
    for (auto& [kind, name, agent] : names) {
        sk_cgroup_name k{};
        k.kind = kind;
        k.hash = kernel_hash(name);
        keep.insert({k.kind, k.hash});
        check_update(bpf_map__update_elem(skel_->maps.cgroup_names, &k, sizeof k, &agent, sizeof agent, BPF_ANY),
                     "cgroup_names");
    }
    sk_cgroup_name cur{}, next{};
    std::vector<sk_cgroup_name> stale;
    for (void* prev = nullptr; bpf_map__get_next_key(skel_->maps.cgroup_names, prev, &next, sizeof next) == 0;
         prev = &cur) {
        cur = next;
        if (!keep.count({cur.kind, cur.hash})) stale.push_back(cur);
    }
    for (auto& k : stale) bpf_map__delete_elem(skel_->maps.cgroup_names, &k, sizeof k, 0);
}

void Probe::clear_doomed(uint64_t cgroup_id) {
    if (bpf_map__delete_elem(skel_->maps.doomed, &cgroup_id, sizeof cgroup_id, 0) == 0)
        __atomic_fetch_sub(&skel_->bss->doomed_active, 1, __ATOMIC_SEQ_CST);
}

void Probe::untrack_process(uint32_t tgid) { bpf_map__delete_elem(skel_->maps.tracked, &tgid, sizeof tgid, 0); }

void Probe::set_agent_config(uint32_t agent_id, const sk_agent_cfg& cfg) {
    check_update(bpf_map__update_elem(skel_->maps.agent_cfg, &agent_id, sizeof agent_id, &cfg, sizeof cfg, BPF_ANY),
                 "agent_cfg");
}

void Probe::clear_agent_config(uint32_t agent_id) { set_agent_config(agent_id, sk_agent_cfg{}); }

int Probe::agent_cfg_fd() const { return bpf_map__fd(skel_->maps.agent_cfg); }

uint64_t Probe::lost_for(uint32_t kernel_id) const {
    uint64_t n = 0;
    if (bpf_map__lookup_elem(skel_->maps.agent_lost, &kernel_id, sizeof kernel_id, &n, sizeof n, 0) != 0) return 0;
    return n;
}
int Probe::inode_rules_fd() const { return bpf_map__fd(skel_->maps.inode_rules); }
int Probe::net_allow_fd() const { return bpf_map__fd(skel_->maps.net_allow); }
int Probe::net_deny_fd() const { return bpf_map__fd(skel_->maps.net_deny); }
int Probe::tool_deny_fd() const { return bpf_map__fd(skel_->maps.tool_deny); }
int Probe::http_rules_fd() const { return bpf_map__fd(skel_->maps.http_rules); }
int Probe::ring_fd() const { return ring_buffer__epoll_fd(rb_); }

namespace {
constexpr int kBudgetSpent = -EALREADY;  // any negative value; told apart by budget_spent_
}  // namespace

// libbpf advances the consumer position past a record before its callback's result is looked
// at, and a negative result ends ring_buffer__consume()/__poll() there: the way to stop after
// a budget without losing the record just handed over (libbpf 1.1 has no consume_n).
int Probe::on_record(void* ctx, void* data, size_t size) {
    auto* self = static_cast<Probe*>(ctx);
    try {
        Event e = decode(data, size);
        if (self->go_tls_) {
            self->follow_go_tls(e);  // before the judge: the sooner attached, the better
            // Held for a verdict too: attach now. The verdict's release (in this drain) would
            // otherwise let the image run before its uprobes are on; the plain SIGCONT that
            // follows the attach is re-stopped by the kernel until that verdict (hold.bpf.h).
            if (e.held && e.tls_held) self->go_tls_->release_holds();
        }
        self->sink_->on_event(e);
    } catch (const Error& e) {
        self->sink_->on_bad_record(e.what());
    }
    ++self->consumed_;
    bool spent = (self->budget_records_ && self->consumed_ >= self->budget_records_) ||
                 (self->budget_until_ != std::chrono::steady_clock::time_point{} &&
                  std::chrono::steady_clock::now() >= self->budget_until_);
    if (!spent) return 0;
    self->budget_spent_ = true;
    return kBudgetSpent;
}

int Probe::poll(EventSink& sink, int timeout_ms, size_t max_records, std::chrono::microseconds max_time) {
    // Records are mostly submitted without a wake-up (batched, DESIGN.md), so a quiet epoll
    // does not mean an empty ring: always drain after waiting.
    sink_ = &sink;
    budget_records_ = max_records;
    budget_until_ = max_time.count() > 0 ? std::chrono::steady_clock::now() + max_time
                                         : std::chrono::steady_clock::time_point{};
    consumed_ = 0;
    budget_spent_ = false;
    int n = ring_buffer__poll(rb_, timeout_ms);
    if (n >= 0 && !budget_spent_) n = ring_buffer__consume(rb_);
    sink_ = nullptr;
    if (go_tls_) go_tls_->release_holds();
    if (budget_spent_) return static_cast<int>(consumed_);
    if (n < 0 && n != -EINTR) throw Error(std::string("reading the ring buffer: ") + std::strerror(-n));
    return static_cast<int>(consumed_);
}

// An agent process exec'd (and was not killed for it) or exited: its Go uprobes follow.
void Probe::follow_go_tls(const Event& e) {
    if (e.action == Action::Exec && e.kernel_action != KernelAction::Killed)
        go_tls_->on_exec(e.pid, e.start_ns);
    else if (e.action == Action::Exit)
        go_tls_->on_exit(e.pid);
}

KernelCounters Probe::counters() const {
    int ncpu = libbpf_num_possible_cpus();
    std::vector<uint64_t> vals(ncpu > 0 ? ncpu : 1);
    auto sum = [&](uint32_t idx) {
        uint64_t total = 0;
        if (bpf_map__lookup_elem(skel_->maps.counters, &idx, sizeof idx, vals.data(), vals.size() * sizeof(uint64_t),
                                 0) == 0)
            for (auto v : vals) total += v;
        return total;
    };
    KernelCounters c{sum(SK_CNT_EVENTS), sum(SK_CNT_LOST), sum(SK_CNT_TRUNC), sum(SK_CNT_KILLS), sum(SK_CNT_DENIES)};
    c.loss_kills = sum(SK_CNT_LOSS_KILLS);
    c.holds = sum(SK_CNT_HOLDS);
    c.hold_breaks = sum(SK_CNT_HOLD_BREAKS);
    c.ring_pending = skel_->bss->ring_pending;
    c.ring_size = ring_bytes_;
    return c;
}

}  // namespace stockade::probe
