// Prometheus metrics: the textfile passes `promtool check metrics`, Debian's node exporter
// serves it, and the daemon's real status renders too.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <catch2/catch.hpp>
#include <thread>

#include "daemon_harness.hpp"
#include "common/error.hpp"
#include "control/metrics.hpp"

using namespace sktest;
using stockade::control::LatencyHistogram;

namespace {

const char* kPromtool = "/usr/bin/promtool";
const char* kExporter = "/usr/bin/prometheus-node-exporter";

int free_port() {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
    close(fd);
    return ntohs(a.sin_port);
}

// GET /metrics over a plain socket; "" while nothing listens.
std::string scrape(int port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    std::string body;
    if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
        std::string req = "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
        if (send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size())) {
            char buf[8192];
            ssize_t n;
            while ((n = read(fd, buf, sizeof buf)) > 0) body.append(buf, static_cast<size_t>(n));
        }
    }
    close(fd);
    return body;
}

int promtool_check(const std::string& file, std::string* out) {
    return run_command({"/bin/sh", "-c", std::string(kPromtool) + " check metrics < '" + file + "'"}, out);
}

stockade::control::Status sample_status() {
    stockade::control::Status s;
    s.version = "0.1.0";
    s.events = 1000;
    s.lost = 3;
    s.journal_bytes = 4096;
    s.last_reload = "ok";
    stockade::control::AgentStatus a;
    a.name = "coder";
    a.mode = "enforce";
    a.on_violation = "kill";
    a.events = 42;
    a.allowed = 40;
    a.violations = 2;
    a.kills = 1;
    a.denies = 1;
    a.tracked = 5;
    a.rules = {{"coder.yaml:files.read[0]", 40}, {"odd \"rule\" \\ id", 2}};
    s.agents.push_back(a);
    a.name = "researcher";
    a.mode = "monitor";
    a.events = 7;
    a.rules.clear();
    s.agents.push_back(a);
    return s;
}

}  // namespace

