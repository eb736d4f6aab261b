// HTTP tool calls: tracked curl and Python clients against a loopback server the test owns. For
// HTTPS the kernel judges the request in the uprobe on SSL_write, before it is encrypted: the
// server's own log proves a denied request never arrived. Plaintext requests are killed at the
// exit of their write. Every request is journaled with method, host and path.
#include <fcntl.h>

#include <catch2/catch.hpp>

#include "http_harness.hpp"

using namespace sktest;
using stockade::journal::Record;

namespace {

bool have_tls_library() {
    return fs::exists("/usr/lib/x86_64-linux-gnu/libssl.so.3") || fs::exists("/lib/x86_64-linux-gnu/libssl.so.3");
}

std::string boundary(const std::string& mode) {
    return "agent: web\nmode: " + mode +
           "\nmatch:\n  cgroup: /stockade-it-unused-web\n"
           "files:\n  read: [\"/**\"]\n  write: [/dev/null, /dev/tty, \"/tmp/**\"]\n  create: [\"/tmp/**\"]\n"
           "exec:\n  allow: [\"/usr/bin/**\"]\n"
           "network:\n  connect:\n    - { cidr: 127.0.0.0/8, protocol: tcp }\n    - { cidr: \"::1\", protocol: tcp }\n"
           "tools:\n  http:\n"
           "    - name: api\n      host: localhost\n"
           "      allow: [\"GET /v1/**\", \"POST /v1/mcp\"]\n"
           "      deny: [\"* /v1/admin/**\"]\n"
           "    - name: no-secrets\n      host: localhost\n      deny: [\"GET /v1/*/secret\"]\n"
           "  mcp:\n    - name: remote-tools\n      server: \"https://localhost/v1/mcp\"\n"
           "      allow: [echo]\n      deny: [delete_all]\n";
}

}  // namespace

