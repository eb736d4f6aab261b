#include "enforce/kernel_plan.hpp"

#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <fcntl.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "enforce/http_routes.hpp"
#include "probe/record.hpp"

namespace stockade::enforce {

namespace fs = std::filesystem;

namespace {

// The dev the kernel sees (dentry->d_sb->s_dev). stat's st_dev differs on overlayfs (a per-layer
// pseudo device) and btrfs (a per-subvolume one): take the superblock's from mountinfo.
uint64_t sb_dev_of(const std::string& path, uint64_t st_dev) {
    struct statfs sf {};
    if (statfs(path.c_str(), &sf) != 0) return st_dev;
    if (sf.f_type != 0x794c7630 /* overlayfs */ && sf.f_type != 0x9123683e /* btrfs */) return st_dev;
    struct statx sx {};
    if (statx(AT_FDCWD, path.c_str(), 0, STATX_MNT_ID, &sx) != 0 || !(sx.stx_mask & STATX_MNT_ID)) return st_dev;
    int mount_id = static_cast<int>(sx.stx_mnt_id);
    std::ifstream mi("/proc/self/mountinfo");
    std::string line;
    while (std::getline(mi, line)) {
        std::istringstream ls(line);
        int id = 0, parent = 0;
        std::string majmin;
        ls >> id >> parent >> majmin;
        if (id != mount_id) continue;
        unsigned ma = 0, mi2 = 0;
        if (sscanf(majmin.c_str(), "%u:%u", &ma, &mi2) == 2) return makedev(ma, mi2);
    }
    return st_dev;
}

// The inode key of an existing path, or false.
bool inode_of(const std::string& path, uint32_t agent, InodeKey& key, bool* is_dir = nullptr) {
    struct stat sb {};
    if (stat(path.c_str(), &sb) != 0) return false;
    key = InodeKey{agent, kernel_dev(sb_dev_of(path, sb.st_dev)), sb.st_ino};
    if (is_dir) *is_dir = S_ISDIR(sb.st_mode);
    return true;
}

// One kernel identity: an agent's boundary under the agent's id or, with `extra` (a task's
// grants added), under the task's own id.
class IdentityPlanner {
public:
    IdentityPlanner(KernelPlan& plan, RuleNumbers& rules, NetPlanner& net, const policy::Boundary& b, uint32_t id,
                    const policy::TaskRules* extra)
        : plan_(plan), rules_(rules), net_(net), b_(b), id_(id), extra_(extra) {
        st_.agent = extra ? b.name + "/" + extra->task : b.name;
        st_.agent_id = id;
        // on_violation: flag means journal only: the kernel then refuses and kills nothing either.
        st_.enforce = b.mode == Mode::Enforce && b.on_violation != OnViolation::Flag;
        plan_.owners[id] = st_.agent;
    }

    void run(const std::vector<std::string>& protect, const std::vector<PinnedInode>& pinned) {
        plan_exec();
        plan_pinned(pinned);
        plan_protect(protect);
        plan_files();
        plan_labels();
        plan_network();
        for (auto& [tool, rule] : kernel_denied_tools(b_)) plan_.tool_deny[{id_, tool_hash(tool)}] = rules_.number(rule);
        plan_http();
        plan_config();
        plan_.agents.push_back(std::move(st_));
    }

private:
    // A path rule goes to the kernel when it is an exact path or a whole directory that exists
    // now; returns false (userspace only) otherwise.
    // `user`: the class of actions (file, exec) a rule left to the daemon makes it judge.
    bool put_inode(const policy::PathRule& r, uint32_t flag, bool& user) {
        if (r.kind() == policy::PatternKind::Glob) {
            st_.userspace_only.push_back(r.id + " (glob)");
            user = true;
            return false;
        }
        InodeKey key;
        if (!inode_of(r.dir(), id_, key)) {
            st_.userspace_only.push_back(r.id + " (" + r.dir() + " does not exist yet)");
            user = true;
            return false;
        }
        auto& v = plan_.inode_rules[key];
        v.flags |= flag | (r.kind() == policy::PatternKind::Subtree ? SK_IR_SUBTREE : 0);
        if (!v.rule) v.rule = rules_.number(r.id);
        ++st_.inode_rules;
        return true;
    }

