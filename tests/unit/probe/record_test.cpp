// Decoding of ring-buffer records: path assembly, lexical joins, argv, and decode() on byte
// buffers laid out exactly as the BPF side writes them (include/stockade/events.h).
#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <initializer_list>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "probe/record.hpp"
#include "stockade/events.h"
#include "stockade/sysnr.h"

using namespace stockade;
using namespace stockade::probe;
using namespace std::string_literals;

namespace {

// "/a/b/c" as the kernel writes it: components leaf first, each NUL terminated.
std::string leaf_first(std::initializer_list<const char*> root_first) {
    std::vector<std::string> comps(root_first.begin(), root_first.end());
    std::string out;
    for (auto it = comps.rbegin(); it != comps.rend(); ++it) {
        out += *it;
        out += '\0';
    }
    return out;
}

// One record: the real header, then the segments in the order the probe fills them (0, 2, 1, 3).
struct RecordBuilder {
    sk_event hdr{};
    std::string seg[4];

    explicit RecordBuilder(sk_kind kind) {
        hdr.kind = static_cast<__u16>(kind);
        hdr.pid = 4242;
        hdr.tid = 4243;
        hdr.ppid = 17;
        hdr.uid = 1000;
        hdr.gid = 1001;
        hdr.agent_id = 3;
        hdr.ktime_ns = 123'456'789;
        hdr.start_ns = 5'000'000'000ull;
        hdr.parent_start_ns = 1'000'000'000ull;
        hdr.cgroup_id = 0xc0ffee;
        std::memcpy(hdr.comm, "python3", 7);
    }

    std::vector<unsigned char> bytes() {
        std::string data;
        for (int i : {0, 2, 1, 3}) {
            hdr.seg_len[i] = static_cast<__u16>(seg[i].size());
            data += seg[i];
        }
        hdr.data_len = static_cast<__u32>(data.size());
        std::vector<unsigned char> out(SK_EVENT_HDR_SIZE + data.size());
        std::memcpy(out.data(), &hdr, SK_EVENT_HDR_SIZE);
        std::memcpy(out.data() + SK_EVENT_HDR_SIZE, data.data(), data.size());
        return out;
    }

    Event decode() {
        auto b = bytes();
        return probe::decode(b.data(), b.size());
    }
};

}  // namespace

TEST_CASE("assemble_path reverses leaf-first components", "[record]") {
    CHECK(assemble_path(leaf_first({"a", "b", "c"})) == "/a/b/c");
    CHECK(assemble_path(leaf_first({"home", "coder", ".ssh", "id_rsa"})) == "/home/coder/.ssh/id_rsa");
    CHECK(assemble_path(leaf_first({"etc"})) == "/etc");
    CHECK(assemble_path("") == "/");
    CHECK(assemble_path("\0"s) == "/");
    // A last component without its NUL (cut at the limit) is still a component.
    CHECK(assemble_path("c\0b\0a"s) == "/a/b/c");
    // Empty components (doubled NULs) are skipped.
    CHECK(assemble_path("c\0\0b\0"s) == "/b/c");
}

TEST_CASE("join_normalize joins a base and a name lexically", "[record]") {
    CHECK(join_normalize("/home/a", "x.txt") == "/home/a/x.txt");
    CHECK(join_normalize("/home/a", "./x.txt") == "/home/a/x.txt");
    CHECK(join_normalize("/home/a", "../b/x") == "/home/b/x");
    CHECK(join_normalize("/home/a", "sub/./../x") == "/home/a/x");
    SECTION("'..' above the root stays at the root") {
        CHECK(join_normalize("/home", "../../../etc/passwd") == "/etc/passwd");
        CHECK(join_normalize("/", "..") == "/");
        CHECK(join_normalize("/", "../..") == "/");
    }
    SECTION("'...' is an ordinary name") {
        CHECK(join_normalize("/home/a", "...") == "/home/a/...");
        CHECK(join_normalize("/home/a", ".../x") == "/home/a/.../x");
        CHECK(join_normalize("/home/a", "..x") == "/home/a/..x");
    }
    SECTION("an absolute name ignores the base") {
        CHECK(join_normalize("/home/a", "/etc/shadow") == "/etc/shadow");
        CHECK(join_normalize("/home/a", "/../etc") == "/etc");
    }
    SECTION("repeated and trailing slashes collapse") {
        CHECK(join_normalize("/home//a/", "b///c/") == "/home/a/b/c");
        CHECK(join_normalize("/", "//x") == "/x");
    }
    CHECK(join_normalize("/home/a", "") == "/home/a");
    CHECK(join_normalize("/home/a", ".") == "/home/a");
    CHECK(join_normalize("/home/a", "..") == "/home");
}

