// Shared machinery of the benchmarks: statistics, the report, children, cgroups, the floor probe.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "bench.hpp"
#include "bench_floor.skel.h"
#include "common/cgroup.hpp"
#include "common/error.hpp"

extern char** environ;

namespace bench {

namespace fs = std::filesystem;
using stockade::Error;

// ---- report ---------------------------------------------------------------------------------

void Report::print(FILE* out) const {
    for (auto& s : sections) {
        std::fprintf(out, "\n### %s\n\n", s.title.c_str());
        std::vector<size_t> w(s.header.size(), 0);
        for (size_t i = 0; i < s.header.size(); ++i) w[i] = s.header[i].size();
        for (auto& row : s.rows)
            for (size_t i = 0; i < row.size() && i < w.size(); ++i) w[i] = std::max(w[i], row[i].size());
        auto line = [&](const std::vector<std::string>& cells) {
            std::string l = "|";
            for (size_t i = 0; i < w.size(); ++i) {
                std::string c = i < cells.size() ? cells[i] : "";
                l += " " + c + std::string(w[i] - c.size(), ' ') + " |";
            }
            std::fprintf(out, "%s\n", l.c_str());
        };
        line(s.header);
        std::string sep = "|";
        for (size_t i = 0; i < w.size(); ++i) sep += std::string(w[i] + 2, '-') + "|";
        std::fprintf(out, "%s\n", sep.c_str());
        for (auto& row : s.rows) line(row);
        if (!s.notes.empty()) std::fprintf(out, "\n");
        for (auto& n : s.notes) std::fprintf(out, "- %s\n", n.c_str());
    }
    if (!failures.empty()) {
        std::fprintf(out, "\n### Could not run\n\n");
        for (auto& f : failures) std::fprintf(out, "- %s\n", f.c_str());
    }
    std::fflush(out);
}

// ---- statistics ---------------------------------------------------------------------------------

Stat stat_of(std::vector<double> v) {
    Stat s;
    s.n = v.size();
    if (v.empty()) return s;
    std::sort(v.begin(), v.end());
    size_t n = v.size();
    s.med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    s.lo = v.front();
    s.hi = v.back();
    return s;
}

double percentile(std::vector<double> v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
    if (rank < 1) rank = 1;
    return v[std::min(rank, v.size()) - 1];
}

double trimmed_half_spread(std::vector<double> v) {
    if (v.size() < 2) return 0;
    std::sort(v.begin(), v.end());
    if (v.size() >= 5) v = std::vector<double>(v.begin() + 1, v.end() - 1);
    return (v.back() - v.front()) / 2;
}

std::string overhead_verdict(const std::vector<double>& ratio, const std::vector<double>& floor_ratio, double target) {
    double over = stat_of(ratio).med - 1, fover = stat_of(floor_ratio).med - 1;
    if (over <= target) return "met";
    if (fover > target) {
        // Paired: how far above the floor stockade was in each run, against the spread of that.
        std::vector<double> d;
        for (size_t i = 0; i < ratio.size() && i < floor_ratio.size(); ++i) d.push_back(ratio[i] - floor_ratio[i]);
        double above = stat_of(d).med;
        if (above <= trimmed_half_spread(d)) return "below floor: met by reaching the floor";
        return fmt::format("missed: floor alone {:+.1f}%, stockade {:+.1f} pts above it", fover * 100, above * 100);
    }
    if (over - target <= trimmed_half_spread(ratio)) return "missed (within noise)";
    return "missed";
}

std::string fmt_ns(const Stat& s) {
    if (s.med >= 100000) return fmt::format("{:.0f} us [{:.0f}-{:.0f}]", s.med / 1e3, s.lo / 1e3, s.hi / 1e3);
    return fmt::format("{:.0f} ns [{:.0f}-{:.0f}]", s.med, s.lo, s.hi);
}

std::string fmt_pct(const Stat& r) {
    return fmt::format("{:+.1f}% [{:+.1f}..{:+.1f}]", (r.med - 1) * 100, (r.lo - 1) * 100, (r.hi - 1) * 100);
}

std::string fmt_ratio(const Stat& r) {
    return fmt::format("{:.3f} [{:.3f}-{:.3f}]", r.med, r.lo, r.hi);
}

// ---- clocks and signals -------------------------------------------------------------------------

uint64_t now_ns(int clock) {
    timespec ts{};
    clock_gettime(clock, &ts);
    return uint64_t(ts.tv_sec) * 1'000'000'000ull + uint64_t(ts.tv_nsec);
}

double mono_s() {
    return static_cast<double>(now_ns(CLOCK_MONOTONIC)) / 1e9;
}

std::atomic<bool> g_interrupted{false};

void install_signal_handlers() {
    struct sigaction sa {};
    sa.sa_handler = [](int) { g_interrupted = true; };
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART: blocking calls return EINTR and the waits notice
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGHUP, &sa, nullptr);
    signal(SIGPIPE, SIG_IGN);
}

