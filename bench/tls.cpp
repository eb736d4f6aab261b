// 1d. TLS uprobes and pipe I/O: what stockade's uprobes on OpenSSL (SSL_write, SSL_write_ex,
// SSL_read, SSL_read_ex, uretprobes on the reads) and its sys_exit hook cost a process that is
// not an agent, while an agent is tracked; and what they cost an agent.
//
// The measured child (`stockade-bench _tls SECONDS`) runs two loops over an in-memory TLS
// connection and a pipe: no file, no network, so every added nanosecond is a probe's.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fmt/format.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "bench.hpp"
#include "bench_floor.skel.h"
#include "common/error.hpp"
#include "probe/tls_targets.hpp"

namespace bench {

using stockade::Error;

namespace {

constexpr int kRecord = 1024;  // plaintext bytes per SSL_write
constexpr int kPipeBytes = 64;

// Where stockade puts its uprobes in OpenSSL (userspace/probe/tls_targets.cpp, the same plan
// Probe::attach_tls() follows): reads also get a uretprobe.
bool is_read(stockade::probe::TlsProbePoint::Kind k) {
    using K = stockade::probe::TlsProbePoint::Kind;
    return k == K::Read || k == K::ReadEx;
}

uint64_t cpu_ns() {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return uint64_t(ts.tv_sec) * 1'000'000'000ull + uint64_t(ts.tv_nsec);
}

[[noreturn]] void die(const char* what) {
    std::fprintf(stderr, "_tls: %s: ", what);
    ERR_print_errors_fp(stderr);
    std::fprintf(stderr, "%s\n", std::strerror(errno));
    std::exit(3);
}

// A client and a server SSL object joined by a BIO pair, handshake completed. The server's key
// and certificate are made here (P-256, self-signed, one day): nothing is read from disk.
struct TlsPair {
    SSL_CTX* sctx = nullptr;
    SSL_CTX* cctx = nullptr;
    SSL* server = nullptr;
    SSL* client = nullptr;

    TlsPair() {
        EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
        if (!key) die("generating a key");
        X509* cert = X509_new();
        if (!cert) die("X509_new");
        X509_set_version(cert, 2);
        ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
        X509_gmtime_adj(X509_getm_notBefore(cert), -60);
        X509_gmtime_adj(X509_getm_notAfter(cert), 86400);
        X509_set_pubkey(cert, key);
        X509_NAME* name = X509_get_subject_name(cert);
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("stockade-bench"),
                                   -1, -1, 0);
        X509_set_issuer_name(cert, name);
        if (!X509_sign(cert, key, EVP_sha256())) die("signing the certificate");

        sctx = SSL_CTX_new(TLS_server_method());
        cctx = SSL_CTX_new(TLS_client_method());
        if (!sctx || !cctx) die("SSL_CTX_new");
        if (SSL_CTX_use_certificate(sctx, cert) != 1 || SSL_CTX_use_PrivateKey(sctx, key) != 1)
            die("installing the certificate");
        SSL_CTX_set_num_tickets(sctx, 0);  // no post-handshake tickets in the measured reads
        SSL_CTX_set_verify(cctx, SSL_VERIFY_NONE, nullptr);
        X509_free(cert);
        EVP_PKEY_free(key);

        server = SSL_new(sctx);
        client = SSL_new(cctx);
        if (!server || !client) die("SSL_new");
        BIO *cb = nullptr, *sb = nullptr;
        if (!BIO_new_bio_pair(&cb, 64 << 10, &sb, 64 << 10)) die("BIO_new_bio_pair");
        SSL_set_bio(client, cb, cb);
        SSL_set_bio(server, sb, sb);
        SSL_set_connect_state(client);
        SSL_set_accept_state(server);
        bool cdone = false, sdone = false;
        for (int i = 0; i < 100 && !(cdone && sdone); ++i) {
            auto step = [](SSL* s, bool& done) {
                if (done) return;
                int rc = SSL_do_handshake(s);
                if (rc == 1) {
                    done = true;
                    return;
                }
                int e = SSL_get_error(s, rc);
                if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) die("TLS handshake");
            };
            step(client, cdone);
            step(server, sdone);
        }
        if (!cdone || !sdone) die("TLS handshake did not complete");
    }
    ~TlsPair() {
        SSL_free(client);
        SSL_free(server);
        SSL_CTX_free(cctx);
        SSL_CTX_free(sctx);
    }
};