TEST_CASE("HTTPS: a denied request is killed in SSL_write and never reaches the server", "[http]") {
    if (!have_tls_library()) {
        WARN("SKIPPED: no libssl.so.3 on this host: the TLS uprobes have nothing to attach to");
        return;
    }
    ScratchDir d("https");
    HttpServer server(d, true);
    write_file(d / "agents.d/web.yaml", boundary("enforce"));
    Daemon daemon(d);
    daemon.start();
    std::string resolve = "--resolve localhost:" + std::to_string(server.port) + ":127.0.0.1";
    std::string curl = "/usr/bin/curl -sk --http1.1 " + resolve + " -o /dev/null -w '%{http_code}\\n' ";

    SECTION("curl (SSL_write): allowed, kernel-denied and daemon-denied paths") {
        std::string out;
        daemon.run_as("web", {"/bin/sh", "-c", shell(curl + server.base(true) + "/v1/items")}, &out);
        INFO(out);
        CHECK(out.find("200") != std::string::npos);
        CHECK(out.find("rc=0") != std::string::npos);
        auto ok = http_record(daemon, "GET", "/v1/items");
        INFO(dump_tools(daemon));
        REQUIRE(ok);
        CHECK(ok->verdict == jr::Verdict::Allow);
        CHECK(ok->rule == "web.yaml:api");
        CHECK(ok->address == "https://localhost");
        CHECK(ok->protocol == "https");
        CHECK(ok->result == 200);
        CHECK(ok->detail.find("status 200") != std::string::npos);
        CHECK(ok->exe == "/usr/bin/curl");

        // Exact deny route in the kernel: curl dies in SSL_write.
        daemon.run_as("web", {"/bin/sh", "-c", shell(curl + server.base(true) + "/v1/admin/keys?token=hunter2")}, &out);
        CHECK(out.find("rc=137") != std::string::npos);
        auto denied = http_record(daemon, "GET", "/v1/admin/keys");
        INFO(dump_tools(daemon));
        REQUIRE(denied);
        CHECK(denied->verdict == jr::Verdict::Kill);
        CHECK(denied->rule == "web.yaml:api");
        CHECK(denied->enforcement == jr::Enforcement::KilledInKernel);
        CHECK(denied->detail.find("hunter2") == std::string::npos);  // the query is kept as a digest only
        CHECK(denied->detail.find("query sha256") != std::string::npos);

        // Not allowed for this method (the allow list is all in the kernel: strict).
        daemon.run_as("web", {"/bin/sh", "-c", shell(curl + "-X DELETE " + server.base(true) + "/v1/items/7")}, &out);
        CHECK(out.find("rc=137") != std::string::npos);
        auto del = http_record(daemon, "DELETE", "/v1/items/7");
        REQUIRE(del);
        CHECK(del->verdict == jr::Verdict::Kill);
        CHECK(del->enforcement == jr::Enforcement::KilledInKernel);

        // Percent-escapes and "//" do not get around a deny route.
        daemon.run_as("web", {"/bin/sh", "-c", shell(curl + "--path-as-is " + server.base(true) + "//v1/%61dmin/x")}, &out);
        CHECK(out.find("rc=137") != std::string::npos);
        // A glob deny route is the daemon's: the kernel lets it through, the daemon kills after.
        daemon.run_as("web", {"/bin/sh", "-c", shell(curl + server.base(true) + "/v1/x/secret")}, &out);
        auto glob = http_record(daemon, "GET", "/v1/x/secret");
        REQUIRE(glob);
        CHECK(glob->verdict == jr::Verdict::Kill);
        CHECK(glob->rule == "web.yaml:no-secrets");
        CHECK(glob->enforcement != jr::Enforcement::KilledInKernel);

        std::string seen = server.seen();
        INFO(seen);
        CHECK(seen.find("GET /v1/items\n") != std::string::npos);
        CHECK(seen.find("admin") == std::string::npos);  // never arrived
        CHECK(seen.find("DELETE") == std::string::npos);

        run_command({bin("stockade"), "--socket", daemon.socket(), "--journal", daemon.journal(), "agents", "show",
                     "web"},
                    &out);
        INFO(out);
        CHECK(out.find("HTTP host localhost (web.yaml:api)") != std::string::npos);  // reachable
        CHECK(out.find("GET https://localhost/v1/items") != std::string::npos);      // invoked
        CHECK(out.find("DELETE https://localhost/v1/items/7") != std::string::npos); // denied
        CHECK(out.find("http yes") != std::string::npos);                            // decided in the kernel
    }

    SECTION("a task grant widens the routes, in the kernel's table too") {
        std::string out;
        int st = run_command({bin("stockade"), "--socket", daemon.socket(), "task", "begin", "--agent", "web",
                              "--grant", "http=DELETE localhost/v1/items/**", "--ttl", "60s"},
                             &out);
        INFO(out);
        REQUIRE(WEXITSTATUS(st) == 0);
        std::string task = out.substr(0, out.find('\n'));
        run_command({bin("stockade"), "--socket", daemon.socket(), "run", "--no-landlock", "--task", task, "--", "/bin/sh", "-c",
                     shell(curl + "-X DELETE " + server.base(true) + "/v1/items/7")},
                    &out);
        CHECK(out.find("rc=0") != std::string::npos);  // the kernel did not kill: the grant is in its table
        auto del = http_record(daemon, "DELETE", "/v1/items/7");
        INFO(dump_tools(daemon));
        REQUIRE(del);
        CHECK(del->verdict == jr::Verdict::Allow);
        CHECK(del->task == task);
        CHECK(del->grant == task + "/grant[0]");
        CHECK(server.seen().find("DELETE /v1/items/7") != std::string::npos);
        // The grant does not reach the admin routes (a deny route beats it).
        run_command({bin("stockade"), "--socket", daemon.socket(), "run", "--no-landlock", "--task", task, "--", "/bin/sh", "-c",
                     shell(curl + "-X DELETE " + server.base(true) + "/v1/admin/x")},
                    &out);
        CHECK(out.find("rc=137") != std::string::npos);
    }

    SECTION("Python (SSL_write_ex): one keep-alive connection, the second request is killed") {
        std::string out;
        int st = daemon.run_as("web", {"/usr/bin/python3", "-I", std::string(STOCKADE_SOURCE_DIR) +
                                       "/tests/integration/http/client.py", server.base(true), "GET", "/v1/a",
                                       "PUT", "/v1/a", "GET", "/v1/b"},
                               &out);
        INFO(out);
        CHECK(out.find("GET /v1/a 200") != std::string::npos);
        CHECK(out.find("PUT /v1/a") == std::string::npos);
        CHECK((WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st)) == 137);
        auto put = http_record(daemon, "PUT", "/v1/a");  // http.client writes the head first: killed there
        INFO(dump_tools(daemon));
        REQUIRE(put);
        CHECK(put->verdict == jr::Verdict::Kill);
        CHECK(put->enforcement == jr::Enforcement::KilledInKernel);
        CHECK(put->detail.find("request PUT https://localhost/v1/a") != std::string::npos);
        std::string seen = server.seen();
        INFO(seen);
        CHECK(seen.find("GET /v1/a\n") != std::string::npos);
        CHECK(seen.find("PUT") == std::string::npos);
        CHECK(seen.find("/v1/b") == std::string::npos);
    }

    SECTION("MCP over HTTPS: a tools/call is judged by tools.mcp with the URL as the server") {
        std::string client = std::string(STOCKADE_SOURCE_DIR) + "/tests/integration/http/client.py";
        std::string out;
        daemon.run_as("web", {"/usr/bin/python3", "-I", client, server.base(true), "POST", "/v1/mcp?tool=echo"}, &out);
        CHECK(out.find("POST /v1/mcp?tool=echo 200") != std::string::npos);
        auto echo = http_record(daemon, "tools/call", "echo");
        INFO(dump_tools(daemon));
        REQUIRE(echo);
        CHECK(echo->verdict == jr::Verdict::Allow);
        CHECK(echo->rule == "web.yaml:remote-tools");
        CHECK(echo->outcome == "result");
        CHECK(echo->server == "https://localhost/v1/mcp");  // the address holds no port
        CHECK(echo->path == "/v1/mcp");
        CHECK(echo->args_digest.size() == 64);
        CHECK_FALSE(echo->request_id.empty());
        CHECK(echo->detail.find("secret-argument") == std::string::npos);
        daemon.run_as("web", {"/usr/bin/python3", "-I", client, server.base(true), "POST", "/v1/mcp?tool=delete_all"},
                      &out);
        auto bad = http_record(daemon, "tools/call", "delete_all");
        REQUIRE(bad);
        CHECK(bad->verdict == jr::Verdict::Kill);
        CHECK(bad->rule == "web.yaml:remote-tools");
    }
}