TEST_CASE("the metrics textfile passes promtool and node exporter serves it", "[metrics]") {
    ScratchDir d("metrics");
    LatencyHistogram h;
    for (double v : {30e-6, 80e-6, 300e-6, 2e-3, 0.5}) h.observe(v);
    std::string text = stockade::control::render_metrics(sample_status(), h);
    INFO(text);
    CHECK(text.find("stockade_events_total{agent=\"coder\"} 42\n") != std::string::npos);
    CHECK(text.find("stockade_decisions_total{agent=\"coder\",verdict=\"violations\"} 2\n") != std::string::npos);
    CHECK(text.find("stockade_verdict_latency_seconds_bucket{le=\"0.00005\"} 1\n") != std::string::npos);
    CHECK(text.find("stockade_verdict_latency_seconds_bucket{le=\"0.1\"} 4\n") != std::string::npos);
    CHECK(text.find("stockade_verdict_latency_seconds_bucket{le=\"+Inf\"} 5\n") != std::string::npos);
    CHECK(text.find("rule=\"odd \\\"rule\\\" \\\\ id\"") != std::string::npos);

    std::string textdir = d / "textfile";  // what the exporter reads: nothing else in it
    fs::create_directories(textdir);
    stockade::control::write_textfile(textdir, text);
    std::string file = textdir + "/" + stockade::control::kTextfileName;
    CHECK(Daemon::slurp(file) == text);
    size_t entries = 0;
    for (auto& e : fs::directory_iterator(textdir)) entries += e.path().filename() != "stockade.prom";
    CHECK(entries == 0);  // no temporary file left behind
    CHECK_THROWS_AS(stockade::control::write_textfile(d / "missing", text), stockade::Error);

    if (access(kPromtool, X_OK) != 0) {
        WARN("SKIP promtool check: " << kPromtool << " not installed (apt-get install prometheus)");
    } else {
        std::string out;
        int st = promtool_check(file, &out);
        INFO(out);
        CHECK(WIFEXITED(st));
        CHECK(WEXITSTATUS(st) == 0);
        CHECK(out.empty());  // not even a lint warning
        write_file(d / "bad.prom", "stockade_events{agent=\"x\"} 1\n# TYPE stockade_events counter\n");
        st = promtool_check(d / "bad.prom", &out);
        CHECK(WEXITSTATUS(st) != 0);  // the check can fail
    }

    if (access(kExporter, X_OK) != 0) {
        WARN("SKIP node exporter scrape: " << kExporter << " not installed (apt-get install prometheus-node-exporter)");
        return;
    }
    int port = free_port();
    std::string log = d / "exporter.log";
    pid_t pid = fork();
    if (pid == 0) {
        FILE* f = std::freopen(log.c_str(), "w", stdout);
        (void)f;
        dup2(1, 2);
        std::string listen = "--web.listen-address=127.0.0.1:" + std::to_string(port);
        std::string dir = "--collector.textfile.directory=" + textdir;
        execl(kExporter, kExporter, listen.c_str(), "--collector.disable-defaults", "--collector.textfile",
              dir.c_str(), (char*)nullptr);
        _exit(127);
    }
    std::string body;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (body.empty() && std::chrono::steady_clock::now() < deadline) {
        body = scrape(port);
        if (body.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    kill(pid, SIGTERM);  // only the exporter this test started
    waitpid(pid, nullptr, 0);
    INFO("exporter log:\n" << Daemon::slurp(log) << "\nscrape:\n" << body);
    REQUIRE(!body.empty());
    CHECK(body.find("HTTP/1.0 200") == 0);
    CHECK(body.find("stockade_events_total{agent=\"researcher\"} 7") != std::string::npos);
    CHECK(body.find("stockade_kills_total{agent=\"coder\"} 1") != std::string::npos);
    CHECK(body.find("stockade_verdict_latency_seconds_count 5") != std::string::npos);
    CHECK(body.find("node_textfile_scrape_error 0") != std::string::npos);
}

TEST_CASE("the daemon's real status renders as valid metrics with the agent's counters", "[metrics]") {
    ScratchDir d("metrics-daemon");
    fs::create_directories(d / "work");
    write_file(d / "agents.d/m.yaml", "agent: metered\nmode: monitor\nmatch:\n  cgroup: /stockade-it-unused-metered\n"
                                      "exec:\n  allow: [/usr/bin/cat]\n");
    Daemon daemon(d);
    daemon.start();
    daemon.run_as("metered", {"/usr/bin/cat", "/etc/hostname"});
    REQUIRE(daemon.wait_record([](const stockade::journal::Record& r) { return r.path == "/etc/hostname"; }));
    stockade::control::Request req;
    req.op = "status";
    auto status = stockade::control::decode_status(stockade::control::call(daemon.socket(), req).body);
    REQUIRE(status.agents.size() == 1);
    REQUIRE(status.agents[0].events > 0);
    REQUIRE(status.agents[0].violations > 0);  // /etc/hostname is outside the boundary
    LatencyHistogram h;
    h.observe(1e-3);
    std::string text = stockade::control::render_metrics(status, h);
    INFO(text);
    CHECK(text.find("stockade_events_total{agent=\"metered\"} " + std::to_string(status.agents[0].events) + "\n") !=
          std::string::npos);
    CHECK(text.find("stockade_decisions_total{agent=\"metered\",verdict=\"violations\"} " +
                    std::to_string(status.agents[0].violations) + "\n") != std::string::npos);
    CHECK(text.find("stockade_agent_info{agent=\"metered\",mode=\"monitor\"") != std::string::npos);
    stockade::control::write_textfile(d / "work", text);
    if (access(kPromtool, X_OK) != 0) {
        WARN("SKIP promtool check: " << kPromtool << " not installed");
        return;
    }
    std::string out;
    int st = promtool_check(d / "work/stockade.prom", &out);
    INFO(out);
    CHECK(WEXITSTATUS(st) == 0);
}
