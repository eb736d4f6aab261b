// 2. Real workloads (a git session, a make -j2 build of a generated C project) with stockade off,
// with the floor, on and untracked, and run as a tracked agent.
#include <fmt/format.h>
#include <linux/magic.h>
#include <sys/resource.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <set>

#include "bench.hpp"
#include "common/error.hpp"

namespace bench {

namespace fs = std::filesystem;
using stockade::Error;

namespace {

// $1: work directory, $2: number of files. Everything git does stays in $1.
const char* kGitScript = R"SH(set -e
W="$1"; N="$2"
export HOME="$W" GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@localhost \
       GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@localhost
cd "$W"
git init -q -b main src
cd src
i=0
while [ $i -lt "$N" ]; do
  d=d$((i % 16)); [ -d $d ] || mkdir $d
  printf 'file %d\nline two of %d\nsome text to grep %d\n' $i $i $i > $d/f$i.txt
  i=$((i + 1))
done
git add -A
git commit -q -m initial
c=0
while [ $c -lt 10 ]; do echo "change $c" >> d1/f1.txt; git commit -q -am "change $c"; c=$((c + 1)); done
cd ..
git clone -q src clone
cd clone
git log --oneline > /dev/null
git log --stat > /dev/null
git grep -q "grep 7"
git status --short > /dev/null
git diff HEAD~5 --stat > /dev/null
)SH";

void generate_c_project(const std::string& dir, int files) {
    fs::create_directories(dir);
    std::string main_c = "#include <stdio.h>\n";
    std::string calls;
    for (int f = 0; f < files; ++f) {
        std::string src = "#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n\n";
        for (int k = 0; k < 40; ++k) {
            src += fmt::format(
                "int m{0}_f{1}(const char* s, int n) {{\n  char buf[64];\n  int acc = {1};\n"
                "  for (int i = 0; i < n; ++i) acc = acc * 31 + (int)strlen(s) + i;\n"
                "  snprintf(buf, sizeof buf, \"%d-%s\", acc, s);\n  return acc ^ (int)buf[0];\n}}\n",
                f, k);
        }
        write_file(fmt::format("{}/m{}.c", dir, f), src);
        main_c += fmt::format("int m{}_f0(const char*, int);\n", f);
        calls += fmt::format("  acc += m{}_f0(argv[0], argc);\n", f);
    }
    main_c +=
        "int main(int argc, char** argv) {\n  int acc = 0;\n" + calls + "  printf(\"%d\\n\", acc);\n  return 0;\n}\n";
    write_file(dir + "/main.c", main_c);
    write_file(dir + "/Makefile",
               "SRCS := $(wildcard *.c)\nOBJS := $(SRCS:.c=.o)\nprog: $(OBJS)\n\tcc -o $@ $^\n"
               "%.o: %.c\n\tcc -O1 -c $< -o $@\n");
}

enum Mode { kOff, kFloor, kUntracked, kTracked, kModes };

struct Run {
    double wall_s = 0, cpu_s = 0, drain_s = 0;
};

}  // namespace

