// `stockade suggest`: the YAML loads without errors and allows exactly what was observed.
#include <catch2/catch.hpp>

#include "cli/learn.hpp"
#include "policy/policy.hpp"

using namespace stockade;
using namespace stockade::cli::learn;
using journal::Record;

namespace {

Record rec(const std::string& action, const std::string& path, const std::string& access = "",
           const std::string& verdict = "allow") {
    static int n = 0;
    Record r;
    r.seq = static_cast<uint64_t>(++n);
    r.time = "2026-11-25T09:00:" + std::to_string(10 + n % 50) + ".000000Z";
    r.agent = "coder";
    r.pid = 4242;
    r.action = action;
    r.path = path;
    r.access = access;
    r.verdict = stockade::journal::verdict_from(verdict).value();
    r.rule = verdict == "allow" ? "x.yaml:files.read[0]" : "x.yaml:default-deny";
    return r;
}

Record net(const std::string& action, const std::string& addr, uint16_t port, const std::string& proto,
           const std::string& host = "") {
    Record r = rec(action, "", "", "would-deny");
    r.address = addr;
    r.port = port;
    r.protocol = proto;
    r.hostname = host;
    return r;
}

std::vector<Record> workload() {
    std::vector<Record> v = {
        rec("exec", "/usr/bin/git"), rec("exec", "/usr/bin/cat", "", "would-deny"),
        rec("open", "/srv/repo/a.c", "read"), rec("open", "/srv/repo/b.c", "read"),
        rec("open", "/srv/repo/c.c", "read"), rec("open", "/srv/repo/a.c", "read"),
        rec("open", "/usr/lib/x86_64-linux-gnu/libc.so.6", "read"), rec("open", "/proc/4242/status", "read"),
        rec("open", "/srv/notes/todo.md", "read"), rec("open", "/dev/null", "write"),
        rec("open", "/srv/repo/.git/index.lock", "write+create"), rec("open", "/srv/repo/.git/HEAD.lock", "write+create"),
        rec("open", "/srv/repo/.git/config.lock", "write+create"), rec("mkdir", "/srv/repo/.git/objects/ab"),
        rec("unlink", "/srv/repo/.git/objects/ab/tmp_obj_Xy12"), rec("chmod", "/srv/out/report.txt"),
        net("connect", "127.0.0.1", 8000, "tcp"), net("send", "::1", 53, "udp"),
        net("connect", "93.184.216.34", 443, "tcp", "api.example.com"), net("bind", "0.0.0.0", 8080, "tcp")};
    Record mv = rec("rename", "/srv/repo/.git/index.lock", "", "would-deny");
    mv.path2 = "/srv/repo/.git/index";
    v.push_back(mv);
    Record self = rec("open", "/var/lib/stockade/x", "write", "kill");
    self.rule = "builtin:self-protection";
    v.push_back(self);
    return v;
}

std::shared_ptr<const policy::PolicySet> load(const std::string& yaml) {
    auto res = policy::load_boundary_text("suggested.yaml", yaml);
    INFO(yaml << policy::format_diagnostics(res.diagnostics));
    REQUIRE(res.ok());
    return res.set;
}

bool allowed(const policy::Boundary& b, const Record& r) {
    auto e = event_from_record(r);
    REQUIRE(e);
    return policy::decide(b, *e).inside();
}

}  // namespace

TEST_CASE("the suggestion loads without errors and allows every observed action", "[learn]") {
    Observed seen;
    for (auto& r : workload()) seen.add(r);
    CHECK(seen.records == 21);
    CHECK(seen.violations == 1);  // self-protection is never learned
    CHECK(seen.skipped == 0);
    SuggestInput in{"coder", "/var/log/stockade/journal.jsonl", "", ""};
    std::string yaml = suggest_yaml(seen, in);
    INFO(yaml);
    auto set = load(yaml);
    const auto& b = *set->agents().at(0);
    CHECK(b.name == "coder");
    CHECK(b.mode == Mode::Enforce);
    CHECK(b.match.units == std::vector<std::string>{"agent-coder.service"});
    CHECK(yaml.find("placeholder") != std::string::npos);
    CHECK(yaml.find("journal_allowed: full") != std::string::npos);
    b.set_resolved("api.example.com", {*policy::IpAddr::parse("93.184.216.34")});  // what the daemon does
    for (auto& r : workload())
        if (r.rule != "builtin:self-protection") {
            INFO(r.action << " " << r.path << r.address);
            CHECK(allowed(b, r));
        }
    // Folded where several files of one directory were used, exact elsewhere, nothing for /usr.
    CHECK(yaml.find("\"/srv/repo/**\"  # 4 times") != std::string::npos);
    CHECK(yaml.find("\"/srv/repo/.git/**\"") != std::string::npos);
    CHECK(yaml.find("/usr/lib") == std::string::npos);
    CHECK(yaml.find("/proc") == std::string::npos);
    CHECK(yaml.find("\"/srv/notes/todo.md\"  # 1 time, first") != std::string::npos);
    CHECK(yaml.find("host: \"api.example.com\", ports: 443, protocol: tcp") != std::string::npos);
    CHECK(yaml.find("cidr: \"::1/128\", ports: 53, protocol: udp") != std::string::npos);
    // Nothing beyond what was seen.
    CHECK_FALSE(allowed(b, rec("open", "/srv/notes/other.md", "read")));
    CHECK_FALSE(allowed(b, rec("open", "/srv/repo/a.c", "write")));
    CHECK_FALSE(allowed(b, rec("unlink", "/srv/out/report.txt")));
    CHECK_FALSE(allowed(b, rec("exec", "/usr/bin/curl")));
    CHECK_FALSE(allowed(b, net("connect", "127.0.0.1", 8001, "tcp")));
    CHECK_FALSE(allowed(b, net("bind", "0.0.0.0", 8081, "tcp")));
}

