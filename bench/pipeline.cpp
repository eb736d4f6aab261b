// 3. Throughput of the daemon's event path: the Pipeline (identity -> decide -> journal) driven
// by synthetic events on one core, and the whole path from the kernel (ring buffer -> decode ->
// Pipeline) with a tracked process generating syscalls.
#include <arpa/inet.h>
#include <fmt/format.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>

#include "bench.hpp"
#include "common/error.hpp"
#include "policy/policy.hpp"

namespace bench {

namespace fs = std::filesystem;
using stockade::Action;
using stockade::Error;
using stockade::Event;

namespace {

constexpr uint64_t kAgentCgroup = 0xbe0c4;

// A coding agent's boundary (as rules/coder.yaml): subtree, exact and glob rules, exec and network.
std::string coder_boundary(const std::string& journal_allowed) {
    return "agent: coder\nmode: monitor\nhome: /srv/agents/coder\nmatch:\n  cgroup: /bench/pipeline-agent\n"
           "journal_allowed: " +
           journal_allowed + R"Y(
files:
  read:
    - { name: repo-read, pattern: /srv/agents/coder/repo/** }
    - ~/.gitconfig
    - "/srv/agents/coder/docs/*.md"
  write:
    - { name: repo-write, pattern: /srv/agents/coder/repo/** }
    - /tmp/**
  create:
    - /srv/agents/coder/repo/**
  delete:
    - /srv/agents/coder/repo/**
    - /tmp/**
  never:
    - { name: ssh-keys, pattern: ~/.ssh/** }
    - "**/.env"
    - "**/*.pem"
exec:
  allow:
    - /usr/bin/git
    - /usr/lib/git-core/**
    - /usr/bin/dash
    - /usr/bin/make
    - /usr/bin/gcc-*
    - /usr/lib/gcc/**
    - /usr/bin/x86_64-linux-gnu-*
    - /usr/bin/python3*
  deny:
    - /usr/bin/curl
network:
  connect:
    - { name: dev-server, cidr: 127.0.0.1, ports: 8000-8100, protocol: tcp }
    - { name: dns, cidr: 127.0.0.53, ports: 53 }
  deny:
    - { name: metadata, cidr: 169.254.169.254 }
  bind: [ "8000-8100" ]
)Y";
}

Event base_event(uint32_t pid, Action a) {
    Event e;
    e.action = a;
    e.pid = e.tid = pid;
    e.ppid = 4242;
    e.uid = e.gid = 1001;
    e.start_ns = uint64_t(pid) * 1'000'000'000ull;
    e.parent_start_ns = 1'000'000'000ull;
    e.cgroup_id = kAgentCgroup;
    e.kernel_agent = 1;
    e.comm = "cc1";
    return e;
}

// The synthetic stream: what a build looks like to the daemon. Per 100 events: 60 reads in the
// repository, 10 system reads, 10 writes that create, 5 execs, 4 connects, 5 unlinks in /tmp,
// 3 forks and 3 exits; `violations` of every 100 events instead read /etc/shadow.
std::vector<Event> make_stream(int processes, int violations_per_100) {
    std::vector<Event> out;
    for (int p = 0; p < processes; ++p) {
        Event e = base_event(200000 + p, Action::Exec);
        e.path = "/usr/bin/gcc-12";
        e.argv = {"gcc", "-O2", "-c", "x.c"};
        e.cwd = "/srv/agents/coder/repo";
        out.push_back(e);
    }
    uint32_t rnd = 12345;
    auto next = [&] {
        rnd = rnd * 1103515245u + 12345u;
        return (rnd >> 8) % 100;
    };
    uint32_t child = 300000;
    for (int i = 0; i < 8192; ++i) {
        uint32_t pid = 200000 + static_cast<uint32_t>(i % processes);
        uint32_t k = next();
        Event e;
        if (k < static_cast<uint32_t>(violations_per_100)) {
            e = base_event(pid, Action::Open);
            e.path = "/etc/shadow";
            e.access = stockade::kRead;
        } else if (k < 60) {
            e = base_event(pid, Action::Open);
            e.path = fmt::format("/srv/agents/coder/repo/src/mod{}/file{}.c", i % 13, i % 97);
            e.access = stockade::kRead;
            e.result = 3;
        } else if (k < 70) {
            static const char* sys[] = {"/usr/lib/x86_64-linux-gnu/libc.so.6", "/etc/ld.so.cache",
                                        "/usr/include/stdio.h", "/usr/lib/gcc/x86_64-linux-gnu/12/include/stddef.h"};
            e = base_event(pid, Action::Open);
            e.path = sys[i % 4];
            e.access = stockade::kRead;
            e.result = 3;
        } else if (k < 80) {
            e = base_event(pid, Action::Open);
            e.path = fmt::format("/srv/agents/coder/repo/build/obj{}.o", i % 53);
            e.access = stockade::kWrite | stockade::kCreate | stockade::kTruncate;
            e.result = 4;
        } else if (k < 85) {
            e = base_event(pid, Action::Exec);
            e.path = i % 2 ? "/usr/bin/git" : "/usr/lib/gcc/x86_64-linux-gnu/12/cc1";
            e.argv = {"cc1", "-quiet", "x.c", "-o", "/tmp/ccA1b2.s"};
            e.cwd = "/srv/agents/coder/repo";
        } else if (k < 89) {
            e = base_event(pid, Action::Connect);
            e.net.family = AF_INET;
            inet_pton(AF_INET, "127.0.0.1", e.net.bytes);
            e.net.port = 8000 + static_cast<uint16_t>(i % 50);
            e.net.sotype = SOCK_STREAM;
        } else if (k < 94) {
            e = base_event(pid, Action::Unlink);
            e.path = fmt::format("/tmp/cc{:05}.s", i % 1000);
        } else if (k < 97) {
            e = base_event(pid, Action::Fork);
            e.result = ++child;
            e.child_start_ns = uint64_t(child) * 1'000'000'000ull;
        } else {
            // the exit of the last forked child
            e = base_event(child, Action::Exit);
            e.start_ns = uint64_t(child) * 1'000'000'000ull;
            e.ppid = pid;
        }
        e.ktime_ns = 1'000'000'000ull + uint64_t(i) * 1000;
        out.push_back(std::move(e));
    }
    return out;
}

struct PipelineRun {
    double events_per_s = 0;
    uint64_t fed = 0, decided = 0, bad = 0, journal_errors = 0, records = 0;
};

PipelineRun run_pipeline(const std::string& dir, const std::string& journal_allowed, int violations, double secs) {
    auto res = stockade::policy::load_boundary_text("coder.yaml", coder_boundary(journal_allowed));
    if (!res.ok()) throw Error("pipeline boundary: " + stockade::policy::format_diagnostics(res.diagnostics));
    fs::remove_all(dir);
    fs::create_directories(dir);
    stockade::journal::WriterOptions wo;
    wo.path = dir + "/journal.jsonl";
    wo.fsync = stockade::journal::FsyncPolicy::Never;
    wo.mirror = stockade::journal::MirrorPolicy::Off;
    wo.group = "";
    wo.max_bytes = 0;
    stockade::journal::Writer writer(wo);

    identity::ProcessTable table;
    identity::AgentMatch m;
    m.name = "coder";
    m.id = 1;
    m.cgroups = {"/bench/pipeline-agent"};
    table.set_agents({m});
    table.bind_cgroup(kAgentCgroup, "/bench/pipeline-agent", "coder", "");

    PipelineRun r;
    stockade::judge::Actuator act;
    act.kill_process = [](uint32_t, uint64_t, std::string& err) {
        err = "monitor";
        return false;
    };
    act.kill_cgroup = [](const std::string&, std::string& err) {
        err = "monitor";
        return false;
    };
    act.journal = [&](stockade::journal::Record& rec) {
        try {
            writer.append(rec);
            ++r.records;
        } catch (const Error&) {
            ++r.journal_errors;
        }
    };
    act.kernel_rule_id = [](uint32_t) { return std::string(); };
    act.now_boot_ns = [] { return now_ns(CLOCK_BOOTTIME); };
    stockade::judge::Pipeline p(table, std::move(act));
    p.set_policy(res.set);

    std::vector<Event> stream = make_stream(16, violations);
    for (auto& e : stream) p.on_event(e);  // warm-up: the process table, the allocator, the caches
    uint64_t base = p.events();
    // Throughput per second of this thread's CPU time: preemption by other processes (a shared
    // machine) does not count, the journal's write(2) does.
    double c0 = static_cast<double>(now_ns(CLOCK_THREAD_CPUTIME_ID)) / 1e9;
    double t0 = mono_s(), t = t0;
    uint64_t fed = 0;
    do {
        for (auto& e : stream) p.on_event(e);
        fed += stream.size();
        t = mono_s();
    } while (t - t0 < secs);
    double cpu = static_cast<double>(now_ns(CLOCK_THREAD_CPUTIME_ID)) / 1e9 - c0;
    p.flush_summaries();
    r.fed = fed;
    r.decided = p.events() - base;
    r.bad = p.bad_records();
    r.events_per_s = static_cast<double>(r.decided) / cpu;
    return r;
}

}  // namespace

void bench_pipeline(const Options& o, Report& report) {
    // One core: this thread pinned, as stockaded's single main loop.
    OnOneCpu pinned(o.loop_cpu >= 0 ? o.loop_cpu : 0);

    struct Variant {
        const char* label;
        const char* journal_allowed;
        int violations;
        bool target;
    };
    const Variant variants[] = {
        {"all allowed, journal_allowed: summary", "summary", 0, true},
        {"1% violations (would-deny, each journaled), summary", "summary", 1, false},
        {"all allowed, journal_allowed: full (one record each)", "full", 0, false},
    };
    double secs = o.quick ? 0.1 : 1.0;
    Section s;
    s.title = fmt::format(
        "3a. Pipeline throughput on one core: synthetic events, real ProcessTable, decide() and "
        "journal::Writer (median [min-max] of {} runs)",
        o.reps);
    s.header = {"stream", "events decided per CPU-second", "lost/dropped", "journal records",
                "target >= 1,000,000/s, 0 lost"};
    // STOCKADE_BENCH_VARIANT=N runs only stream N (0-2): one stream per profile, e.g.
    // STOCKADE_BENCH_VARIANT=0 valgrind --tool=callgrind stockade-bench pipeline --quick --reps 1
    const char* only = std::getenv("STOCKADE_BENCH_VARIANT");
    int index = -1;
    for (auto& v : variants) {
        ++index;
        if (only && std::atoi(only) != index) continue;
        std::vector<double> eps;
        uint64_t dropped = 0, records = 0;
        for (int rep = 0; rep < o.reps; ++rep) {
            check_interrupted();
            auto r = run_pipeline(o.scratch + "/pipeline", v.journal_allowed, v.violations, secs);
            eps.push_back(r.events_per_s);
            dropped += (r.fed - r.decided) + r.bad + r.journal_errors;
            records += r.records;
        }
        Stat st = stat_of(eps);
        std::string verdict = !v.target ? "(no target)" : st.med >= 1e6 && dropped == 0 ? "met" : "missed";
        s.rows.push_back({v.label, fmt::format("{:.0f} [{:.0f}-{:.0f}]", st.med, st.lo, st.hi), std::to_string(dropped),
                          std::to_string(records), verdict});
    }
    s.notes.push_back(
        "stream: 16 processes of one agent; per 100 events 60 repository reads, 10 system reads, 10 "
        "creating writes, 5 execs, 4 connects, 5 unlinks, 3 forks, 3 exits; a coder-like boundary "
        "(subtree, exact and glob rules); journal fsync never, mirror off");
    s.notes.push_back("lost/dropped: events not decided + undecodable + journal appends that failed (all runs)");
    report.sections.push_back(std::move(s));
}

void bench_ringbuf(const Options& o, Report& report) {
    ScratchCgroup cg("ringbuf");
    std::string dir = o.scratch + "/ringbuf";
    write_file(dir + "/file", "x");
    double secs = o.quick ? 0.2 : 2.0;
    int drain_cpu = o.loop_cpu == 0 ? 1 : 0;
    Section s;
    s.title = fmt::format(
        "3b. Kernel -> ring buffer -> decode -> Pipeline: a tracked process looping openat+close "
        "(median [min-max] of {} runs)",
        o.reps);
    s.header = {"figure", "value"};
    std::vector<double> produced, consumer_ns, settle_ms;
    uint64_t lost = 0, events = 0, decided = 0, bad = 0;
    for (int rep = 0; rep < o.reps; ++rep) {
        check_interrupted();
        StockadeOn on(dir + fmt::format("/on{}", rep), cg.rel(), drain_cpu);
        on.track(cg);
        auto before = on.counts();
        double cpu0 = on.drain_cpu_s();
        SpawnOpts so;
        so.cgroup = cg.rel();
        so.cpu = o.loop_cpu;
        so.capture_out = true;
        Child c = spawn({o.self, "_loop", "openat", fmt::format("{}", secs), dir}, so);
        std::string out = c.read_all(60 + secs * 10);
        int st = c.wait(60);
        double t_end = mono_s();
        on.settle(10);
        settle_ms.push_back((mono_s() - t_end) * 1e3);
        unsigned long long ops = 0, ns = 0, cpu = 0;
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 ||
            std::sscanf(out.c_str(), "%llu %llu %llu", &ops, &ns, &cpu) != 3 || !ops)
            throw Error("the tracked openat loop failed");
        auto after = on.counts();
        uint64_t ev = after.kernel.events - before.kernel.events;
        uint64_t dec = after.pipeline_events - before.pipeline_events;
        produced.push_back(static_cast<double>(ops) / (static_cast<double>(ns) / 1e9));
        consumer_ns.push_back((on.drain_cpu_s() - cpu0) * 1e9 / static_cast<double>(std::max<uint64_t>(dec, 1)));
        lost += after.kernel.lost - before.kernel.lost;
        events += ev;
        decided += dec;
        bad += after.bad_records - before.bad_records;
        on.untrack(cg);
    }
    Stat p = stat_of(produced), c = stat_of(consumer_ns), sm = stat_of(settle_ms);
    s.rows.push_back({"events/s produced and delivered (one opening process on one CPU)",
                      fmt::format("{:.0f} [{:.0f}-{:.0f}]", p.med, p.lo, p.hi)});
    s.rows.push_back({"consumer CPU per event (ring read, decode, Pipeline)",
                      fmt::format("{:.0f} ns [{:.0f}-{:.0f}] -> capacity ~{:.0f} events/s per core", c.med, c.lo, c.hi,
                                  1e9 / c.med)});
    s.rows.push_back({"kernel records / decided / undecodable", fmt::format("{} / {} / {}", events, decided, bad)});
    s.rows.push_back({"lost (Probe::counters().lost)", std::to_string(lost)});
    s.rows.push_back(
        {"backlog drained after the producer stopped", fmt::format("{:.0f} ms [{:.0f}-{:.0f}]", sm.med, sm.lo, sm.hi)});
    s.notes.push_back(
        "the producer is pinned to one CPU, the drain thread to the other; records are batched "
        "(BPF_RB_NO_WAKEUP, wake-up past 256 KiB pending) and drained at least every 50 ms");
    s.notes.push_back(
        "the producer (one process) is the bottleneck here: the consumer's capacity is the CPU per event");
    report.sections.push_back(std::move(s));
}

}  // namespace bench
