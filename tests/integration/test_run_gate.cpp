// `stockade run`'s seccomp gate (enforce/mutation_filter.hpp): a rename, link, unlink, chmod,
// truncation or xattr outside the boundary fails before it happens, and a signal aimed at
// stockaded never arrives, with Landlock off (--no-landlock), where before only a kill after the
// syscall came, with the change already made (the hold-out suite's r-*@noll and d-*@noll).
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "daemon_harness.hpp"
#include "harness.hpp"

using namespace sktest;
using stockade::journal::Record;

namespace {

std::string gate_boundary(const ScratchDir& d) {
    std::string work = d / "work/**";
    return "agent: gate\nmode: enforce\non_violation: refuse\nmatch:\n  cgroup: /stockade-it-unused-gate\n"
           "files:\n  read: [\"" + work + "\", \"" + d / "secret/**" + "\", \"" + fs::current_path().string() + "\"]\n  write: [\"" + work + "\"]\n"
           "  create: [\"" + work + "\"]\n  delete: [\"" + work + "\"]\n"
           "  never: [\"" + d / "secret/**" + "\", \"**/.env\"]\n"
           "exec:\n  allow: [/usr/bin/python3*]\n";
}

// (mode, inode, link count, content) of a file: what an attack on it would change.
std::string state_of(const std::string& path) {
    struct stat st {};
    if (stat(path.c_str(), &st) != 0) return "gone";
    char x[8];
    ssize_t n = getxattr(path.c_str(), "user.x", x, sizeof x);
    return std::to_string(st.st_mode) + "/" + std::to_string(st.st_ino) + "/" + std::to_string(st.st_nlink) + "/" +
           Daemon::slurp(path) + "/" + std::to_string(n);
}

// Each attempt prints "NAME ok" or "NAME ERRNO"; with on_violation: refuse the agent runs on.
std::string attempts(const ScratchDir& d, pid_t daemon) {
    std::string s = d / "secret/key.txt", env = d / "work/.env", w = d / "work";
    return "import os, errno, signal, ctypes\n"
           "def t(name, f):\n"
           "    try: f(); print(name, 'ok', flush=True)\n"
           "    except OSError as e: print(name, errno.errorcode[e.errno], flush=True)\n"
           "t('rename-out', lambda: os.rename('" + s + "', '" + w + "/moved.txt'))\n"
           "t('rename-in', lambda: (open('" + w + "/y', 'w').close(), os.rename('" + w + "/y', '" + d / "secret/y" + "')))\n"
           "t('unlink', lambda: os.unlink('" + s + "'))\n"
           "t('chmod', lambda: os.chmod('" + s + "', 0o666))\n"
           "t('trunc', lambda: open('" + s + "', 'w').close())\n"
           "t('xattr', lambda: os.setxattr('" + s + "', 'user.x', b'1'))\n"
           "t('link', lambda: os.link('" + s + "', '" + w + "/hl'))\n"
           "t('env-rename', lambda: os.rename('" + env + "', '" + w + "/notenv'))\n"
           "t('env-trunc', lambda: open('" + env + "', 'w').close())\n"
           "os.symlink('" + d / "secret" + "', '" + w + "/s')\n"
           "t('via-symlink', lambda: os.rename('" + w + "/s/key.txt', '" + w + "/k2'))\n"
           "t('relative', lambda: (os.chdir('" + d / "secret" + "'), os.unlink('key.txt')))\n"
           "t('exchange', lambda: ctypes.CDLL(None, use_errno=True).syscall(316, -100, b'" + w + "/a', -100, b'" + s +
           "', 2) == 0 or (_ for _ in ()).throw(OSError(ctypes.get_errno(), 'x')))\n"
           "t('kill-daemon', lambda: os.kill(" + std::to_string(daemon) + ", signal.SIGKILL))\n"
           "t('stop-daemon', lambda: os.kill(" + std::to_string(daemon) + ", signal.SIGSTOP))\n"
           "t('ok-create', lambda: open('" + w + "/new.txt', 'w').write('x'))\n"
           "t('ok-rename', lambda: os.rename('" + w + "/new.txt', '" + w + "/new2.txt'))\n"
           "t('ok-chmod', lambda: os.chmod('" + w + "/new2.txt', 0o600))\n"
           "t('ok-unlink', lambda: os.unlink('" + w + "/new2.txt'))\n"
           "t('ok-devnull', lambda: open('/dev/null', 'w').close())\n";
}

}  // namespace

