// The HTTP(S) tests' fixtures: a loopback server the test owns (tests/integration/http/server.py)
// and helpers to find and print the journal's tool records.
#pragma once

#include <fcntl.h>

#include <optional>

#include "daemon_harness.hpp"

namespace sktest {

// server.py, run by the test (untracked), killed by pid at scope end.
struct HttpServer {
    pid_t pid = -1;
    int port = 0;
    std::string log;
    HttpServer(const ScratchDir& d, bool tls) {
        std::string dir = std::string(STOCKADE_SOURCE_DIR) + "/tests/integration/http";
        log = d / (tls ? "tls-server.log" : "plain-server.log");
        std::string portfile = d / (tls ? "tls-port" : "plain-port");
        std::vector<std::string> argv{"/usr/bin/python3", "-I", dir + "/server.py", tls ? "tls" : "plain", portfile, log};
        if (tls) {
            std::string out;
            int st = run_command({"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                                  "-subj", "/CN=localhost", "-keyout", d / "key.pem", "-out", d / "cert.pem"},
                                 &out);
            if (st != 0) throw std::runtime_error("openssl req failed: " + out);
            argv.push_back(d / "cert.pem");
            argv.push_back(d / "key.pem");
        }
        write_file(log, "");
        std::tie(pid, port) = start_port_server(argv, portfile, log + ".err");
    }
    ~HttpServer() {
        if (pid > 0) {
            kill(pid, SIGKILL);
            waitpid(pid, nullptr, 0);
        }
    }
    std::string seen() const { return Daemon::slurp(log); }
    std::string base(bool tls) const { return std::string(tls ? "https" : "http") + "://localhost:" + std::to_string(port); }
};

// `sh -c 'CMD; echo rc=$?'`: the shell reports how its child ended (137 = SIGKILL).
inline std::string shell(const std::string& cmd) { return cmd + "; echo rc=$?"; }

// The tool record of a request: by its URL path, or for a tools/call (MCP over HTTP) by its tool.
inline std::optional<stockade::journal::Record> http_record(const Daemon& daemon, const std::string& method,
                                                            const std::string& path_or_tool, int timeout_ms = 5000) {
    return daemon.wait_record(
        [&](const stockade::journal::Record& r) {
            const std::string& object = method == "tools/call" ? r.tool : r.path;
            return r.type == jr::RecordType::Tool && r.action == method && object == path_or_tool;
        },
        timeout_ms);
}

inline std::string dump_tools(const Daemon& daemon) {
    std::string s;
    for (auto& r : daemon.records())
        if (r.type == jr::RecordType::Tool || r.verdict != jr::Verdict::None)
            s += r.action + " " + r.address + " " + r.path + " " + r.tool + " " +
                 std::string(jr::to_string(r.verdict)) + " " + r.rule + " [" +
                 std::string(jr::to_string(r.enforcement)) + "] " + r.detail + "\n";
    return s;
}

}  // namespace sktest
