// 3c. The journal's cost per record on one core: serialising a record to its line (the rapidjson
// line writer against cereal's archive, the form it replaced), sealing it into the hash chain
// (one serialisation against the former two), and Writer::append with its write(2). Old and new
// run interleaved in the same process, so the ratio is paired.
#include <fmt/format.h>
#include <sched.h>

#include <filesystem>

#include "bench.hpp"
#include "journal/hashchain.hpp"
#include "journal/json.hpp"
#include "journal/writer.hpp"

namespace bench {

namespace {

namespace journal = stockade::journal;

// An allowed open of a coding agent, as `journal_allowed: full` writes it.
journal::Record typical_record() {
    journal::Record r;
    r.seq = 123456;
    r.prev = std::string(64, 'a');
    r.time = "2026-11-30T09:24:10.123456Z";
    r.mono_ns = 987654321012345;
    r.host = "build-host-7";
    r.agent = "coder";
    r.exec_id = "3f2a9c1d:48211:1730000000123456789";
    r.pid = 48211;
    r.ppid = 48200;
    r.uid = 1001;
    r.exe = "/usr/bin/git";
    r.argv = {"git", "status", "--porcelain=v2", "--untracked-files=all"};
    r.cgroup = "/system.slice/agent-coder.service";
    r.action = "open";
    r.access = "read";
    r.path = "/srv/agents/coder/repo/src/journal/writer.cpp";
    r.result = 5;
    r.verdict = stockade::journal::Verdict::Allow;
    r.rule = "coder.yaml:repo-read";
    r.resolved = "matched /srv/agents/coder/repo/** (files.read[0])";
    return r;
}

// Records per second of this thread's CPU time, doing `fn` in rounds of 1,000 for `secs`.
template <class F>
double per_cpu_second(double secs, F&& fn) {
    double c0 = static_cast<double>(now_ns(CLOCK_THREAD_CPUTIME_ID)) / 1e9;
    double t0 = mono_s();
    uint64_t n = 0;
    do {
        for (int i = 0; i < 1000; ++i) fn();
        n += 1000;
    } while (mono_s() - t0 < secs);
    return static_cast<double>(n) / (static_cast<double>(now_ns(CLOCK_THREAD_CPUTIME_ID)) / 1e9 - c0);
}

}  // namespace

void bench_journal(const Options& o, Report& report) {
    OnOneCpu pinned(o.loop_cpu >= 0 ? o.loop_cpu : 0);

    const journal::Record rec = typical_record();
    const std::string prev(64, 'b');
    size_t sink = 0;
    double secs = o.quick ? 0.05 : 0.5;
    std::vector<double> ser_old, ser_new, ser_ratio, seal_old, seal_new, seal_ratio, append;

    journal::WriterOptions wo;
    wo.path = o.scratch + "/journal-bench/journal.jsonl";
    std::filesystem::create_directories(o.scratch + "/journal-bench");
    wo.fsync = journal::FsyncPolicy::Never;
    wo.mirror = journal::MirrorPolicy::Off;
    wo.group = "";
    wo.max_bytes = 0;
    journal::Writer writer(wo);

    for (int rep = 0; rep < o.reps; ++rep) {
        check_interrupted();
        double a = per_cpu_second(secs, [&] { sink += journal::to_json_line_cereal(rec).size(); });
        double b = per_cpu_second(secs, [&] { sink += journal::to_json_line(rec).size(); });
        ser_old.push_back(a);
        ser_new.push_back(b);
        ser_ratio.push_back(b / a);
        double c = per_cpu_second(secs, [&] {  // as the writer sealed before: hash, then the line
            journal::Record r = rec;
            r.prev = prev;
            journal::Record copy = r;
            copy.hash.clear();
            r.hash = journal::sha256_hex(prev + journal::to_json_line_cereal(copy));
            sink += journal::to_json_line_cereal(r).size();
        });
        double d = per_cpu_second(secs, [&] {
            journal::Record r = rec;
            sink += journal::seal_to_line(r, prev).size();
        });
        seal_old.push_back(c);
        seal_new.push_back(d);
        seal_ratio.push_back(d / c);
        append.push_back(per_cpu_second(secs, [&] {
            journal::Record r = rec;
            writer.append(r);
        }));
    }
    size_t bytes = journal::to_json_line(rec).size() + 1;

    Section s;
    s.title = fmt::format("3c. Journal cost per record on one core (records per CPU-second, median [min-max] of {} runs)",
                          o.reps);
    s.header = {"step", "before (cereal)", "now", "now / before"};
    auto rate = [](const std::vector<double>& v) {
        Stat st = stat_of(v);
        return fmt::format("{:.0f} [{:.0f}-{:.0f}]", st.med, st.lo, st.hi);
    };
    s.rows.push_back({"record -> line", rate(ser_old), rate(ser_new), fmt_ratio(stat_of(ser_ratio))});
    s.rows.push_back({"seal + line (hash chain)", rate(seal_old), rate(seal_new), fmt_ratio(stat_of(seal_ratio))});
    s.rows.push_back({"Writer::append (seal, line, write(2); fsync never)", "-", rate(append), "-"});
    s.notes.push_back(fmt::format("record: an allowed open with argv, {} bytes as a line; target (issue 20): "
                                  "Writer::append >= 1,000,000/s on one core",
                                  bytes));
    if (sink == 42) s.notes.push_back("");  // keeps the serialisations from being optimised away
    report.sections.push_back(std::move(s));
}

}  // namespace bench