TEST_CASE("split_argv splits the NUL separated argument block", "[record]") {
    using V = std::vector<std::string>;
    CHECK(split_argv("git\0status\0"s) == V{"git", "status"});  // trailing NUL: no empty last arg
    CHECK(split_argv("git\0status"s) == V{"git", "status"});
    CHECK(split_argv("a\0\0b\0"s) == V{"a", "", "b"});          // an empty argument is kept
    CHECK(split_argv("\0x\0"s) == V{"", "x"});
    CHECK(split_argv("python3\0-c\0print(12"s) == V{"python3", "-c", "print(12"});  // cut mid-argument
    CHECK(split_argv("").empty());
}

TEST_CASE("decode: exec with image path, argv and cwd", "[record]") {
    RecordBuilder b(SK_EXEC);
    b.hdr.flags = SK_F_TRUNC_ARGV;
    b.hdr.rule = 12;
    b.seg[0] = leaf_first({"usr", "bin", "git"});
    b.seg[2] = "git\0commit\0\0-m\0fix"s;
    b.seg[3] = leaf_first({"work", "repo"});
    Event e = b.decode();
    CHECK(e.action == Action::Exec);
    CHECK(e.path == "/usr/bin/git");
    CHECK(e.argv == std::vector<std::string>{"git", "commit", "", "-m", "fix"});
    CHECK(e.cwd == "/work/repo");
    CHECK(e.truncated);
    CHECK(e.kernel_rule == 12);
    CHECK(e.kernel_action == KernelAction::None);
    // The common header fields.
    CHECK(e.pid == 4242);
    CHECK(e.tid == 4243);
    CHECK(e.ppid == 17);
    CHECK(e.uid == 1000);
    CHECK(e.gid == 1001);
    CHECK(e.kernel_agent == 3);
    CHECK(e.ktime_ns == 123'456'789);
    CHECK(e.start_ns == 5'000'000'000ull);
    CHECK(e.parent_start_ns == 1'000'000'000ull);
    CHECK(e.cgroup_id == 0xc0ffee);
    CHECK(e.comm == "python3");
}

TEST_CASE("decode: a comm that fills all 16 bytes has no NUL", "[record]") {
    RecordBuilder b(SK_EXIT);
    std::memcpy(b.hdr.comm, "0123456789abcdef", SK_COMM_LEN);
    CHECK(b.decode().comm == "0123456789abcdef");
}

TEST_CASE("decode: open with access bits, result, kernel kill and rule", "[record]") {
    RecordBuilder b(SK_OPEN);
    b.hdr.flags = SK_F_KILLED;
    b.hdr.rule = 7;
    b.hdr.ret = 5;
    b.hdr.access = SK_ACC_READ | SK_ACC_WRITE | SK_ACC_CREATE;
    b.hdr.arg0 = O_RDWR | O_CREAT;
    b.hdr.arg1 = 0640;
    b.seg[0] = leaf_first({"home", "coder", ".ssh", "id_rsa"});
    Event e = b.decode();
    CHECK(e.action == Action::Open);
    CHECK(e.path == "/home/coder/.ssh/id_rsa");
    CHECK(e.path2.empty());
    CHECK(e.access == (kRead | kWrite | kCreate));
    CHECK(e.result == 5);
    CHECK(e.open_flags == static_cast<uint32_t>(O_RDWR | O_CREAT));
    CHECK(e.mode == 0640);
    CHECK(e.kernel_action == KernelAction::Killed);
    CHECK(e.kernel_rule == 7);
    CHECK_FALSE(e.truncated);
}

TEST_CASE("decode: a failed open carries the base dir and the name the caller passed", "[record]") {
    RecordBuilder b(SK_OPEN);
    b.hdr.flags = SK_F_REL_PATH0 | SK_F_DENIED;
    b.hdr.ret = -1;
    b.hdr.access = SK_ACC_WRITE | SK_ACC_TRUNC;
    b.seg[0] = leaf_first({"work", "repo"});
    b.seg[2] = "../secret/./x\0"s;
    Event e = b.decode();
    CHECK(e.path == "/work/secret/x");
    CHECK(e.access == (kWrite | kTruncate));
    CHECK(e.result == -1);
    CHECK(e.kernel_action == KernelAction::Denied);

    SECTION("an absolute name has no base segment and no REL flag") {
        RecordBuilder a(SK_OPEN);
        a.hdr.ret = -2;
        a.seg[2] = "/etc//shadow\0"s;
        CHECK(a.decode().path == "/etc/shadow");
    }
}

TEST_CASE("decode: rename with relative names in the order 0, 2, 1, 3", "[record]") {
    RecordBuilder b(SK_RENAME);
    b.hdr.flags = SK_F_REL_PATH0 | SK_F_REL_PATH1;
    b.seg[0] = leaf_first({"home", "alice"});     // base of the old name
    b.seg[2] = "docs/../old.txt\0"s;              // old name as passed
    b.seg[1] = leaf_first({"tmp", "drop", "x"});  // base of the new name
    b.seg[3] = "./new.txt\0"s;                    // new name as passed
    Event e = b.decode();
    CHECK(e.action == Action::Rename);
    CHECK(e.path == "/home/alice/old.txt");
    CHECK(e.path2 == "/tmp/drop/x/new.txt");

    SECTION("absolute old name, relative new name") {
        RecordBuilder r(SK_RENAME);
        r.hdr.flags = SK_F_REL_PATH1;
        r.seg[2] = "/etc/passwd\0"s;
        r.seg[1] = leaf_first({"work"});
        r.seg[3] = "pw\0"s;
        Event e2 = r.decode();
        CHECK(e2.path == "/etc/passwd");
        CHECK(e2.path2 == "/work/pw");
    }
}

TEST_CASE("decode: symlink names the new link, path2 is the content as written", "[record]") {
    RecordBuilder b(SK_SYMLINK);
    b.hdr.flags = SK_F_REL_PATH0;
    b.seg[0] = leaf_first({"work", "repo"});
    b.seg[2] = "lnk\0"s;
    b.seg[3] = "../../home/coder/.ssh\0"s;  // not resolved, not normalised
    Event e = b.decode();
    CHECK(e.action == Action::Symlink);
    CHECK(e.path == "/work/repo/lnk");
    CHECK(e.path2 == "../../home/coder/.ssh");
}

TEST_CASE("decode: an xattr write names the file, the attribute and the syscall", "[record]") {
    RecordBuilder b(SK_XATTR);
    b.hdr.flags = SK_F_REL_PATH0;
    b.hdr.arg0 = NR_lsetxattr;
    b.hdr.access = SK_ACC_WRITE;
    b.seg[0] = leaf_first({"srv", "hx"});
    b.seg[2] = "secret/../secret/key.txt\0"s;
    b.seg[3] = "user.x\0"s;
    Event e = b.decode();
    CHECK(e.action == Action::Xattr);
    CHECK(to_string(e.action) == "xattr");
    CHECK(e.path == "/srv/hx/secret/key.txt");
    CHECK(e.path2 == "user.x");
    CHECK(e.syscall_nr == NR_lsetxattr);
    CHECK(e.access == kWrite);

    SECTION("by descriptor: the kernel resolved the file, no name was passed") {
        RecordBuilder f(SK_XATTR);
        f.hdr.arg0 = NR_fremovexattr;
        f.seg[0] = leaf_first({"srv", "hx", "secret", "key.txt"});
        f.seg[3] = "trusted.t\0"s;
        Event e2 = f.decode();
        CHECK(e2.path == "/srv/hx/secret/key.txt");
        CHECK(e2.path2 == "trusted.t");
        CHECK(e2.syscall_nr == NR_fremovexattr);
    }
}

TEST_CASE("decode: connect v4, v6 and unix", "[record]") {
    SECTION("IPv4") {
        RecordBuilder b(SK_CONNECT);
        b.hdr.addr.family = AF_INET;
        b.hdr.addr.port = 443;
        b.hdr.addr.sotype = SOCK_STREAM;
        REQUIRE(inet_pton(AF_INET, "93.184.216.34", b.hdr.addr.addr) == 1);
        b.hdr.ret = -111;
        Event e = b.decode();
        CHECK(e.action == Action::Connect);
        CHECK(e.net.family == AF_INET);
        CHECK(e.net.port == 443);
        CHECK(e.net.sotype == SOCK_STREAM);
        CHECK(e.net.address() == "93.184.216.34");
        CHECK(e.net.protocol() == "tcp");
        CHECK(e.net.unix_path.empty());
        CHECK(e.result == -111);
    }
    SECTION("IPv6") {
        RecordBuilder b(SK_CONNECT);
        b.hdr.addr.family = AF_INET6;
        b.hdr.addr.port = 53;
        b.hdr.addr.sotype = SOCK_DGRAM;
        REQUIRE(inet_pton(AF_INET6, "2001:db8::7", b.hdr.addr.addr) == 1);
        Event e = b.decode();
        CHECK(e.net.family == AF_INET6);
        CHECK(e.net.port == 53);
        CHECK(e.net.address() == "2001:db8::7");
        CHECK(e.net.protocol() == "udp");
    }
    SECTION("AF_UNIX abstract") {
        RecordBuilder b(SK_CONNECT);
        b.hdr.addr.family = AF_UNIX;
        b.hdr.addr.sotype = SOCK_STREAM;
        b.seg[2] = "\0dbus-42"s;  // sun_path as passed: leading NUL, no terminator
        Event e = b.decode();
        CHECK(e.net.family == AF_UNIX);
        CHECK(e.net.unix_path == "@dbus-42");
        CHECK(e.net.address() == "@dbus-42");
        CHECK(e.net.protocol() == "unix");
    }
    SECTION("AF_UNIX path") {
        RecordBuilder b(SK_CONNECT);
        b.hdr.addr.family = AF_UNIX;
        b.seg[2] = "/run/docker.sock\0\0\0"s;
        CHECK(b.decode().net.unix_path == "/run/docker.sock");
    }
}

TEST_CASE("decode: fork and exit", "[record]") {
    SECTION("a new process") {
        RecordBuilder b(SK_FORK);
        b.hdr.ret = 5151;
        b.hdr.arg0 = 9'000'000'000ull;
        Event e = b.decode();
        CHECK(e.action == Action::Fork);
        CHECK(e.result == 5151);
        CHECK(e.child_start_ns == 9'000'000'000ull);
        CHECK_FALSE(e.thread);
    }
    SECTION("a new thread") {
        RecordBuilder b(SK_FORK);
        b.hdr.flags = SK_F_THREAD;
        b.hdr.ret = 4242;
        Event e = b.decode();
        CHECK(e.thread);
    }
    SECTION("exit with status and signal") {
        RecordBuilder b(SK_EXIT);
        b.hdr.ret = 3;
        b.hdr.arg0 = 9;
        Event e = b.decode();
        CHECK(e.action == Action::Exit);
        CHECK(e.result == 3);
        CHECK(e.exit_signal == 9);
    }
}

TEST_CASE("decode: self-protection kinds carry target and detail", "[record]") {
    RecordBuilder s(SK_SIGNAL);
    s.hdr.arg0 = 777;
    s.hdr.arg1 = 9;
    Event e = s.decode();
    CHECK(e.action == Action::Signal);
    CHECK(e.target_pid == 777);
    CHECK(e.detail == 9);

    RecordBuilder b(SK_BPF);
    b.hdr.arg0 = 5;  // BPF_PROG_LOAD
    Event eb = b.decode();
    CHECK(eb.action == Action::Bpf);
    CHECK(eb.target_pid == 0);
    CHECK(eb.detail == 5);
}

TEST_CASE("decode: malformed records throw stockade::Error", "[record]") {
    RecordBuilder b(SK_OPEN);
    b.seg[0] = leaf_first({"etc", "hosts"});
    auto good = b.bytes();
    REQUIRE_NOTHROW(decode(good.data(), good.size()));

    SECTION("shorter than the header") {
        CHECK_THROWS_AS(decode(good.data(), SK_EVENT_HDR_SIZE - 1), Error);
        CHECK_THROWS_AS(decode(good.data(), 0), Error);
    }
    SECTION("data_len larger than the record") {
        CHECK_THROWS_AS(decode(good.data(), good.size() - 1), Error);
        auto big = good;
        sk_event h{};
        std::memcpy(&h, big.data(), SK_EVENT_HDR_SIZE);
        h.data_len = SK_DATA_MAX + 1;
        std::memcpy(big.data(), &h, SK_EVENT_HDR_SIZE);
        big.resize(SK_EVENT_HDR_SIZE + SK_DATA_MAX + 1);
        CHECK_THROWS_AS(decode(big.data(), big.size()), Error);
    }
    SECTION("segments overrunning data_len") {
        sk_event h{};
        std::memcpy(&h, good.data(), SK_EVENT_HDR_SIZE);
        h.seg_len[3] = 1;  // one byte more than data_len holds
        auto bad = good;
        std::memcpy(bad.data(), &h, SK_EVENT_HDR_SIZE);
        CHECK_THROWS_AS(decode(bad.data(), bad.size()), Error);
    }
    SECTION("unknown kind") {
        for (__u16 kind : {__u16{0}, __u16{SK_KIND_MAX}, __u16{0xffff}}) {
            sk_event h{};
            std::memcpy(&h, good.data(), SK_EVENT_HDR_SIZE);
            h.kind = kind;
            auto bad = good;
            std::memcpy(bad.data(), &h, SK_EVENT_HDR_SIZE);
            INFO("kind " << kind);
            CHECK_THROWS_AS(decode(bad.data(), bad.size()), Error);
        }
    }
}

TEST_CASE("decode: a syscall channel record (32-bit, by handle, cross-process)", "[record]") {
    RecordBuilder compat(SK_SYSCALL);
    compat.hdr.arg0 = 5;  // i386 open
    compat.hdr.arg1 = SK_SC_COMPAT;
    compat.hdr.flags = SK_F_KILLED;
    Event c = compat.decode();
    CHECK(c.action == Action::Syscall);
    CHECK(c.syscall_nr == 5);
    CHECK(c.compat);
    CHECK(c.kernel_action == KernelAction::Killed);

    RecordBuilder handle(SK_SYSCALL);
    handle.hdr.arg0 = 304;  // open_by_handle_at
    handle.hdr.ret = 3;
    handle.seg[0] = leaf_first({"srv", "secret", "key"});
    Event h = handle.decode();
    CHECK_FALSE(h.compat);
    CHECK(h.path == "/srv/secret/key");
    CHECK(h.result == 3);

    RecordBuilder cross(SK_SYSCALL);
    cross.hdr.arg0 = 101;  // ptrace
    cross.hdr.arg2 = 777;
    cross.hdr.flags = SK_F_DENIED;
    Event x = cross.decode();
    CHECK(x.target_pid == 777);
    CHECK(x.path.empty());
    CHECK(x.kernel_action == KernelAction::Denied);
}

TEST_CASE("decode: an io write on a socket pair names the peer's inode; a continuation its offset", "[record]") {
    RecordBuilder b(SK_IO);
    b.hdr.arg0 = 1;
    b.hdr.arg1 = 1;
    b.hdr.arg2 = 71;
    b.hdr.ret = 5000;
    b.hdr.addr.family = AF_UNIX;
    uint64_t peer = 72;
    std::memcpy(b.hdr.addr.addr, &peer, sizeof peer);
    b.seg[2] = std::string(2048, '{');
    Event e = b.decode();
    CHECK(e.io_write);
    CHECK(e.io_inode == 71);
    CHECK(e.io_peer_inode == 72);
    CHECK_FALSE(e.io_more);
    b.hdr.flags = SK_F_IO_MORE;
    b.hdr.access = 2048;
    b.seg[2] = std::string(2048, 'x');
    e = b.decode();
    CHECK(e.io_more);
    CHECK(e.io_offset == 2048);
    CHECK(e.access == 0);
    CHECK(e.io_data == std::string(2048, 'x'));
    RecordBuilder pipe_write(SK_IO);  // a pipe: one inode for both ends, no peer
    pipe_write.hdr.arg0 = 1;
    pipe_write.hdr.arg2 = 55;
    CHECK(pipe_write.decode().io_peer_inode == 0);
}

TEST_CASE("a name given through /proc/self/fd/N is the file the descriptor stands for", "[record]") {
    char tmpl[] = "/tmp/stockade-fdlink-XXXXXX";
    REQUIRE(mkdtemp(tmpl));
    std::string dir = tmpl;
    int fd = open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    uint32_t me = static_cast<uint32_t>(getpid());
    std::string n = std::to_string(fd);
    CHECK(through_fd_link(me, "/proc/self/fd/" + n + "/calc.py.tmp") == dir + "/calc.py.tmp");
    CHECK(through_fd_link(me, "/proc/thread-self/fd/" + n + "/a/../b") == dir + "/b");
    CHECK(through_fd_link(me, "/proc/" + std::to_string(me) + "/fd/" + n) == dir);
    // Not a descriptor link, or one that is closed: as given.
    CHECK(through_fd_link(me, "/proc/self/fdinfo/" + n) == "/proc/self/fdinfo/" + n);
    CHECK(through_fd_link(me, "/proc/self/fd/" + n + "x/y") == "/proc/self/fd/" + n + "x/y");
    close(fd);
    CHECK(through_fd_link(me, "/proc/self/fd/" + n + "/calc.py") == "/proc/self/fd/" + n + "/calc.py");
    rmdir(dir.c_str());
}

TEST_CASE("decode: TLS records name their stack; an unseen ClientHello its peer", "[record][tls]") {
    RecordBuilder w(SK_TLS);
    w.hdr.arg0 = SK_TLS_WRITE;
    w.hdr.access = SK_STACK_GO;
    w.seg[2] = "GET / HTTP/1.1\r\n\r\n";
    Event e = w.decode();
    CHECK(e.io_write);
    CHECK(e.tls_stack == SK_STACK_GO);
    CHECK_FALSE(e.tls_hello);
    CHECK(e.access == 0);
    CHECK(e.net.family == 0);

    RecordBuilder h(SK_TLS);
    h.hdr.arg0 = SK_TLS_HELLO;
    h.hdr.arg1 = 7;
    h.hdr.rule = SK_RULE_UNSEEN_TLS;
    h.hdr.flags = SK_F_KILLED;
    h.hdr.addr.family = AF_INET;
    h.hdr.addr.port = 8443;
    REQUIRE(inet_pton(AF_INET, "127.0.0.1", h.hdr.addr.addr) == 1);
    h.seg[2] = "\x16\x03\x01\x02\x00\x01"s;
    e = h.decode();
    CHECK(e.tls_hello);
    CHECK(e.io_write);
    CHECK(e.fd == 7);
    CHECK(e.net.port == 8443);
    CHECK(e.net.address() == "127.0.0.1");
    CHECK(e.kernel_action == KernelAction::Killed);
    CHECK(e.kernel_rule == SK_RULE_UNSEEN_TLS);

    RecordBuilder x(SK_EXEC);
    x.hdr.flags = SK_F_TLS_HELD;
    CHECK(x.decode().tls_held);
    CHECK_FALSE(x.decode().held);  // not the daemon-verdict hold
}