    // A hard link elsewhere to a file below a denied directory is the same file under a name the
    // directory's entry does not cover (the kernel's walk meets the directory only on the way up
    // from this name): each file there with more than one name gets an entry of its own. Links
    // made later by the agent are caught by the daemon (PinnedInode). Bounded: a tree larger than
    // kMaxLinkWalk entries is looked at only that far (docs/architecture.md).
    static constexpr size_t kMaxLinkWalk = 20000;
    void put_linked_files(const policy::PathRule& r, uint32_t flag) {
        if (r.kind() != policy::PatternKind::Subtree) return;
        std::error_code ec;
        size_t seen = 0;
        for (auto it = fs::recursive_directory_iterator(r.dir(), fs::directory_options::skip_permission_denied, ec);
             !ec && it != fs::recursive_directory_iterator() && ++seen <= kMaxLinkWalk; it.increment(ec)) {
            struct stat sb {};
            if (lstat(it->path().c_str(), &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_nlink < 2) continue;
            auto& v = plan_.inode_rules[InodeKey{id_, kernel_dev(sb_dev_of(it->path().string(), sb.st_dev)), sb.st_ino}];
            v.flags |= flag;
            if (!v.rule) v.rule = rules_.number(r.id);
            ++st_.inode_rules;
        }
    }

    // Never files the agent renamed or linked (and was killed for): their inode, whatever its name.
    void plan_pinned(const std::vector<PinnedInode>& pinned) {
        for (auto& p : pinned) {
            if (p.agent != b_.name) continue;
            auto& v = plan_.inode_rules[InodeKey{id_, p.dev, p.ino}];
            v.flags |= SK_IR_FILE_DENY | (p.dir ? SK_IR_SUBTREE : 0);
            if (!v.rule) v.rule = rules_.number(p.rule);
            ++st_.inode_rules;
        }
    }

    // An agent in a container sees its own root: its /usr/bin/bash is the image's file, not the
    // inode the host's /usr/bin/bash names. The kernel's allow tables (host inodes) cannot say
    // what such an agent may run or open, so every exec and open it makes goes to the daemon,
    // which judges the path the container sees (held meanwhile). Deny tables stay in the kernel:
    // a bind-mounted host directory is the same inode in the container.
    bool in_container() {
        if (b_.match.container) {
            st_.user_exec = st_.user_file = true;
            return true;
        }
        return false;
    }

    void plan_exec() {
        bool strict = true;  // an empty allow list is strict too: no exec at all
        for (auto& r : b_.exec.allow) strict = put_inode(r, SK_IR_EXEC_ALLOW, st_.user_exec) && strict;
        if (extra_)
            for (auto& r : extra_->exec_allow) strict = put_inode(r, SK_IR_EXEC_ALLOW, st_.user_exec) && strict;
        for (auto& r : b_.exec.deny)
            if (put_inode(r, SK_IR_EXEC_DENY, st_.user_exec)) put_linked_files(r, SK_IR_EXEC_DENY);
        bool never_user = false;  // a never rule judges opens and execs alike
        for (auto& r : b_.files.never)
            if (put_inode(r, SK_IR_FILE_DENY, never_user)) put_linked_files(r, SK_IR_FILE_DENY);
        st_.user_file = st_.user_file || never_user;
        st_.user_exec = st_.user_exec || never_user;
        st_.exec_strict = strict && !in_container();
    }

    // Stockade's own files and directories (never their parents): a directory covers its tree.
    void plan_protect(const std::vector<std::string>& protect) {
        for (auto& path : protect) {
            InodeKey key;
            bool dir = false;
            if (!inode_of(path, id_, key, &dir)) continue;
            auto& v = plan_.inode_rules[key];
            v.flags |= SK_IR_PROTECT | (dir ? SK_IR_SUBTREE : 0);
            v.rule = SK_RULE_SELF;  // self-protection names itself, whatever else matched
        }
    }

    // File allow rules: the kernel can refuse what none covers only when every rule is exact or
    // a whole directory that exists. /proc rules stay with the daemon (the kernel leaves /proc to
    // it too: its inodes are per process).
    void plan_files() {
        bool strict = true;
        auto put_allow = [&](const std::vector<policy::PathRule>& rules, uint32_t flag) {
            for (auto& r : rules) {
                if (r.dir().rfind("/proc/", 0) == 0 || r.pattern.rfind("/proc/", 0) == 0) continue;
                strict = put_inode(r, flag, st_.user_file) && strict;
            }
        };
        put_allow(b_.files.read, SK_IR_READ_ALLOW);
        // A builtin read naming a file this host does not have (/etc/ld.so.preload ...) cannot be
        // opened, so it costs no strictness; the agent's own rules can (the file may appear later).
        std::vector<policy::PathRule> present;
        for (auto& r : b_.system_rules) {
            struct stat sb {};
            if (stat(r.dir().c_str(), &sb) == 0) present.push_back(r);
        }
        put_allow(present, SK_IR_READ_ALLOW);
        put_allow(b_.files.write, SK_IR_WRITE_ALLOW);
        put_allow(b_.files.create, SK_IR_WRITE_ALLOW);
        if (extra_) {
            put_allow(extra_->read_allow, SK_IR_READ_ALLOW);
            put_allow(extra_->write_allow, SK_IR_WRITE_ALLOW);
        }
        st_.file_strict = strict && !in_container();
    }

    // Sequences that limit a labelled process's connects: the reads the kernel can see (exact
    // files, whole directories) label synchronously.
    void plan_labels() {
        for (auto& s : b_.sequences) {
            if (!s.forbid_connect) continue;
            uint32_t seq_rule = rules_.number(s.id);
            for (auto& r : s.after_read) {
                if (r.kind() == policy::PatternKind::Glob) {
                    st_.userspace_only.push_back(r.id + " (glob: labelled by the daemon, not synchronously)");
                    st_.user_file = true;
                    continue;
                }
                InodeKey key;
                if (!inode_of(r.dir(), id_, key)) continue;
                auto& v = plan_.inode_rules[key];
                v.flags |= SK_IR_LABEL | (r.kind() == policy::PatternKind::Subtree ? SK_IR_SUBTREE : 0);
                if (!v.label) {
                    v.label = seq_rule;
                    v.label_through = s.through;
                }
            }
        }
    }

    // Every network shape goes to the kernel: the connect allow list is always complete there.
    // A labelled process's exceptions are filed under the sequence's lock id.
    void plan_network() {
        for (auto& r : b_.network.deny) st_.net_rules += net_.put(true, id_, b_, r);
        for (auto& r : b_.network.connect) st_.net_rules += net_.put(false, id_, b_, r);
        if (extra_)
            for (auto& r : extra_->connect) st_.net_rules += net_.put(false, id_, b_, r);
        st_.net_strict = true;
        for (auto& s : b_.sequences) {
            if (!s.forbid_connect) continue;
            uint32_t lock = SK_NET_LOCK_ID(rules_.number(s.id));
            plan_.owners[lock] = b_.name + " sequence " + s.id;
            for (auto& r : s.connect_except) net_.put(false, lock, b_, r);
        }
    }

    // HTTP routes: a deny and an allow on the same key keep both bits; the deny's rule wins.
    void plan_http() {
        std::vector<policy::HttpRule> http = b_.http_tools;
        if (extra_ && !b_.http_tools.empty()) http.insert(http.end(), extra_->http_allow.begin(), extra_->http_allow.end());
        KernelHttpPlan hp = plan_http_routes(http);
        for (auto& h : hp.entries) {
            auto& v = plan_.http_rules[{id_, h.tag, h.route_hash, h.path_hash}];
            if ((h.flags & SK_HTTP_DENY) || !v.rule) v.rule = rules_.number(h.rule_id);
            v.flags |= h.flags;
        }
        for (auto& u : hp.userspace_only) st_.userspace_only.push_back(u);
        st_.http_rules = hp.entries.size();
        st_.http_strict = hp.strict;
    }

    // tools.http_unseen_tls: the kernel reports (and with deny kills) a ClientHello no uprobe saw.
    uint32_t unseen_tls_flags() const {
        if (b_.http_tools.empty() || b_.unseen_tls == policy::UnseenTls::Allow) return 0;
        return SK_AG_TLS_UNSEEN | (b_.unseen_tls == policy::UnseenTls::Deny ? SK_AG_TLS_UNSEEN_DENY : 0);
    }

    void plan_config() {
        sk_agent_cfg cfg{};
        cfg.flags = (st_.enforce ? SK_AG_ENFORCE : 0) | (st_.exec_strict ? SK_AG_EXEC_STRICT : 0) |
                    (st_.net_strict ? SK_AG_NET_STRICT : 0) | (st_.file_strict ? SK_AG_FILE_STRICT : 0) |
                    (!b_.http_tools.empty() ? SK_AG_HTTP : 0) | (st_.http_strict ? SK_AG_HTTP_STRICT : 0) |
                    (st_.enforce && b_.on_violation == OnViolation::KillAgent ? SK_AG_KILL_AGENT : 0) |
                    (st_.enforce && b_.on_violation == OnViolation::Ask ? SK_AG_ASK : 0) |
                    (b_.io_uring ? SK_AG_IO_URING : 0) | (b_.mount ? SK_AG_MOUNT : 0) |
                    (!b_.exec.deny.empty() ? SK_AG_EXEC_DENY : 0) |
                    (!st_.userspace_only.empty() ? SK_AG_USER_RULES : 0) | unseen_tls_flags() |
                    // Sequences are judged by the daemon over every action (reads, writes, execs).
                    (st_.user_file || !b_.sequences.empty() ? SK_AG_USER_FILE : 0) |
                    (st_.user_exec || !b_.sequences.empty() ? SK_AG_USER_EXEC : 0) |
                    (b_.mode == Mode::Enforce && b_.effective_on_loss() == policy::OnLoss::Kill ? SK_AG_KILL_ON_LOSS : 0);
        cfg.default_rule = rules_.number(b_.default_deny_id());
        cfg.http_rule = rules_.number(b_.file_name + ":http-default-deny");
        plan_.agent_cfg[id_] = cfg;
    }

    KernelPlan& plan_;
    RuleNumbers& rules_;
    NetPlanner& net_;
    const policy::Boundary& b_;
    uint32_t id_;
    const policy::TaskRules* extra_;
    AgentKernelState st_;
};

}  // namespace

RuleNumbers::RuleNumbers() {
    number("builtin:self-protection");
    number("builtin:http-unclear-path");
    number("builtin:no-daemon");
    number("builtin:hold-release");
    number("builtin:unseen-tls");
}

static_assert(SK_RULE_SELF == 1 && SK_RULE_HTTP_UNCLEAR == 2 && SK_RULE_NO_DAEMON == 3 && SK_RULE_HOLD_RELEASE == 4 &&
                  SK_RULE_UNSEEN_TLS == 5,
              "RuleNumbers() registers these first, in this order");

uint32_t RuleNumbers::number(const std::string& id) {
    auto it = numbers_.find(id);
    if (it != numbers_.end()) return it->second;
    ids_.push_back(id);
    uint32_t n = static_cast<uint32_t>(ids_.size());
    numbers_[id] = n;
    return n;
}

bool RuleNumbers::restore(const std::vector<std::string>& ids) {
    if (ids.size() < ids_.size() || !std::equal(ids_.begin(), ids_.end(), ids.begin())) return false;
    std::map<std::string, uint32_t> numbers;
    for (size_t i = 0; i < ids.size(); ++i)
        if (!numbers.emplace(ids[i], static_cast<uint32_t>(i + 1)).second) return false;  // one number per id
    ids_ = ids;
    numbers_ = std::move(numbers);
    return true;
}

std::string RuleNumbers::id(uint32_t n) const { return n >= 1 && n <= ids_.size() ? ids_[n - 1] : std::string(); }

std::string KernelPlan::owner(uint32_t kernel_id) const {
    auto it = owners.find(kernel_id);
    return it != owners.end() ? it->second : "kernel id " + std::to_string(kernel_id);
}

uint64_t tool_hash(const std::string& name) { return probe::kernel_hash(name); }

std::vector<std::pair<std::string, std::string>> kernel_denied_tools(const policy::Boundary& b) {
    std::vector<std::pair<std::string, std::string>> out;
    for (auto& r : b.mcp_tools)
        for (auto& d : r.deny)
            if (d.find_first_of("*?[\\") == std::string::npos && d.size() <= SK_TOOL_NAME_MAX) out.emplace_back(d, r.id);
    return out;
}

uint64_t kernel_dev(uint64_t st_dev) { return (static_cast<uint64_t>(major(st_dev)) << 20) | minor(st_dev); }

KernelPlan plan_kernel_tables(const PlanInput& in, RuleNumbers& rules) {
    KernelPlan plan;
    if (!in.set) return plan;
    NetPlanner net{plan, rules, {}, {}, 0};
    for (auto& b : in.set->agents()) {
        auto idit = in.ids.find(b->name);
        if (idit == in.ids.end()) continue;
        IdentityPlanner(plan, rules, net, *b, idit->second, nullptr).run(in.protect, in.pinned);
        for (auto& o : in.overlays)
            if (o.agent == b->name) IdentityPlanner(plan, rules, net, *b, o.kernel_id, &o).run(in.protect, in.pinned);
    }
    net.finish();
    return plan;
}

void check_capacity(KernelPlan& plan, const KernelCapacity& cap) {
    auto check = [&](const char* table, size_t size, size_t max, auto&& agent_of, const auto& entries) {
        if (size <= max) return;
        std::map<uint32_t, size_t> per_agent;
        for (auto& [k, v] : entries) ++per_agent[agent_of(k)];
        auto most = std::max_element(per_agent.begin(), per_agent.end(),
                                     [](auto& a, auto& b) { return a.second < b.second; });
        plan.problems.push_back(std::string(table) + " would hold " + std::to_string(size) + " entries, the map holds " +
                                std::to_string(max) + " (most from " + plan.owner(most->first) + ": " +
                                std::to_string(most->second) + ")");
    };
    check("inode_rules", plan.inode_rules.size(), cap.inode_rules, [](const InodeKey& k) { return k.agent; }, plan.inode_rules);
    check("net_allow", plan.net_allow.size(), cap.net_allow, [](const NetPrefix& k) { return k.agent; }, plan.net_allow);
    check("net_deny", plan.net_deny.size(), cap.net_deny, [](const NetPrefix& k) { return k.agent; }, plan.net_deny);
    check("tool_deny", plan.tool_deny.size(), cap.tool_deny, [](const ToolKey& k) { return k.agent; }, plan.tool_deny);
    check("http_rules", plan.http_rules.size(), cap.http_rules, [](const HttpKey& k) { return k.agent; }, plan.http_rules);
    for (auto& [id, cfg] : plan.agent_cfg)
        if (id >= cap.agent_cfg)
            plan.problems.push_back("agent_cfg holds kernel ids below " + std::to_string(cap.agent_cfg) + ", " +
                                    plan.owner(id) + " has " + std::to_string(id));
}

}  // namespace stockade::enforce
