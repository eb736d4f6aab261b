// stockaded: the stockade daemon. See `stockaded --help` and docs/operator-guide.md.
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>

#include "common/cgroup.hpp"
#include "common/error.hpp"
#include "control/protocol.hpp"
#include "daemon/config.hpp"
#include "daemon/daemon.hpp"
#include "probe/format.hpp"
#include "probe/pins.hpp"
#include "probe/probe.hpp"

namespace {

struct Printer : stockade::probe::EventSink {
    void on_event(const stockade::Event& e) override { std::printf("%s\n", stockade::probe::format_event(e).c_str()); }
    void on_bad_record(const std::string& why) override { std::fprintf(stderr, "bad record: %s\n", why.c_str()); }
};

volatile sig_atomic_t g_stop = 0;

// --trace: print what the probes capture for one command (run in its own cgroup) or cgroup.
int trace(const std::string& cgroup_rel, const std::vector<std::string>& command) {
    using namespace stockade;
    probe::Probe probe;
    Printer printer;
    std::string rel = cgroup_rel;
    bool own = rel.empty();
    if (own) rel = "/stockade-trace-" + std::to_string(getpid());
    uint64_t id = own ? cgroup::create(rel) : cgroup::id_of(rel);
    probe.track_cgroup(id, 0xffffffffu);
    pid_t child = -1;
    if (!command.empty()) {
        int gate[2];
        if (pipe(gate) != 0) throw Error("pipe failed");
        child = fork();
        if (child == 0) {
            char c;
            close(gate[1]);
            if (read(gate[0], &c, 1) != 1) _exit(126);
            std::vector<char*> argv;
            for (auto& a : command) argv.push_back(const_cast<char*>(a.c_str()));
            argv.push_back(nullptr);
            execvp(argv[0], argv.data());
            std::perror("exec");
            _exit(127);
        }
        close(gate[0]);
        cgroup::move(rel, child);
        if (write(gate[1], "g", 1) != 1) throw Error("gate failed");
        close(gate[1]);
    }
    signal(SIGINT, [](int) { g_stop = 1; });
    signal(SIGTERM, [](int) { g_stop = 1; });
    int status = 0;
    while (!g_stop) {
        probe.poll(printer, 100);
        if (child > 0 && waitpid(child, &status, WNOHANG) == child) {
            probe.poll(printer, 100);
            break;
        }
    }
    auto c = probe.counters();
    std::fprintf(stderr, "events=%llu lost=%llu truncated=%llu\n", (unsigned long long)c.events,
                 (unsigned long long)c.lost, (unsigned long long)c.truncated);
    if (own) {
        cgroup::kill_all(rel);
        cgroup::remove(rel);
    }
    return child > 0 && WIFEXITED(status) ? WEXITSTATUS(status) : 0;
}

// --unpin: the operator removes stockade's pinned programs and maps on purpose (after stopping
// the daemon; a running one is refused: its programs would detach under it).
int unpin(const stockade::daemon::Config& cfg) {
    using namespace stockade;
    if (cfg.bpf_pin_dir.empty()) throw Error("bpf_pin_dir is \"\": nothing is pinned");
    bool running = false;
    try {
        control::Request r;
        r.op = "status";
        running = control::call(cfg.socket_path, r, 1000).ok;
    } catch (const Error&) {
        // not running: what --unpin is for
    }
    if (running) throw Error("stockaded answers on " + cfg.socket_path + ": stop it first (systemctl stop stockade)");
    size_t n = probe::Pins::remove_all(cfg.bpf_pin_dir);
    spdlog::info("removed {} pins under {}: no stockade program is attached any more", n, cfg.bpf_pin_dir);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"stockaded: keeps AI agents inside their declared boundaries (eBPF host agent)"};
    std::string config_path = "/etc/stockade/stockade.yaml";
    std::string agents_dir, journal_path, socket_path;
    bool verbose = false, do_trace = false, do_unpin = false;
    std::string trace_cgroup;
    std::vector<std::string> command;
    app.add_option("-c,--config", config_path, "daemon configuration file")->capture_default_str();
    app.add_option("--agents-dir", agents_dir, "directory of boundary files (overrides the config)");
    app.add_option("--journal", journal_path, "journal file (overrides the config)");
    app.add_option("--socket", socket_path, "control socket (overrides the config)");
    app.add_flag("-v,--verbose", verbose, "debug logging");
    app.add_flag("--trace", do_trace, "print captured events of a command or cgroup instead of enforcing");
    app.add_option("--cgroup", trace_cgroup, "with --trace: cgroup v2 path to watch");
    app.add_option("command", command, "with --trace: command to run and watch (after --)");
    app.add_flag("--unpin", do_unpin,
                 "remove the pinned BPF programs and maps under bpf_pin_dir (the daemon must be stopped): "
                 "the kernel stops enforcing");
    CLI11_PARSE(app, argc, argv);
    spdlog::set_level(verbose ? spdlog::level::debug : spdlog::level::info);
    spdlog::set_pattern(getenv("JOURNAL_STREAM") ? "%l: %v" : "%Y-%m-%dT%H:%M:%S.%e %l: %v");

    try {
        if (do_trace) {
            if (command.empty() && trace_cgroup.empty()) throw stockade::Error("--trace needs -- COMMAND or --cgroup PATH");
            return trace(trace_cgroup, command);
        }
        bool explicit_config = app.count("--config") > 0;
        auto cfg = stockade::daemon::load_config(config_path, explicit_config);
        if (!agents_dir.empty()) cfg.agents_dir = agents_dir;
        if (!journal_path.empty()) cfg.journal.path = journal_path;
        if (!socket_path.empty()) cfg.socket_path = socket_path;
        if (do_unpin) return unpin(cfg);
        stockade::daemon::Daemon d(cfg);
        spdlog::info("stockaded ready: boundaries from {}, journal {}", cfg.agents_dir, cfg.journal.path);
        d.run();
        spdlog::info("stockaded stopping");
    } catch (const std::exception& e) {
        spdlog::critical("{}", e.what());
        return 1;
    }
    return 0;
}