void check_interrupted() {
    if (g_interrupted) throw Error("interrupted");
}

// ---- children -----------------------------------------------------------------------------------

Child::Child(Child&& o) noexcept : pid(o.pid), out_fd(o.out_fd), in_fd(o.in_fd) {
    o.pid = -1;
    o.out_fd = o.in_fd = -1;
}

Child& Child::operator=(Child&& o) noexcept {
    if (this != &o) {
        this->~Child();
        pid = o.pid;
        out_fd = o.out_fd;
        in_fd = o.in_fd;
        o.pid = -1;
        o.out_fd = o.in_fd = -1;
    }
    return *this;
}

Child::~Child() {
    if (in_fd >= 0) close(in_fd);
    if (out_fd >= 0) close(out_fd);
    if (pid > 0) {
        kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
    }
}

void Child::close_in() {
    if (in_fd >= 0) close(in_fd);
    in_fd = -1;
}

int Child::wait(double timeout_s, struct rusage* ru) {
    if (pid <= 0) return -1;
    int pfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
    double deadline = mono_s() + timeout_s;
    while (true) {
        if (g_interrupted || mono_s() > deadline) {
            if (pfd >= 0) close(pfd);
            kill(pid, SIGKILL);
            waitpid(pid, nullptr, 0);
            pid_t p = pid;
            pid = -1;
            if (g_interrupted) throw Error("interrupted");
            throw Error(fmt::format("child {} did not finish within {:.0f} s (killed)", p, timeout_s));
        }
        if (pfd >= 0) {
            pollfd f{pfd, POLLIN, 0};
            if (::poll(&f, 1, 100) > 0) break;
        } else {
            int st;
            pid_t r = wait4(pid, &st, WNOHANG, ru);
            if (r == pid) {
                pid = -1;
                return st;
            }
            usleep(1000);
        }
    }
    close(pfd);
    int st = 0;
    while (wait4(pid, &st, 0, ru) < 0 && errno == EINTR) {
    }
    pid = -1;
    return st;
}

std::string Child::read_all(double timeout_s) {
    std::string out;
    double deadline = mono_s() + timeout_s;
    char buf[65536];
    while (out_fd >= 0) {
        check_interrupted();
        if (mono_s() > deadline) throw Error("child output did not end in time");
        pollfd f{out_fd, POLLIN, 0};
        if (::poll(&f, 1, 100) <= 0) continue;
        ssize_t n = read(out_fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        out.append(buf, static_cast<size_t>(n));
    }
    return out;
}

std::string Child::read_line(double timeout_s) {
    std::string out;
    double deadline = mono_s() + timeout_s;
    char c;
    while (out_fd >= 0) {
        check_interrupted();
        if (mono_s() > deadline) throw Error("child did not answer in time");
        pollfd f{out_fd, POLLIN, 0};
        if (::poll(&f, 1, 100) <= 0) continue;
        ssize_t n = read(out_fd, &c, 1);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0 || c == '\n') break;
        out += c;
    }
    return out;
}

Child spawn(const std::vector<std::string>& argv, const SpawnOpts& o) {
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    std::vector<char*> envp;
    for (char** e = environ; *e; ++e) envp.push_back(*e);
    for (auto& e : o.env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    std::string procs = o.cgroup.empty() ? "" : stockade::cgroup::dir_of(o.cgroup) + "/cgroup.procs";
    int out[2] = {-1, -1}, in[2] = {-1, -1};
    int log_fd = -1;
    if (!o.out_file.empty()) {
        log_fd = open(o.out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (log_fd < 0) throw Error("opening " + o.out_file + ": " + std::strerror(errno));
    }
    if (o.capture_out && pipe2(out, O_CLOEXEC) != 0) throw Error("pipe");
    if (o.feed_in && pipe2(in, O_CLOEXEC) != 0) throw Error("pipe");
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) throw Error(std::string("fork: ") + std::strerror(errno));
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(126);
        if (!procs.empty()) {
            int fd = open(procs.c_str(), O_WRONLY | O_CLOEXEC);
            if (fd < 0 || write(fd, "0", 1) != 1) _exit(125);
            close(fd);
        }
        if (o.cpu >= 0) {
            cpu_set_t set;
            CPU_ZERO(&set);
            CPU_SET(o.cpu, &set);
            sched_setaffinity(0, sizeof set, &set);
        }
        if (o.capture_out) dup2(out[1], 1);
        if (o.feed_in) dup2(in[0], 0);
        if (log_fd >= 0) {
            if (!o.capture_out) dup2(log_fd, 1);
            dup2(log_fd, 2);
        }
        if (o.quiet) {
            int devnull = open("/dev/null", O_RDWR);
            if (!o.capture_out) dup2(devnull, 1);
            dup2(devnull, 2);
            if (!o.feed_in) dup2(devnull, 0);
        }
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, nullptr);
        execve(args[0], args.data(), envp.data());
        _exit(127);
    }
    if (log_fd >= 0) close(log_fd);
    Child c;
    c.pid = pid;
    if (o.capture_out) {
        close(out[1]);
        c.out_fd = out[0];
    }
    if (o.feed_in) {
        close(in[0]);
        c.in_fd = in[1];
    }
    return c;
}