// The file this process maps libssl from (where uprobes must go to see its calls).
std::string mapped_libssl() {
    std::ifstream f("/proc/self/maps");
    std::string line;
    while (std::getline(f, line)) {
        auto slash = line.find('/');
        if (slash == std::string::npos) continue;
        std::string path = line.substr(slash);
        if (path.find("/libssl.so") != std::string::npos) {
            std::error_code ec;
            auto real = std::filesystem::canonical(path, ec);
            return ec ? path : real.string();
        }
    }
    return "";
}

}  // namespace

// _tls SECONDS: the TLS echo loop then the pipe loop, each for SECONDS after a warm-up; prints
// "tls_iterations tls_cpu_ns pipe_iterations pipe_cpu_ns" and both iteration counts with the
// warm-ups (for the per-invocation counts of BPF_ENABLE_STATS).
int tls_main(int argc, char** argv) {
    if (argc < 3) return 2;
    double secs = std::atof(argv[2]);
    TlsPair t;
    static char out[kRecord], in[kRecord];
    std::memset(out, 'x', sizeof out);  // not HTTP: a tracked write is recorded, never judged
    auto tls_iter = [&] {
        if (SSL_write(t.client, out, kRecord) != kRecord) die("client SSL_write");
        if (SSL_read(t.server, in, kRecord) != kRecord) die("server SSL_read");
        if (SSL_write(t.server, in, kRecord) != kRecord) die("server SSL_write");
        if (SSL_read(t.client, in, kRecord) != kRecord) die("client SSL_read");
    };
    int p[2];
    if (pipe(p) != 0) die("pipe");
    char pbuf[kPipeBytes];
    std::memset(pbuf, 'x', sizeof pbuf);  // not '{' nor 'C': not an MCP message, never recorded
    auto pipe_iter = [&] {
        if (write(p[1], pbuf, kPipeBytes) != kPipeBytes) die("pipe write");
        if (read(p[0], pbuf, kPipeBytes) != kPipeBytes) die("pipe read");
    };
    auto run = [](auto& iter, int batch, double seconds, uint64_t& ops) {
        uint64_t end = now_ns(CLOCK_MONOTONIC) + static_cast<uint64_t>(seconds * 1e9);
        uint64_t c0 = cpu_ns();
        ops = 0;
        do {
            for (int i = 0; i < batch; ++i) iter();
            ops += static_cast<uint64_t>(batch);
        } while (now_ns(CLOCK_MONOTONIC) < end);
        return cpu_ns() - c0;
    };
    uint64_t tls_ops, pipe_ops, warm_ops, pipe_warm_ops;
    double warm = std::max(0.01, secs / 10);
    run(tls_iter, 16, warm, warm_ops);
    uint64_t tls_ns = run(tls_iter, 16, secs, tls_ops);
    run(pipe_iter, 256, warm, pipe_warm_ops);
    uint64_t pipe_ns = run(pipe_iter, 256, secs, pipe_ops);
    std::printf("%llu %llu %llu %llu %llu %llu\n", (unsigned long long)tls_ops, (unsigned long long)tls_ns,
                (unsigned long long)pipe_ops, (unsigned long long)pipe_ns, (unsigned long long)(warm_ops + tls_ops),
                (unsigned long long)(pipe_warm_ops + pipe_ops));
    return 0;
}