TEST_CASE("stockade run refuses mutations outside the boundary before they happen, without Landlock",
          "[enforce][gate]") {
    ScratchDir d("gate");
    write_file(d / "secret/key.txt", "SECRET");
    write_file(d / "work/.env", "ENV");
    write_file(d / "work/a", "decoy");
    write_file(d / "agents.d/gate.yaml", gate_boundary(d));
    Daemon daemon(d);
    daemon.start();
    std::string secret_before = state_of(d / "secret/key.txt"), env_before = state_of(d / "work/.env");

    std::string out;
    int st = run_command({bin("stockade"), "--socket", daemon.socket(), "run", "--no-landlock", "--agent", "gate",
                          "--", "/usr/bin/python3", "-c", attempts(d, daemon.pid())},
                         &out);
    INFO(out);
    for (const char* refused : {"rename-out", "rename-in", "unlink", "chmod", "trunc", "xattr", "link", "env-rename",
                                "env-trunc", "via-symlink", "relative", "exchange"})
        CHECK(out.find(std::string(refused) + " EACCES") != std::string::npos);
    CHECK(out.find("kill-daemon EPERM") != std::string::npos);
    CHECK(out.find("stop-daemon EPERM") != std::string::npos);
    for (const char* allowed : {"ok-create", "ok-rename", "ok-chmod", "ok-unlink", "ok-devnull"})
        CHECK(out.find(std::string(allowed) + " ok") != std::string::npos);
    CHECK((WIFEXITED(st) && WEXITSTATUS(st) == 0));  // refused, not killed: it ran to its end

    // Zero harm: the protected files are as they were, nothing new in the protected tree, and
    // the daemon runs (not stopped either: it still answers).
    CHECK(state_of(d / "secret/key.txt") == secret_before);
    CHECK(state_of(d / "work/.env") == env_before);
    CHECK_FALSE(fs::exists(d / "secret/y"));
    CHECK_FALSE(fs::exists(d / "work/moved.txt"));
    CHECK_FALSE(fs::exists(d / "work/hl"));
    CHECK(Daemon::slurp(d / "work/a") == "decoy");
    CHECK(kill(daemon.pid(), 0) == 0);
    stockade::control::Request req;
    req.op = "status";
    CHECK(stockade::control::call(daemon.socket(), req, 2000).ok);

    // Journaled before it happened, with the rule that refused it.
    CHECK(daemon.wait_record([&](const Record& r) {
        return r.agent == "gate" && r.action == "rename" && r.path == d / "secret/key.txt" &&
               r.verdict == jr::Verdict::Deny && r.enforcement.has(jr::Enforcement::RefusedBeforeSyscall) &&
               r.rule == "gate.yaml:files.never[0]";
    }));
    CHECK(daemon.wait_record([&](const Record& r) {
        return r.agent == "gate" && r.action == "signal" && r.rule == "builtin:self-protection" &&
               r.enforcement.has(jr::Enforcement::RefusedBeforeSyscall);
    }));
    // One record per refusal: the failed syscall's own record (at its exit) is not a second one.
    auto records = daemon.records();
    size_t chmods = std::count_if(records.begin(), records.end(), [&](const Record& r) {
        return r.agent == "gate" && r.action == "chmod" && r.path == d / "secret/key.txt";
    });
    CHECK(chmods == 1);

    // on_violation: kill: refused, then the process is killed in its wait: it never sees the
    // call return, and the file is untouched.
    std::string file = d / "agents.d/gate.yaml";
    std::string b = gate_boundary(d);
    b.replace(b.find("on_violation: refuse"), 20, "on_violation: kill");
    write_file(file, b);
    REQUIRE(daemon.wait_record([](const Record& r) {
        return r.type == jr::RecordType::Daemon && r.detail.find("reloaded") != std::string::npos;
    }, 10000));
    st = run_command({bin("stockade"), "--socket", daemon.socket(), "run", "--no-landlock", "--agent", "gate", "--",
                      "/usr/bin/python3", "-c",
                      "import os\nos.rename('" + d / "secret/key.txt" + "', '" + d / "work/k3" + "')\nprint('renamed')"},
                     &out);
    INFO(out);
    CHECK((WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL));
    CHECK(out.find("renamed") == std::string::npos);
    CHECK(state_of(d / "secret/key.txt") == secret_before);
    CHECK_FALSE(fs::exists(d / "work/k3"));
    auto k3 = daemon.wait_record([&](const Record& r) { return r.action == "rename" && r.path2 == d / "work/k3"; });
    REQUIRE(k3);
    INFO("record: " << jr::to_string(k3->verdict) << " " << jr::to_string(k3->enforcement) << " " << k3->rule << " "
                    << k3->detail);
    CHECK(daemon.wait_record([&](const Record& r) {
        return r.action == "rename" && r.path2 == d / "work/k3" && r.verdict == jr::Verdict::Kill &&
               r.enforcement.has(jr::Enforcement::RefusedBeforeSyscall) &&
               r.enforcement.has(jr::Enforcement::KilledByDaemon);
    }));
}