// ---- cgroups ------------------------------------------------------------------------------------

std::string cgroup_base() {
    return "/stockade-bench-" + std::to_string(getpid());
}

void remove_cgroup_tree(const std::string& rel) {
    if (stockade::cgroup::root().empty()) return;
    std::string top = stockade::cgroup::dir_of(rel.empty() ? cgroup_base() : rel);
    std::error_code ec;
    if (!fs::is_directory(top, ec)) return;
    std::vector<std::string> dirs;
    for (auto it = fs::recursive_directory_iterator(top, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec))
        if (it->is_directory(ec)) dirs.push_back(it->path().string());
    std::sort(dirs.begin(), dirs.end(), [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
    dirs.push_back(top);
    for (auto& d : dirs) {
        for (int i = 0; i < 200; ++i) {
            if (rmdir(d.c_str()) == 0 || errno == ENOENT) break;
            if (errno != EBUSY) break;
            usleep(10000);
        }
    }
}

void remove_stale_leftovers() {
    auto dead_bench = [](const std::string& name) {
        const std::string prefix = "stockade-bench-";
        if (name.rfind(prefix, 0) != 0) return false;
        std::string pid = name.substr(prefix.size());
        if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos) return false;
        return !fs::exists("/proc/" + pid);
    };
    std::error_code ec;
    if (!stockade::cgroup::root().empty())
        for (auto& e : fs::directory_iterator(stockade::cgroup::root(), ec))
            if (e.is_directory(ec) && dead_bench(e.path().filename().string()))
                remove_cgroup_tree("/" + e.path().filename().string());
    for (const char* dir : {"/tmp", "/dev/shm"})
        for (auto& e : fs::directory_iterator(dir, ec))
            if (e.is_directory(ec) && dead_bench(e.path().filename().string())) fs::remove_all(e.path(), ec);
}

ScratchCgroup::ScratchCgroup(const std::string& leaf) : rel_(cgroup_base() + "/" + leaf) {
    id_ = stockade::cgroup::create(rel_);
}

ScratchCgroup::~ScratchCgroup() {
    stockade::cgroup::remove(rel_, 2000);
    rmdir(stockade::cgroup::dir_of(cgroup_base()).c_str());  // the parent, once empty
}

// ---- BPF ----------------------------------------------------------------------------------------

namespace {
std::mutex g_own_mu;
std::set<uint32_t> g_own_ids;

std::vector<uint32_t> held_program_ids() {
    std::vector<uint32_t> ids;
    std::error_code ec;
    for (auto& e : fs::directory_iterator("/proc/self/fdinfo", ec)) {
        std::ifstream f(e.path());
        std::string line;
        while (std::getline(f, line))
            if (line.rfind("prog_id:", 0) == 0) ids.push_back(static_cast<uint32_t>(std::stoul(line.substr(8))));
    }
    return ids;
}
}  // namespace

void note_own_programs() {
    auto ids = held_program_ids();
    std::lock_guard lk(g_own_mu);
    g_own_ids.insert(ids.begin(), ids.end());
}

std::map<std::string, ProgRun> own_program_runs() {
    std::map<std::string, ProgRun> out;
    std::set<uint32_t> seen;
    for (uint32_t id : held_program_ids()) {
        if (!seen.insert(id).second) continue;
        int fd = bpf_prog_get_fd_by_id(id);
        if (fd < 0) continue;
        bpf_prog_info info{};
        __u32 len = sizeof info;
        if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0) {
            auto& r = out[info.name];
            r.cnt += info.run_cnt;
            r.ns += info.run_time_ns;
        }
        close(fd);
    }
    return out;
}

