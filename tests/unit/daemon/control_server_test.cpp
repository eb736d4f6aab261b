// The control socket outlives its name: an agent that unlinked it or put another file in its
// place (self-protection kills it only after the call) leaves operators nothing to reach until
// the daemon binds it again (hold-out suite, d-socket-unlink).
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "daemon/control_server.hpp"

using namespace stockade;
using namespace stockade::daemon;
namespace fs = std::filesystem;

namespace {

bool connects(const std::string& path) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    return ok;
}

struct Scratch {
    fs::path dir = fs::temp_directory_path() / ("stockade-ctl-" + std::to_string(getpid()));
    Scratch() { fs::create_directories(dir); }
    ~Scratch() { fs::remove_all(dir); }
};

}  // namespace

TEST_CASE("a control socket unlinked or replaced is bound again", "[daemon][control]") {
    Scratch s;
    std::string path = s.dir / "ctl.sock";
    ControlServer server(path, "nonexistent-group", [](const control::Request&, const ControlServer::Peer&, uint64_t) {
        return std::optional<control::Response>(control::Response{});
    });
    REQUIRE(connects(path));
    CHECK_FALSE(server.rebind_if_gone());  // still there: nothing to do

    SECTION("unlinked") {
        REQUIRE(::unlink(path.c_str()) == 0);
        REQUIRE_FALSE(connects(path));
    }
    SECTION("replaced by a regular file") {
        REQUIRE(::unlink(path.c_str()) == 0);
        std::ofstream(path) << "not a socket";
    }
    SECTION("replaced by another socket") {
        REQUIRE(::unlink(path.c_str()) == 0);
        int other = ::socket(AF_UNIX, SOCK_STREAM, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
        REQUIRE(::bind(other, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
        ::close(other);  // its file stays, nobody listens: a connect is refused
        REQUIRE_FALSE(connects(path));
    }
    CHECK(server.rebind_if_gone());
    struct stat sb {};
    REQUIRE(::stat(path.c_str(), &sb) == 0);
    CHECK(S_ISSOCK(sb.st_mode));
    CHECK(connects(path));
    CHECK_FALSE(server.rebind_if_gone());  // bound again: settled
}
