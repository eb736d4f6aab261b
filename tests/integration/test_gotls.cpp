// HTTPS of Go programs (crypto/tls linked into the binary, no libssl): a Go client built here with
// the host's Go toolchain, run as an agent against the loopback HTTPS server. The daemon puts
// uprobes on the binary's crypto/tls.(*Conn).Write for that process only; the kernel judges the
// plaintext there like SSL_write's, so a denied POST dies before it is encrypted. With Go probing
// off the same client is TLS stockade cannot see: tools.http_unseen_tls decides.
#include <catch2/catch.hpp>

#include "http_harness.hpp"

using namespace sktest;
using stockade::journal::Record;

namespace {

// Builds tests/integration/http/goclient once per build tree (Go caches under it, no network).
// "" with the reason in *why when there is no Go toolchain or the build failed.
std::string go_client(std::string* why) {
    if (!fs::exists("/usr/bin/go")) {
        *why = "no /usr/bin/go (Debian's golang-go; scripts/install-deps.sh installs it)";
        return "";
    }
    std::string root = std::string(STOCKADE_BINARY_DIR) + "/tests/go";
    std::string out = root + "/goclient";
    std::string log;
    int st = run_command({"/usr/bin/env", "HOME=" + root, "GOCACHE=" + root + "/cache", "GOPATH=" + root + "/path",
                          "GOPROXY=off", "GOFLAGS=", "GO111MODULE=off", "CGO_ENABLED=0", "/usr/bin/go", "build", "-o",
                          out, std::string(STOCKADE_SOURCE_DIR) + "/tests/integration/http/goclient/main.go"},
                         &log, 300000);
    if (st != 0) {
        *why = "go build failed: " + log;
        return "";
    }
    return out;
}

// The "TLS stacks seen" section of `agents show` (its other sections, the stop timing among
// them, may name unseen TLS too).
std::string tls_stacks_seen(const std::string& show) {
    auto at = show.find("TLS stacks seen");
    if (at == std::string::npos) return "";
    auto end = show.find("\n", at);
    while (end != std::string::npos && end + 1 < show.size() && show[end + 1] == ' ') end = show.find("\n", end + 1);
    return show.substr(at, end == std::string::npos ? std::string::npos : end - at);
}

std::string boundary(const std::string& client_dir, const std::string& unseen) {
    return "agent: web\nmode: enforce\nmatch:\n  cgroup: /stockade-it-unused-web\n"
           "files:\n  read: [\"/**\"]\n  write: [/dev/null, /dev/tty, \"/tmp/**\"]\n  create: [\"/tmp/**\"]\n"
           "exec:\n  allow: [\"/usr/bin/**\", \"" + client_dir + "/**\"]\n"
           "network:\n  connect:\n    - { cidr: 127.0.0.0/8, protocol: tcp }\n    - { cidr: \"::1\", protocol: tcp }\n"
           "tools:\n  http:\n    - name: api\n      host: localhost\n      allow: [\"GET /allowed/**\"]\n" +
           (unseen.empty() ? "" : "  http_unseen_tls: " + unseen + "\n");
}

int exit_code(int st) { return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st); }

std::string agents_show(const Daemon& daemon) {
    std::string out;
    run_command({bin("stockade"), "--socket", daemon.socket(), "--journal", daemon.journal(), "agents", "show", "web"},
                &out);
    return out;
}

}  // namespace