void bench_workload(const Options& o, Report& report) {
    ScratchCgroup untracked_cg("work-untracked"), tracked_cg("work-tracked");
    int git_files = o.quick ? 30 : 1000;
    int c_files = o.quick ? 3 : 24;
    int reps = o.quick ? 1 : o.reps;
    // On a tmpfs when there is one: on ext4, a git run spends most of its time in the inode
    // allocator (find_inode_bit, recently_deleted), whose cost depends on what the rest of the
    // machine deleted lately, and that noise would drown stockade's share.
    std::string base = o.scratch + "/workload";
    struct statfs sf {};
    if (statfs("/dev/shm", &sf) == 0 && sf.f_type == TMPFS_MAGIC)
        base = "/dev/shm/stockade-bench-" + std::to_string(getpid());
    struct RemoveBase {
        std::string dir;
        ~RemoveBase() {
            std::error_code ec;
            fs::remove_all(dir, ec);
        }
    } remove_base{base};

    struct Workload {
        std::string name, label;
    };
    std::vector<Workload> wls = {
        {"git", fmt::format("git: init, {} files, 11 commits, clone, log, grep, status, diff", git_files)},
        {"make", fmt::format("make -j2: {} generated C files (cc -O1) and a link", c_files + 1)},
    };
    std::map<int, std::map<std::string, std::vector<Run>>> runs;
    int seq = 0;
    std::set<std::string> foreign;
    uint64_t events = 0, lost = 0;

    auto one = [&](Mode m, const ScratchCgroup& cg, const Workload& w, StockadeOn* on) {
        check_interrupted();
        std::string dir = fmt::format("{}/{}-{}", base, w.name, ++seq);
        fs::create_directories(dir);
        std::vector<std::string> argv;
        if (w.name == "git") {
            argv = {"/bin/sh", "-c", kGitScript, "sh", dir, std::to_string(git_files)};
        } else {
            generate_c_project(dir, c_files);
            argv = {"/usr/bin/make", "-s", "-j2", "-C", dir};
        }
        SpawnOpts so;
        so.cgroup = cg.rel();
        so.quiet = true;
        double drain0 = on ? on->drain_cpu_s() : 0;
        double t0 = mono_s();
        Child c = spawn(argv, so);
        rusage ru{};
        int st = c.wait(600, &ru);
        Run r;
        r.wall_s = mono_s() - t0;
        r.cpu_s = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                  static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
        if (on) {
            on->settle();  // the daemon's share: decoding and deciding this run's records
            r.drain_s = on->drain_cpu_s() - drain0;
            r.cpu_s += r.drain_s;
        }
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            throw Error(fmt::format("the {} workload failed (status {:#x}); is {} installed?", w.name, st,
                                    w.name == "git" ? "git" : "make/gcc"));
        runs[m][w.name].push_back(r);
        std::error_code ec;
        fs::remove_all(dir, ec);
    };
    auto all = [&](Mode m, const ScratchCgroup& cg, StockadeOn* on = nullptr) {
        for (auto& w : wls) one(m, cg, w, on);
    };

    for (int rep = 0; rep < reps; ++rep) {
        std::fprintf(stderr, "  workload: repetition %d/%d\n", rep + 1, reps);
        for (auto& f : wait_for_clean_host(o.quick ? 0 : 20)) foreign.insert(f.substr(0, f.find('#')));
        auto off = [&] { all(kOff, untracked_cg); };
        auto floor = [&] {
            FloorProbe f;
            all(kFloor, untracked_cg);
        };
        auto on = [&] {
            StockadeOn s(fmt::format("{}/on{}", base, rep), tracked_cg.rel());
            s.track(tracked_cg);  // an agent is tracked: the sys_exit hook is attached
            all(kUntracked, untracked_cg, &s);
            measure_tracked(s, tracked_cg, [&] { all(kTracked, tracked_cg, &s); }, events, lost);
        };
        interleave(rep, off, floor, on);
    }

    Section s;
    s.title = fmt::format(
        "2. Real workloads: CPU time (the workload's process tree + the daemon's drain thread; "
        "median [min-max] of {} runs) and overhead against off",
        reps);
    s.header = {"workload",
                "off",
                "floor",
                "on, untracked",
                "on, tracked",
                "of which the daemon (drain thread)",
                "tracked vs untracked",
                "wall time tracked vs off",
                "tracked <= 1.5% (CPU vs off)"};
    for (auto& w : wls) {
        auto& off = runs[kOff][w.name];
        auto ratios = [&](Mode m, Mode base_mode, bool cpu) {
            std::vector<double> r;
            for (size_t i = 0; i < off.size(); ++i) {
                auto& a = runs[m][w.name][i];
                auto& b = runs[base_mode][w.name][i];
                r.push_back(cpu ? a.cpu_s / b.cpu_s : a.wall_s / b.wall_s);
            }
            return r;
        };
        auto ratio = [&](Mode m, Mode base_mode, bool cpu) { return stat_of(ratios(m, base_mode, cpu)); };
        auto cpu = [&](Mode m) {
            std::vector<double> v;
            for (auto& r : runs[m][w.name]) v.push_back(r.cpu_s);
            return stat_of(v);
        };
        auto cell = [&](Mode m) { return fmt::format("{:.3f} s, {}", cpu(m).med, fmt_pct(ratio(m, kOff, true))); };
        Stat off_c = cpu(kOff);
        auto drain_cell = [&] {
            std::vector<double> v;
            for (size_t i = 0; i < off.size(); ++i) v.push_back(runs[kTracked][w.name][i].drain_s / off[i].cpu_s);
            Stat d = stat_of(v);
            return fmt::format("{:+.1f}% [{:+.1f}..{:+.1f}] of off", d.med * 100, d.lo * 100, d.hi * 100);
        };
        std::string v = overhead_verdict(ratios(kTracked, kOff, true), ratios(kFloor, kOff, true), 0.015);
        s.rows.push_back({w.label, fmt::format("{:.3f} s [{:.3f}-{:.3f}]", off_c.med, off_c.lo, off_c.hi), cell(kFloor),
                          cell(kUntracked), cell(kTracked), drain_cell(), fmt_pct(ratio(kTracked, kUntracked, true)),
                          fmt_pct(ratio(kTracked, kOff, false)), v});
    }
    s.notes.push_back(
        "CPU time = user+sys of the workload's whole process tree (wait4) plus, when stockade is on, "
        "the CPU the drain thread (the daemon's share: ring read, decode, decide, journal) used meanwhile; "
        "CPU rather than wall time so that other processes sharing the machine do not count; wall "
        "time (fork to wait) shown for reference");
    s.notes.push_back(fmt::format("tracked runs produced {} kernel records, {} lost; work directories in {}", events,
                                  lost, base.rfind("/dev/shm", 0) == 0 ? "/dev/shm (tmpfs)" : base));
    if (!foreign.empty()) {
        std::string names;
        for (auto& f : foreign) names += (names.empty() ? "" : ", ") + f;
        s.notes.push_back("WARNING: BPF programs of other processes were attached during the runs (" + names +
                          "): the baseline was not a clean host");
    }
    if (reps < 3) s.notes.push_back("--quick: one run per mode, the ratios are a smoke test, not a measurement");
    report.sections.push_back(std::move(s));
}

}  // namespace bench