TEST_CASE("HTTPS in monitor mode: every request runs, the denied ones are journaled as would-deny", "[http]") {
    if (!have_tls_library()) {
        WARN("SKIPPED: no libssl.so.3 on this host");
        return;
    }
    ScratchDir d("https-mon");
    HttpServer server(d, true);
    write_file(d / "agents.d/web.yaml", boundary("monitor"));
    Daemon daemon(d);
    daemon.start();
    std::string out;
    std::string curl = "/usr/bin/curl -sk --http1.1 --resolve localhost:" + std::to_string(server.port) +
                       ":127.0.0.1 -o /dev/null -w '%{http_code}\\n' ";
    daemon.run_as("web", {"/bin/sh", "-c", shell(curl + server.base(true) + "/v1/admin/keys")}, &out);
    INFO(out);
    CHECK(out.find("rc=0") != std::string::npos);
    auto r = http_record(daemon, "GET", "/v1/admin/keys");
    INFO(dump_tools(daemon));
    REQUIRE(r);
    CHECK(r->verdict == jr::Verdict::WouldDeny);
    CHECK(r->rule == "web.yaml:api");
    CHECK(r->enforcement.empty());
    CHECK(server.seen().find("GET /v1/admin/keys") != std::string::npos);
}

TEST_CASE("Plain HTTP: a denied request is killed at the exit of its write", "[http]") {
    ScratchDir d("http-plain");
    HttpServer server(d, false);
    write_file(d / "agents.d/web.yaml", boundary("enforce"));
    Daemon daemon(d);
    daemon.start();
    std::string out;
    std::string curl = "/usr/bin/curl -s --resolve localhost:" + std::to_string(server.port) +
                       ":127.0.0.1 -o /dev/null -w '%{http_code}\\n' ";
    daemon.run_as("web", {"/bin/sh", "-c", shell(curl + server.base(false) + "/v1/items")}, &out);
    CHECK(out.find("rc=0") != std::string::npos);
    auto ok = http_record(daemon, "GET", "/v1/items");
    INFO(dump_tools(daemon));
    REQUIRE(ok);
    CHECK(ok->verdict == jr::Verdict::Allow);
    CHECK(ok->address == "http://localhost");
    CHECK(ok->result == 200);

    daemon.run_as("web", {"/bin/sh", "-c", shell(curl + server.base(false) + "/v1/admin/keys")}, &out);
    INFO(out);
    CHECK(out.find("rc=137") != std::string::npos);
    CHECK(out.find("200") == std::string::npos);  // curl never read the answer
    auto denied = http_record(daemon, "GET", "/v1/admin/keys");
    REQUIRE(denied);
    CHECK(denied->verdict == jr::Verdict::Kill);
    CHECK(denied->enforcement == jr::Enforcement::KilledInKernel);
    CHECK(denied->detail.find("peer may have received") != std::string::npos);

    // writev and sendmsg carry requests too: both are judged like write.
    for (std::string call : {"os.writev(s.fileno(), parts)", "s.sendmsg(parts)"}) {
        std::string py = "import os, socket\ns = socket.create_connection(('127.0.0.1', " + std::to_string(server.port) +
                         "))\nparts = [b'GET /v1/admin/vec HTTP/1.1\\r\\n', b'Host: localhost\\r\\n\\r\\n']\n" +
                         call + "\nprint(s.recv(100))\n";
        int st = daemon.run_as("web", {"/usr/bin/python3", "-I", "-c", py}, &out);
        INFO(call << ": " << out);
        CHECK((WIFSIGNALED(st) || (WIFEXITED(st) && WEXITSTATUS(st) == 137)));
        CHECK(out.find("HTTP/1") == std::string::npos);  // never read the answer
    }
    auto vec = http_record(daemon, "GET", "/v1/admin/vec");
    REQUIRE(vec);
    CHECK(vec->enforcement == jr::Enforcement::KilledInKernel);
}