TEST_CASE("HTTPS from Go: a denied POST dies in crypto/tls before encryption, an allowed GET passes", "[http][go]") {
    std::string why, client = go_client(&why);
    if (client.empty()) {
        WARN("SKIPPED: " + why);
        return;
    }
    ScratchDir d("gotls");
    HttpServer server(d, true);
    // deny: the Go client's ClientHello must count as seen (its handshake uprobe), and curl's too.
    write_file(d / "agents.d/web.yaml", boundary(fs::path(client).parent_path(), "deny"));
    Daemon daemon(d);
    daemon.start();
    std::string base = "https://localhost:" + std::to_string(server.port);

    // The first run of this image in the daemon's life: the kernel holds the exec until its
    // uprobes are on, so even this request is judged.
    std::string out;
    int st = daemon.run_as("web", {client, base, "POST", "/denied/upload"}, &out);
    INFO(out);
    CHECK(exit_code(st) == 137);
    CHECK(out.find("POST /denied/upload 2") == std::string::npos);
    auto denied = http_record(daemon, "POST", "/denied/upload");
    INFO(dump_tools(daemon));
    REQUIRE(denied);
    CHECK(denied->verdict == jr::Verdict::Kill);
    CHECK(denied->rule == "web.yaml:api");
    CHECK(denied->enforcement == jr::Enforcement::KilledInKernel);
    CHECK(denied->exe == client);
    CHECK(denied->address == "https://localhost");
    CHECK(denied->detail.find("killed in Go's crypto/tls Write before encryption") != std::string::npos);

    st = daemon.run_as("web", {client, base, "GET", "/allowed/items", "GET", "/allowed/more"}, &out);
    INFO(out);
    CHECK(exit_code(st) == 0);
    CHECK(out.find("GET /allowed/items 200") != std::string::npos);
    CHECK(out.find("GET /allowed/more 200") != std::string::npos);
    auto ok = http_record(daemon, "GET", "/allowed/more");
    REQUIRE(ok);
    CHECK(ok->verdict == jr::Verdict::Allow);
    CHECK(ok->rule == "web.yaml:api");

    // OpenSSL under the same deny: curl's handshake is seen (SSL_do_handshake), so it runs.
    std::string curl = "/usr/bin/curl -sk --http1.1 --resolve localhost:" + std::to_string(server.port) +
                       ":127.0.0.1 -o /dev/null -w '%{http_code}\\n' ";
    daemon.run_as("web", {"/bin/sh", "-c", shell(curl + base + "/allowed/curl")}, &out);
    INFO(out);
    CHECK(out.find("rc=0") != std::string::npos);

    // Zero harm: nothing of the POST reached the server, not even its head.
    std::string seen = server.seen();
    INFO(seen);
    CHECK(seen.find("/denied") == std::string::npos);
    CHECK(seen.find("stolen") == std::string::npos);
    CHECK(seen.find("GET /allowed/items\n") != std::string::npos);
    CHECK(seen.find("GET /allowed/curl\n") != std::string::npos);
    for (auto& r : daemon.records()) CHECK(r.rule != "builtin:unseen-tls");

    out = tls_stacks_seen(agents_show(daemon));
    INFO(out);
    CHECK(out.find("go crypto/tls") != std::string::npos);
    CHECK(out.find("openssl") != std::string::npos);
    CHECK(out.find("unseen") == std::string::npos);
}

TEST_CASE("Unseen TLS: a Go client stockade does not probe is killed at its ClientHello under deny", "[http][go]") {
    std::string why, client = go_client(&why);
    if (client.empty()) {
        WARN("SKIPPED: " + why);
        return;
    }
    ScratchDir d("gotls-unseen");
    HttpServer server(d, true);
    std::string base = "https://localhost:" + std::to_string(server.port);
    std::string dir = fs::path(client).parent_path();

    SECTION("deny: killed at the hello, nothing of the request reaches the server") {
        write_file(d / "agents.d/web.yaml", boundary(dir, "deny"));
        Daemon daemon(d, "tls_go: false\n");  // Go's crypto/tls is then a TLS stack stockade does not see
        daemon.start();
        std::string out;
        int st = daemon.run_as("web", {client, base, "GET", "/allowed/x"}, &out);
        INFO(out);
        CHECK(exit_code(st) == 137);
        auto r = daemon.wait_record([](const Record& r) { return r.rule == "builtin:unseen-tls"; });
        INFO(dump_tools(daemon));
        REQUIRE(r);
        CHECK(r->verdict == jr::Verdict::Kill);
        CHECK(r->enforcement == jr::Enforcement::KilledInKernel);
        CHECK(r->action == "tls-handshake");
        CHECK(r->hostname == "localhost");  // the server name of the hello
        CHECK(r->exe == client);
        CHECK(server.seen().empty());
        std::string show = agents_show(daemon);
        INFO(show);
        CHECK(tls_stacks_seen(show).find("unseen") != std::string::npos);
    }

    SECTION("flag (the default): journaled, the connection goes on unjudged") {
        write_file(d / "agents.d/web.yaml", boundary(dir, ""));
        Daemon daemon(d, "tls_go: false\n");
        daemon.start();
        std::string out;
        int st = daemon.run_as("web", {client, base, "POST", "/denied/x"}, &out);
        INFO(out);
        CHECK(exit_code(st) == 0);  // not seen, so not judged: what flag means
        auto r = daemon.wait_record([](const Record& r) { return r.rule == "builtin:unseen-tls"; });
        INFO(dump_tools(daemon));
        REQUIRE(r);
        CHECK(r->verdict == jr::Verdict::Flag);
        CHECK(r->enforcement.empty());
        CHECK(!http_record(daemon, "POST", "/denied/x", 300));  // the request itself was not seen
    }
}