namespace {

// The floor for this benchmark: no-op programs (bench/floor.bpf.c) at every point stockade
// attaches while an agent is tracked: tp_btf/sys_exit, and a uprobe (plus a uretprobe on the
// reads) on each OpenSSL entry point. The least those attachments can cost.
// For experiments, STOCKADE_BENCH_TLS_FLOOR=FUNC[+OFFSET] replaces the uprobes by one no-op
// uprobe on FUNC at OFFSET bytes into it (no uretprobe): what one uprobe costs on a given
// instruction (docs/performance.md, "TLS uprobes").
class TlsFloor {
   public:
    explicit TlsFloor(const std::string& libssl) {
        std::string only;
        size_t only_off = 0;
        if (const char* e = getenv("STOCKADE_BENCH_TLS_FLOOR"); e && *e) {
            only = e;
            if (auto plus = only.find('+'); plus != std::string::npos) {
                only_off = std::stoul(only.substr(plus + 1), nullptr, 0);
                only.resize(plus);
            }
        }
        skel_ = bench_floor__open();
        if (!skel_) throw Error(std::string("opening bench/floor.bpf.c: ") + std::strerror(errno));
        std::set<std::string> want{"floor_noop", "floor_uprobe_noop", "floor_uretprobe_noop"};
        bpf_program* p;
        bpf_object__for_each_program(p, skel_->obj) bpf_program__set_autoload(p, want.count(bpf_program__name(p)) > 0);
        if (int err = bench_floor__load(skel_)) fail("loading the floor programs", err);
        add("tp_btf/sys_exit", bpf_program__attach(skel_->progs.floor_noop));
        if (!only.empty()) {
            LIBBPF_OPTS(bpf_uprobe_opts, o, .retprobe = false, .func_name = only.c_str());
            add("uprobe:" + only,
                bpf_program__attach_uprobe_opts(skel_->progs.floor_uprobe_noop, -1, libssl.c_str(), only_off, &o));
        }
        for (auto& pt : stockade::probe::plan_tls_probes(libssl).points) {
            if (!only.empty()) break;
            const char* sym = pt.symbol.empty() ? nullptr : pt.symbol.c_str();
            size_t off = pt.symbol.empty() ? pt.offset : 0;
            LIBBPF_OPTS(bpf_uprobe_opts, o, .retprobe = false, .func_name = sym);
            add("uprobe:" + pt.name,
                bpf_program__attach_uprobe_opts(skel_->progs.floor_uprobe_noop, -1, libssl.c_str(), off, &o));
            if (!is_read(pt.kind)) continue;
            LIBBPF_OPTS(bpf_uprobe_opts, r, .retprobe = true, .func_name = sym);
            add("uretprobe:" + pt.name,
                bpf_program__attach_uprobe_opts(skel_->progs.floor_uretprobe_noop, -1, libssl.c_str(), off, &r));
        }
        note_own_programs();
    }
    ~TlsFloor() { release(); }
    TlsFloor(const TlsFloor&) = delete;
    TlsFloor& operator=(const TlsFloor&) = delete;

   private:
    void release() {
        for (auto* l : links_) bpf_link__destroy(l);
        links_.clear();
        if (skel_) bench_floor__destroy(skel_);
        skel_ = nullptr;
    }
    [[noreturn]] void fail(const std::string& what, int err) {
        release();
        throw Error(what + ": " + std::strerror(err < 0 ? -err : err));
    }
    void add(const std::string& what, bpf_link* l) {
        if (!l) fail("attaching the floor's " + what, errno);
        links_.push_back(l);
    }
    ::bench_floor* skel_ = nullptr;
    std::vector<bpf_link*> links_;
};

enum Mode { kOff, kFloor, kIdle, kUntracked, kTracked, kModes };
const char* const kModeNames[] = {"off", "floor", "on, idle", "on, untracked", "on, tracked"};

struct LoopDef {
    const char* label;
    int calls;  // per iteration
    const char* unit;
};
const LoopDef kLoops[] = {
    {"TLS echo, 1 KiB each way: client SSL_write, server SSL_read, server SSL_write, client SSL_read", 4, "SSL call"},
    {"pipe: write 64 B, read them back", 2, "syscall"},
};

// The uprobes Probe::attached() must list once an agent is tracked.
std::vector<std::string> expected_uprobes(const std::string& libssl) {
    std::vector<std::string> out;
    for (auto& pt : stockade::probe::plan_tls_probes(libssl).points) {
        out.push_back("uprobe:" + libssl + ":" + pt.name);
        if (is_read(pt.kind)) out.push_back("uretprobe:" + libssl + ":" + pt.name);
    }
    return out;
}

}  // namespace