TEST_CASE("HTTPS from Node: its OpenSSL (system or bundled) is probed too", "[http]") {
    if (!fs::exists("/usr/bin/node")) {
        WARN("SKIPPED: no /usr/bin/node (Debian's nodejs links the system libssl; this host's may bundle its own)");
        return;
    }
    ScratchDir d("https-node");
    HttpServer server(d, true);
    write_file(d / "agents.d/web.yaml", boundary("enforce"));
    // A node that carries OpenSSL exports its symbols: list it beside the system library.
    std::string libssl = fs::exists("/usr/lib/x86_64-linux-gnu/libssl.so.3") ? "/usr/lib/x86_64-linux-gnu/libssl.so.3"
                                                                             : "/lib/x86_64-linux-gnu/libssl.so.3";
    Daemon daemon(d, "tls_libraries: [" + libssl + ", /usr/bin/node]\n");
    daemon.start();
    auto get = [&](const std::string& path) {
        std::string js = "process.env.NODE_TLS_REJECT_UNAUTHORIZED='0';require('https').get({host:'127.0.0.1',port:" +
                         std::to_string(server.port) + ",path:'" + path +
                         "',headers:{host:'localhost'},agent:false},r=>{console.log('status '+r.statusCode);r.resume()})";
        std::string out;
        int st = daemon.run_as("web", {"/usr/bin/node", "-e", js}, &out);
        return std::make_pair(st, out);
    };
    auto [st_ok, out_ok] = get("/v1/items");
    INFO(out_ok);
    CHECK(out_ok.find("status 200") != std::string::npos);
    auto ok = http_record(daemon, "GET", "/v1/items");
    INFO(dump_tools(daemon));
    REQUIRE(ok);
    CHECK(ok->verdict == jr::Verdict::Allow);
    auto [st, out] = get("/v1/admin/keys");
    INFO(out);
    CHECK(out.find("status") == std::string::npos);
    CHECK((WIFSIGNALED(st) || (WIFEXITED(st) && WEXITSTATUS(st) == 137)));
    auto denied = http_record(daemon, "GET", "/v1/admin/keys");
    REQUIRE(denied);
    CHECK(denied->enforcement == jr::Enforcement::KilledInKernel);
    CHECK(server.seen().find("admin") == std::string::npos);
}

TEST_CASE("tls_libraries adds to the system libssl: curl's denied POST is still stopped", "[http]") {
    if (!have_tls_library()) {
        WARN("SKIPPED: no libssl.so.3 on this host: the TLS uprobes have nothing to attach to");
        return;
    }
    ScratchDir d("https-extra");
    HttpServer server(d, true);
    write_file(d / "agents.d/web.yaml", boundary("enforce"));
    // Only an extra library listed (here Node; a file without the symbols is only a warning).
    Daemon daemon(d, "tls_libraries: [/usr/bin/node]\n");
    daemon.start();
    std::string curl = "/usr/bin/curl -sk --http1.1 --resolve localhost:" + std::to_string(server.port) +
                       ":127.0.0.1 -o /dev/null -w '%{http_code}\\n' ";
    std::string out;
    daemon.run_as("web", {"/bin/sh", "-c", shell(curl + "-d payload=stolen " + server.base(true) + "/v1/admin/upload")},
                  &out);
    INFO(out);
    CHECK(out.find("rc=137") != std::string::npos);
    auto denied = http_record(daemon, "POST", "/v1/admin/upload");
    INFO(dump_tools(daemon));
    REQUIRE(denied);
    CHECK(denied->verdict == jr::Verdict::Kill);
    CHECK(denied->enforcement == jr::Enforcement::KilledInKernel);
    // Zero harm: the request never reached the server.
    CHECK(server.seen().find("admin") == std::string::npos);
    CHECK(server.seen().find("stolen") == std::string::npos);
}