std::vector<std::string> foreign_tracing_programs() {
    // Attached programs only (links): syscall, sched and perf hooks anywhere, socket hooks on the
    // root cgroup. Programs merely loaded, or attached to another cgroup, cost our loops nothing.
    std::vector<std::string> out;
    std::set<uint32_t> own;
    {
        std::lock_guard lk(g_own_mu);
        own = g_own_ids;
    }
    for (uint32_t id : held_program_ids()) own.insert(id);
    uint64_t root_cg = 0;
    try {
        root_cg = stockade::cgroup::id_of("/");
    } catch (const std::exception&) {
    }
    __u32 id = 0;
    while (bpf_link_get_next_id(id, &id) == 0) {
        int fd = bpf_link_get_fd_by_id(id);
        if (fd < 0) continue;
        bpf_link_info info{};
        __u32 len = sizeof info;
        bool costly = false;
        if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 && !own.count(info.prog_id)) {
            switch (info.type) {
                case BPF_LINK_TYPE_RAW_TRACEPOINT:
                case BPF_LINK_TYPE_TRACING:
                case BPF_LINK_TYPE_PERF_EVENT:
                case BPF_LINK_TYPE_KPROBE_MULTI: costly = true; break;
                case BPF_LINK_TYPE_CGROUP: costly = info.cgroup.cgroup_id == root_cg; break;
                default: break;
            }
        }
        close(fd);
        if (!costly) continue;
        std::string name = "prog " + std::to_string(info.prog_id);
        int pfd = bpf_prog_get_fd_by_id(info.prog_id);
        if (pfd >= 0) {
            bpf_prog_info pi{};
            __u32 plen = sizeof pi;
            if (bpf_obj_get_info_by_fd(pfd, &pi, &plen) == 0) name = pi.name;
            close(pfd);
        }
        out.push_back(name + "#" + std::to_string(info.prog_id));
    }
    return out;
}

std::vector<std::string> wait_for_clean_host(double max_s) {
    double deadline = mono_s() + max_s;
    bool told = false;
    while (true) {
        auto f = foreign_tracing_programs();
        if (f.empty() || mono_s() >= deadline || g_interrupted) return f;
        if (!told) {
            std::fprintf(stderr, "  waiting up to %.0f s for %zu BPF programs of other processes to go away\n",
                         deadline - mono_s(), f.size());
            told = true;
        }
        usleep(500000);
    }
}

FloorProbe::FloorProbe(const std::string& prog, uint64_t target_cgroup) {
    skel_ = bench_floor__open();
    if (!skel_) throw Error(std::string("opening bench/floor.bpf.c: ") + std::strerror(errno));
    skel_->rodata->target_cgroup = target_cgroup;
    bpf_program* chosen = nullptr;
    bpf_program* p;
    bpf_object__for_each_program(p, skel_->obj) {
        bool me = prog == bpf_program__name(p);
        bpf_program__set_autoload(p, me);
        if (me) chosen = p;
    }
    int err = chosen ? bench_floor__load(skel_) : -ENOENT;
    if (err) {
        bench_floor__destroy(skel_);
        skel_ = nullptr;
        throw Error("loading " + prog + " of bench/floor.bpf.c: " + std::strerror(-err));
    }
    link_ = bpf_program__attach(chosen);
    if (!link_) {
        int e = errno;
        bench_floor__destroy(skel_);
        skel_ = nullptr;
        throw Error("attaching " + prog + " to its tracepoint: " + std::strerror(e));
    }
    note_own_programs();
}

FloorProbe::~FloorProbe() {
    if (link_) bpf_link__destroy(link_);
    if (skel_) bench_floor__destroy(skel_);
}

// ---- files --------------------------------------------------------------------------------------

std::string slurp(const std::string& path) {
    std::ifstream f(path);
    return std::string(std::istreambuf_iterator<char>(f), {});
}

void write_file(const std::string& path, const std::string& content) {
    fs::create_directories(fs::path(path).parent_path());
    std::ofstream f(path);
    f << content;
    if (!f) throw Error("writing " + path);
}

uint64_t proc_status_kib(pid_t pid, const char* field) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/status");
    std::string line, want = std::string(field) + ":";
    while (std::getline(f, line))
        if (line.rfind(want, 0) == 0) {
            std::istringstream is(line.substr(want.size()));
            uint64_t v = 0;
            is >> v;
            return v;
        }
    return 0;
}

}  // namespace bench
