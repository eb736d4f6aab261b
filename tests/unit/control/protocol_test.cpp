// The control protocol: one JSON line each way. Every message survives a round trip with the
// characters an agent name, a path or an error can hold; malformed lines are errors that say
// what was malformed; call() says plainly when the daemon is absent, silent or hangs up.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <thread>

#include "../temp_dir.hpp"
#include "common/error.hpp"
#include "control/protocol.hpp"

using namespace stockade;
using namespace stockade::control;

namespace {

const std::string kAwkward = "a \"quoted\"\nline\twith \\ and \xc3\xa9 and \x01";

// A listening unix socket that answers one connection with `answer` (sent as is, in two
// writes), or reads and never answers when `answer` is empty and `hang` is set.
class OneShotServer {
public:
    OneShotServer(const std::string& path, std::string answer, bool hang = false) {
        fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        REQUIRE(fd_ >= 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::strcpy(addr.sun_path, path.c_str());
        REQUIRE(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
        REQUIRE(listen(fd_, 1) == 0);
        thread_ = std::thread([this, answer, hang] {
            int c = accept(fd_, nullptr, nullptr);
            if (c < 0) return;
            char buf[4096];
            std::string in;
            while (in.find('\n') == std::string::npos) {
                ssize_t n = read(c, buf, sizeof buf);
                if (n <= 0) break;
                in.append(buf, static_cast<size_t>(n));
            }
            received = in;
            if (hang) {
                read(c, buf, sizeof buf);  // until the client gives up and closes
            } else if (!answer.empty()) {
                size_t half = answer.size() / 2;
                (void)!write(c, answer.data(), half);
                std::this_thread::sleep_for(std::chrono::milliseconds(20));
                (void)!write(c, answer.data() + half, answer.size() - half);
            }
            close(c);
        });
    }
    ~OneShotServer() {
        shutdown(fd_, SHUT_RDWR);
        thread_.join();
        close(fd_);
    }
    std::string received;

private:
    int fd_ = -1;
    std::thread thread_;
};

}  // namespace

TEST_CASE("a request survives the round trip, awkward characters included, on one line") {
    Request r;
    r.op = "task-begin";
    r.agent = kAwkward;
    r.task = "t-1";
    r.pid = 4242;
    r.grants = {"read=/data/**", "connect=10.0.0.1:443"};
    r.confines = {"write=/srv/" + kAwkward};
    r.ttl_ms = 90'000;
    r.label = "fix \"bug\" #12";
    r.token = "tok";
    std::string line = encode(r);
    CHECK(line.find('\n') == std::string::npos);
    Request back = decode_request(line);
    CHECK(back.op == r.op);
    CHECK(back.agent == kAwkward);
    CHECK(back.pid == 4242);
    CHECK(back.grants == r.grants);
    CHECK(back.confines == r.confines);
    CHECK(back.ttl_ms == 90'000);
    CHECK(back.label == r.label);
    CHECK(back.token == "tok");
}

TEST_CASE("status and task lists survive the round trip with their counters and maps") {
    Status s;
    s.pid = 7;
    s.version = "1.2.3";
    s.programs = {"sys_enter", "cgroup_connect4"};
    AgentStatus a;
    a.name = "coder";
    a.mode = "enforce";
    a.kills = 3;
    a.files_in_kernel = true;
    a.userspace_only = {"coder.yaml:sequences[0]"};
    a.tools_denied = {{"write_file", 2}};
    a.grants_used = {{"read=/data/**", 5}};
    s.agents = {a};
    s.lost = 11;
    s.ring_pending = 1 << 20;
    s.reloading = true;
    Status back = decode_status(encode(s));
    REQUIRE(back.agents.size() == 1);
    CHECK(back.pid == 7);
    CHECK(back.programs == s.programs);
    CHECK(back.agents[0].kills == 3);
    CHECK(back.agents[0].files_in_kernel);
    CHECK_FALSE(back.agents[0].net_in_kernel);
    CHECK(back.agents[0].tools_denied == a.tools_denied);
    CHECK(back.agents[0].grants_used == a.grants_used);
    CHECK(back.lost == 11);
    CHECK(back.ring_pending == (1u << 20));
    CHECK(back.reloading);

    TaskInfo t{"t-1", "coder", kAwkward, "live", 1500, {"read=/data/** (used)"}, ""};
    auto tasks = decode_tasks(encode(std::vector<TaskInfo>{t}));
    REQUIRE(tasks.size() == 1);
    CHECK(tasks[0].label == kAwkward);
    CHECK(tasks[0].expires_in_ms == 1500);
    CHECK(tasks[0].grants == t.grants);
}

TEST_CASE("a malformed line is an error naming what was malformed, never a default message") {
    std::string good = encode(Request{"status", "", "", 0, {}, {}, 0, "", ""});
    for (const std::string& bad : {std::string(""), std::string("not json"), good.substr(0, good.size() / 2),
                                   std::string("{\"m\":{\"op\":5}}"), std::string("{\"m\":[1,2]}")}) {
        INFO("line: " << bad);
        try {
            decode_request(bad);
            FAIL("accepted a malformed request");
        } catch (const Error& e) {
            CHECK(std::string(e.what()).find("malformed request on the control socket") != std::string::npos);
        }
    }
    CHECK_THROWS_WITH(decode_response("{"), Catch::Contains("malformed response"));
    CHECK_THROWS_WITH(decode_status("[]"), Catch::Contains("malformed status"));
}

TEST_CASE("call: an answer split across writes is read whole; the request arrives as one line") {
    stockade::test::TempDir d;
    std::string sock = d / "c.sock";
    Response want{false, "agent \"x\" is not known", ""};
    std::string answer = encode(want) + "\n";
    Response got;
    std::string received;
    {
        OneShotServer server(sock, answer);
        got = call(sock, Request{"agents", "x", "", 0, {}, {}, 0, "", ""}, 2000);
        // the server thread has read the request before it answered
        received = server.received;
    }
    CHECK_FALSE(got.ok);
    CHECK(got.error == want.error);
    REQUIRE(received.size() > 1);
    CHECK(received.back() == '\n');
    CHECK(decode_request(received.substr(0, received.size() - 1)).agent == "x");
}

TEST_CASE("call: no daemon, a silent daemon and a hang-up each get their own clear error") {
    stockade::test::TempDir d;
    std::string sock = d / "c.sock";
    Request status{"status", "", "", 0, {}, {}, 0, "", ""};
    CHECK_THROWS_WITH(call(sock, status, 500),
                      Catch::Contains("stockaded is not running") && Catch::Contains(sock));
    {
        OneShotServer silent(sock, "", /*hang=*/true);
        CHECK_THROWS_WITH(call(sock, status, 300), Catch::Contains("no answer from stockaded within 300 ms"));
    }
    unlink(sock.c_str());
    {
        OneShotServer hangup(sock, "");
        CHECK_THROWS_WITH(call(sock, status, 2000), Catch::Contains("closed the connection without an answer"));
    }
}