void bench_tls(const Options& o, Report& report) {
    std::string libssl = mapped_libssl();
    if (libssl.empty())
        throw Error("stockade-bench does not map libssl: the TLS loop would not go through the probed library");
    std::string dir = o.scratch + "/tls";
    std::filesystem::create_directories(dir);
    ScratchCgroup loop_cg("tls-untracked"), agent_cg("tls-agent");
    double secs = o.quick ? 0.03 : 0.3;
    // --quick: one repetition (loading stockade's probe and detaching uprobes take ~2 s a run)
    int reps = o.quick ? 1 : o.reps;

    std::map<int, std::vector<double>> tls_ns, pipe_ns;  // mode -> ns per iteration, one per rep
    std::set<std::string> foreign;
    uint64_t tracked_events = 0, tracked_lost = 0;
    double drain_s = 0, tracked_iters = 0;

    auto run_child = [&](Mode m, const ScratchCgroup& cg, double seconds) {
        check_interrupted();
        SpawnOpts so;
        so.cgroup = cg.rel();
        so.cpu = o.loop_cpu;
        so.capture_out = true;
        Child c = spawn({o.self, "_tls", fmt::format("{}", seconds)}, so);
        std::string out = c.read_all(60 + seconds * 40);
        int st = c.wait(60);
        unsigned long long t_ops = 0, t_ns = 0, p_ops = 0, p_ns = 0, t_all = 0, p_all = 0;
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 ||
            std::sscanf(out.c_str(), "%llu %llu %llu %llu %llu %llu", &t_ops, &t_ns, &p_ops, &p_ns, &t_all, &p_all) !=
                6 ||
            !t_ops || !p_ops)
            throw Error(fmt::format("the TLS/pipe loop failed ({} mode, status {:#x})", kModeNames[m], st));
        return std::array<double, 6>{double(t_ops), double(t_ns),  double(p_ops),
                                     double(p_ns),  double(t_all), double(p_all)};
    };
    auto measure = [&](Mode m, const ScratchCgroup& cg) {
        auto r = run_child(m, cg, secs);
        tls_ns[m].push_back(r[1] / r[0]);
        pipe_ns[m].push_back(r[3] / r[2]);
        return r;
    };
    // Where the untracked time goes: run time of each stockade program per iteration
    // (BPF_ENABLE_STATS, on only for one extra child, never for the paired figures); the rest of the
    // added time is the trap itself.
    std::string profile;
    auto profile_untracked = [&]() -> std::string {
        int stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
        if (stats_fd < 0) return "";
        auto before = own_program_runs();
        std::array<double, 6> r{};
        try {
            r = run_child(kUntracked, loop_cg, secs);
        } catch (...) {
            close(stats_fd);
            throw;
        }
        auto after = own_program_runs();
        close(stats_fd);
        std::string progs;
        double total = 0;
        for (auto& [name, a] : after) {
            bool sys_exit = name == "sk_sys_exit";
            if (name.rfind("sk_ssl", 0) != 0 && !sys_exit) continue;
            auto& b = before[name];
            double cnt = double(a.cnt - b.cnt), ns = double(a.ns - b.ns);
            if (cnt <= 0) continue;
            // per iteration, warm-ups included (sk_sys_exit also runs for the child's start-up)
            double per = sys_exit ? cnt / r[5] : cnt / r[4];
            progs += fmt::format("{}{} {:.0f} ns x {:.2f}/{}", progs.empty() ? "" : ", ", name, ns / cnt, per,
                                 name == "sk_sys_exit" ? "pipe iteration" : "TLS iteration");
            if (!sys_exit) total += ns / r[4];
        }
        return fmt::format(
            "untracked, BPF program run time (BPF_ENABLE_STATS, one extra run): {}; the uprobe programs take {:.0f} "
            "ns per TLS iteration, the rest of the added time is the uprobe mechanism itself (the int3 trap, the "
            "out-of-line single-step of the instruction it replaced, the return trampoline)",
            progs.empty() ? "none ran" : progs, total);
    };
    auto has_uprobes = [&](const std::vector<std::string>& attached) {
        std::set<std::string> a(attached.begin(), attached.end());
        std::vector<std::string> missing;
        for (auto& e : expected_uprobes(libssl))
            if (!a.count(e)) missing.push_back(e);
        return missing;
    };

    for (int rep = 0; rep < reps; ++rep) {
        std::fprintf(stderr, "  tls: repetition %d/%d\n", rep + 1, reps);
        for (auto& f : wait_for_clean_host(o.quick ? 0 : 20)) foreign.insert(f.substr(0, f.find('#')));
        auto off = [&] {
            for (auto& f : foreign_tracing_programs()) foreign.insert(f.substr(0, f.find('#')));
            measure(kOff, loop_cg);
        };
        auto floor = [&] {
            TlsFloor f(libssl);
            measure(kFloor, loop_cg);
        };
        auto on = [&] {
            StockadeOn s(dir + fmt::format("/on{}", rep), agent_cg.rel(), o.loop_cpu == 0 ? 1 : 0);
            auto tls_files = s.tls_libraries();
            if (std::find(tls_files.begin(), tls_files.end(), libssl) == tls_files.end())
                throw Error("stockade's probe does not cover " + libssl +
                            ", the libssl this benchmark uses: the numbers would be meaningless");
            if (has_uprobes(s.attached()).size() != expected_uprobes(libssl).size())
                throw Error("TLS uprobes attached while nothing is tracked: \"on, idle\" would not be idle");
            measure(kIdle, loop_cg);  // nothing tracked: neither sys_exit nor the uprobes are attached
            s.track(agent_cg);        // an agent (its cgroup still empty) is tracked: everything is attached
            auto missing = has_uprobes(s.attached());
            if (!missing.empty()) {
                std::string m;
                for (auto& x : missing) m += "\n  " + x;
                throw Error(
                    "an agent is tracked but these TLS uprobes are not attached (the numbers would be "
                    "meaningless):" +
                    m);
            }
            measure(kUntracked, loop_cg);
            if (rep == reps - 1) profile = profile_untracked();
            double d0 = s.drain_cpu_s();
            measure_tracked(
                s, agent_cg,
                [&] {
                    auto r = measure(kTracked, agent_cg);
                    tracked_iters += r[4];  // the drain thread also decodes the warm-up's records
                },
                tracked_events, tracked_lost);
            drain_s += s.drain_cpu_s() - d0;
        };
        interleave(rep, off, floor, on);
        for (auto& f : foreign_tracing_programs()) foreign.insert(f.substr(0, f.find('#')));
    }

    Section s;
    s.title = "1d. TLS uprobes and pipe I/O: CPU ns per iteration and overhead against off (median [min-max] of " +
              std::to_string(reps) + " runs, paired per run)";
    s.header = {"loop",          "off",        "floor: no-op uprobes + sys_exit", "on, idle (nothing tracked)",
                "on, untracked", "on, tracked"};
    std::vector<std::string> summary;
    for (size_t li = 0; li < std::size(kLoops); ++li) {
        auto& l = kLoops[li];
        auto& v = li == 0 ? tls_ns : pipe_ns;
        auto& off = v[kOff];
        auto ratios = [&](Mode m) {
            std::vector<double> r;
            for (size_t i = 0; i < off.size() && i < v[m].size(); ++i) r.push_back(v[m][i] / off[i]);
            return r;
        };
        auto added = [&](Mode m) {
            std::vector<double> d;
            for (size_t i = 0; i < off.size() && i < v[m].size(); ++i) d.push_back((v[m][i] - off[i]) / l.calls);
            return stat_of(d);
        };
        auto cell = [&](Mode m) {
            Stat a = added(m);
            return fmt::format("{:.0f} ns, {}, {:+.0f} ns/{} [{:+.0f}..{:+.0f}]", stat_of(v[m]).med,
                               fmt_pct(stat_of(ratios(m))), a.med, l.unit, a.lo, a.hi);
        };
        s.rows.push_back({l.label, fmt_ns(stat_of(off)), cell(kFloor), cell(kIdle), cell(kUntracked), cell(kTracked)});
        std::string what = li == 0 ? "tls" : "pipe";
        for (Mode m : {kUntracked, kTracked}) {
            Stat r = stat_of(ratios(m));
            summary.push_back(fmt::format("{} {}: {:+.1f}% per {} ({:+.0f} ns); floor {:+.1f}% ({:+.0f} ns)", what,
                                          m == kUntracked ? "untracked" : "tracked", (r.med - 1) * 100, l.unit,
                                          added(m).med, (stat_of(ratios(kFloor)).med - 1) * 100, added(kFloor).med));
        }
    }
    for (auto& line : summary) s.notes.push_back(line);
    s.notes.push_back(fmt::format(
        "each figure: one fresh process (stockade-bench _tls) pinned to CPU {}, {:.2f} s per loop after a warm-up, "
        "its CPU time per iteration; the TLS pair (TLS 1.3, P-256 self-signed key made in-process, BIO pair, no "
        "session tickets) is set up before timing; modes interleaved within each run; ratio = mode / off of the "
        "same run; ns per call = (mode - off) / calls per iteration",
        o.loop_cpu, secs));
    std::string points;
    for (auto& pt : stockade::probe::plan_tls_probes(libssl).points)
        points += (points.empty() ? "" : ", ") + pt.name + (is_read(pt.kind) ? " (+ uretprobe)" : "");
    s.notes.push_back("uprobes on " + libssl + ": " + points +
                      "; an iteration calls SSL_write twice and SSL_read twice (each SSL_read also returns through "
                      "the uretprobe trampoline)");
    s.notes.push_back(
        "floor: no-op programs of bench/floor.bpf.c on the same uprobes and uretprobes and on tp_btf/sys_exit. "
        "idle: stockade's Probe loaded, nothing tracked (no uprobe, no sys_exit). untracked: an agent's (empty) "
        "cgroup is tracked, so all the uprobes and sys_exit are attached (checked with Probe::attached()), the "
        "loop runs outside it. tracked: the loop runs in that cgroup (monitor boundary, no tools.http rules)");
    if (const char* e = getenv("STOCKADE_BENCH_TLS_FLOOR"); e && *e)
        s.notes.push_back(std::string("WARNING: STOCKADE_BENCH_TLS_FLOOR=") + e +
                          ": the floor column is one no-op uprobe there, not stockade's attachments");
    if (!profile.empty()) s.notes.push_back(profile);
    s.notes.push_back(fmt::format(
        "tracked runs produced {} kernel records (one per SSL_write; the pipe loop's writes are not MCP "
        "messages and are not recorded), {} lost; the daemon's drain thread used {:.0f} ns of CPU per tracked "
        "TLS iteration",
        tracked_events, tracked_lost, tracked_iters > 0 ? drain_s * 1e9 / tracked_iters : 0.0));
    if (!foreign.empty()) {
        std::string names;
        for (auto& f : foreign) names += (names.empty() ? "" : ", ") + f;
        s.notes.push_back("WARNING: BPF programs of other processes were attached during the runs (" + names +
                          "): the baseline was not a clean host");
    }
    report.sections.push_back(std::move(s));
}

}  // namespace bench