TEST_CASE("--boundary copies match, on_violation and system_read", "[learn]") {
    auto cur = load("agent: coder\non_violation: kill-agent\nsystem_read: false\nmatch:\n  cgroup: /agents/coder\n"
                    "  unit: [a.service, b.service]\n  uid: 1001\n");
    Observed seen;
    seen.add(rec("open", "/usr/lib/os-release", "read"));
    SuggestInput in{"coder", "j", "2h", "t-1"};
    in.current = cur->agents().at(0).get();
    std::string yaml = suggest_yaml(seen, in);
    INFO(yaml);
    auto b = load(yaml)->agents().at(0);
    CHECK(b->match.units == std::vector<std::string>{"a.service", "b.service"});
    CHECK(b->match.cgroups == std::vector<std::string>{"/agents/coder"});
    CHECK(b->match.uid == 1001u);
    CHECK(b->on_violation == OnViolation::KillAgent);
    CHECK_FALSE(b->system_read);
    CHECK(allowed(*b, rec("open", "/usr/lib/os-release", "read")));  // no builtin: an explicit rule
    CHECK(yaml.find("placeholder") == std::string::npos);
    CHECK(yaml.find("since 2h, task t-1") != std::string::npos);
}

TEST_CASE("allowed actions only counted in summaries are reported as missing", "[learn]") {
    Observed seen;
    seen.add(rec("exec", "/usr/bin/git"));
    Record s;
    s.type = journal::RecordType::Summary;
    s.agent = "coder";
    s.count = 17;
    seen.add(s);
    CHECK(seen.records == 1);
    CHECK(seen.counted == 17);
    std::string yaml = suggest_yaml(seen, SuggestInput{"coder", "j", "", ""});
    CHECK(yaml.find("17 counted here are missing below") != std::string::npos);
}

TEST_CASE("suggest never learns a violation", "[learn]") {
    Observed seen;
    seen.add(rec("open", "/srv/repo/a.c", "read"));  // allowed: learned
    Record secret = rec("open", "/home/u/.ssh/id_rsa", "read", "would-deny");
    secret.rule = "x.yaml:files.never[0]";  // a secret read in monitor mode
    Record exfil = net("connect", "10.9.9.9", 443, "tcp");
    exfil.rule = "x.yaml:network.deny[0]";  // a denied destination
    Record killed = rec("open", "/etc/shadow", "read", "kill");  // stopped in enforce mode
    Record denied = net("connect", "10.8.8.8", 80, "tcp");
    denied.verdict = journal::Verdict::Deny;  // refused in the kernel in enforce mode
    Record chain = rec("open", "/srv/out/upload", "write", "would-deny");
    chain.rule = "x.yaml:sequences[0]";
    Record secret_try = rec("open", "/home/u/.ssh/id_ed25519", "read", "kill");
    secret_try.rule = "x.yaml:files.never[0]";
    secret_try.result = -2;  // a failed try at a secret is still its violation
    Record missing = rec("open", "/home/u/.curlrc", "read", "flag");
    missing.result = -2;  // ENOENT: an attempt no rule forbids, learned
    for (auto* r : {&secret, &exfil, &killed, &denied, &chain, &secret_try, &missing}) seen.add(*r);
    CHECK(seen.records == 2);
    CHECK(seen.violations == 6);
    std::string yaml = suggest_yaml(seen, SuggestInput{"coder", "j", "", ""});
    INFO(yaml);
    CHECK(yaml.find("6 violations") != std::string::npos);
    auto b = load(yaml)->agents().at(0);
    CHECK(allowed(*b, rec("open", "/srv/repo/a.c", "read")));
    CHECK(allowed(*b, rec("open", "/home/u/.curlrc", "read")));
    for (auto* r : {&secret, &exfil, &killed, &denied, &chain, &secret_try}) {
        INFO(r->action << " " << r->path << r->address);
        r->result = 0;
        CHECK_FALSE(allowed(*b, *r));
    }
}
