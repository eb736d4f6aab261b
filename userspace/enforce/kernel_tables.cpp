#include "enforce/kernel_tables.hpp"

#include <bpf/bpf.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <fcntl.h>
#include <fstream>
#include <sstream>

#include <cstring>
#include <set>
#include <tuple>

#include "enforce/http_routes.hpp"
#include "probe/probe.hpp"
#include "probe/record.hpp"

namespace stockade::enforce {

namespace {

using InodeKey = std::tuple<uint32_t, uint64_t, uint64_t>;
using NetKey = std::tuple<uint32_t, uint32_t, uint32_t, std::array<uint8_t, 16>>;  // prefixlen, agent, family, addr

sk_inode_key to_key(const InodeKey& k) {
    sk_inode_key key{};
    key.agent_id = std::get<0>(k);
    key.dev = std::get<1>(k);
    key.ino = std::get<2>(k);
    return key;
}

sk_net_key to_key(const NetKey& k) {
    sk_net_key key{};
    key.prefixlen = std::get<0>(k);
    key.agent_id = std::get<1>(k);
    key.family = std::get<2>(k);
    std::memcpy(key.addr, std::get<3>(k).data(), 16);
    return key;
}

// Deletes every key of `fd` not in `keep` (keys compared as raw bytes).
template <typename Key>
void prune(int fd, const std::set<std::string>& keep) {
    Key cur{}, next{};
    std::vector<Key> stale;
    void* prev = nullptr;
    while (bpf_map_get_next_key(fd, prev, &next) == 0) {
        std::string raw(reinterpret_cast<const char*>(&next), sizeof next);
        if (!keep.count(raw)) stale.push_back(next);
        cur = next;
        prev = &cur;
    }
    for (auto& k : stale) bpf_map_delete_elem(fd, &k);
}

template <typename Key>
std::string raw(const Key& k) {
    return std::string(reinterpret_cast<const char*>(&k), sizeof k);
}

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

}  // namespace

uint64_t KernelTables::tool_hash(const std::string& name) { return probe::kernel_hash(name); }

std::vector<std::pair<std::string, std::string>> KernelTables::kernel_denied_tools(const policy::Boundary& b) {
    std::vector<std::pair<std::string, std::string>> out;  // (tool, rule id)
    for (auto& r : b.mcp_tools)
        for (auto& d : r.deny)
            if (d.find_first_of("*?[\\") == std::string::npos && d.size() <= SK_TOOL_NAME_MAX) out.emplace_back(d, r.id);
    return out;
}

uint64_t KernelTables::kernel_dev(uint64_t st_dev) {
    return (static_cast<uint64_t>(major(st_dev)) << 20) | minor(st_dev);
}

uint32_t KernelTables::rule_number(const std::string& id) {
    auto it = rule_numbers_.find(id);
    if (it != rule_numbers_.end()) return it->second;
    rules_.push_back(id);
    uint32_t n = static_cast<uint32_t>(rules_.size());
    rule_numbers_[id] = n;
    return n;
}

static_assert(SK_RULE_SELF == 1 && SK_RULE_HTTP_UNCLEAR == 2, "the constructor registers these first, in this order");

std::string KernelTables::rule_id(uint32_t kernel_rule) const {
    return kernel_rule >= 1 && kernel_rule <= rules_.size() ? rules_[kernel_rule - 1] : std::string();
}

std::vector<AgentKernelState> KernelTables::install(const policy::PolicySet& set,
                                                    const std::map<std::string, uint32_t>& ids,
                                                    const std::vector<std::string>& protect,
                                                    const std::vector<KernelOverlay>& overlays) {
    std::map<InodeKey, sk_inode_rule> inodes;
    std::map<NetKey, sk_net_rule> allow, deny;
    std::map<std::pair<uint32_t, uint64_t>, uint32_t> tools;  // (agent, name hash) -> rule
    std::map<std::tuple<uint32_t, uint32_t, uint64_t, uint64_t>, sk_http_rule> http;  // sk_http_key fields
    std::map<uint32_t, sk_agent_cfg> cfgs;
    std::vector<AgentKernelState> states;

    // One kernel identity: an agent's boundary, under the agent's id or (with `extra`, a task's
    // grants added) under a task's own id.
    auto emit = [&](const policy::Boundary* b, uint32_t agent, const KernelOverlay* extra) {
        AgentKernelState st;
        st.agent = extra ? b->name + "/" + extra->task : b->name;
        st.agent_id = agent;
        // on_violation: flag means journal only: the kernel then refuses and kills nothing either.
        st.enforce = b->mode == Mode::Enforce && b->on_violation != OnViolation::Flag;

        // A path rule goes to the kernel when it is an exact path or a whole directory that
        // exists now; returns false (userspace only) otherwise.
        auto put_inode = [&](const policy::PathRule& r, uint32_t flag) {
            if (r.kind() == policy::PatternKind::Glob) {
                st.userspace_only.push_back(r.id + " (glob)");
                return false;
            }
            struct stat sb {};
            if (stat(r.dir().c_str(), &sb) != 0) {
                st.userspace_only.push_back(r.id + " (" + r.dir() + " does not exist yet)");
                return false;
            }
            auto& v = inodes[{agent, kernel_dev(sb_dev_of(r.dir(), sb.st_dev)), sb.st_ino}];
            v.flags |= flag | (r.kind() == policy::PatternKind::Subtree ? SK_IR_SUBTREE : 0);
            if (!v.rule) v.rule = rule_number(r.id);
            ++st.inode_rules;
            return true;
        };

        bool strict = true;  // an empty allow list is strict too: no exec at all
        for (auto& r : b->exec.allow) strict = put_inode(r, SK_IR_EXEC_ALLOW) && strict;
        if (extra)
            for (auto& r : extra->exec_allow) strict = put_inode(r, SK_IR_EXEC_ALLOW) && strict;
        for (auto& r : b->exec.deny) put_inode(r, SK_IR_EXEC_DENY);
        for (auto& r : b->files.never) put_inode(r, SK_IR_FILE_DENY);
        for (auto& dir : protect) {
            struct stat sb {};
            if (stat(dir.c_str(), &sb) != 0) continue;
            auto& v = inodes[{agent, kernel_dev(sb_dev_of(dir, sb.st_dev)), sb.st_ino}];
            v.flags |= SK_IR_PROTECT | SK_IR_SUBTREE;
            v.rule = SK_RULE_SELF;  // self-protection names itself, whatever else matched
        }
        st.exec_strict = strict;

        // File allow rules: the kernel can refuse what none covers only when every rule is exact
        // or a whole directory that exists. /proc rules stay with the daemon (the kernel leaves
        // /proc to it too: its inodes are per process).
        bool file_strict = true;
        auto put_allow = [&](const std::vector<policy::PathRule>& rules, uint32_t flag) {
            for (auto& r : rules) {
                if (r.dir().rfind("/proc/", 0) == 0 || r.pattern.rfind("/proc/", 0) == 0) continue;
                file_strict = put_inode(r, flag) && file_strict;
            }
        };
        put_allow(b->files.read, SK_IR_READ_ALLOW);
        // A builtin read naming a file this host does not have (/etc/ld.so.preload ...) cannot be
        // opened, so it costs no strictness; the agent's own rules can (the file may appear later).
        std::vector<policy::PathRule> present;
        for (auto& r : b->system_rules) {
            struct stat sb {};
            if (stat(r.dir().c_str(), &sb) == 0) present.push_back(r);
        }
        put_allow(present, SK_IR_READ_ALLOW);
        put_allow(b->files.write, SK_IR_WRITE_ALLOW);
        put_allow(b->files.create, SK_IR_WRITE_ALLOW);
        if (extra) {
            put_allow(extra->read_allow, SK_IR_READ_ALLOW);
            put_allow(extra->write_allow, SK_IR_WRITE_ALLOW);
        }
        st.file_strict = file_strict;

        // Sequences that limit a labelled process's connects: the labelling reads the kernel can
        // see (exact files, whole directories) label synchronously; the exceptions are filed
        // under the sequence's own id in net_allow (below, with the other network entries).
        for (auto& s : b->sequences) {
            if (!s.forbid_connect) continue;
            uint32_t seq_rule = rule_number(s.id);
            for (auto& r : s.after_read) {
                if (r.kind() == policy::PatternKind::Glob) {
                    st.userspace_only.push_back(r.id + " (glob: labelled by the daemon, not synchronously)");
                    continue;
                }
                struct stat sb {};
                if (stat(r.dir().c_str(), &sb) != 0) continue;
                auto& v = inodes[{agent, kernel_dev(sb_dev_of(r.dir(), sb.st_dev)), sb.st_ino}];
                v.flags |= SK_IR_LABEL | (r.kind() == policy::PatternKind::Subtree ? SK_IR_SUBTREE : 0);
                if (!v.label) v.label = seq_rule;
            }
        }

        // Network: one LPM entry per (CIDR, port range); IPv4 rules also cover v4-mapped v6.
        auto put_net = [&](std::map<NetKey, sk_net_rule>& table, const policy::NetRule& r,
                           const policy::Cidr& c) {
            if (r.ports.size() > 1) {
                st.userspace_only.push_back(r.id + " (several port ranges)");
                return false;
            }
            sk_net_rule v{};
            v.port_lo = r.ports.empty() ? 0 : r.ports[0].lo;
            v.port_hi = r.ports.empty() ? 65535 : r.ports[0].hi;
            v.sotype = r.protocol == policy::Protocol::Tcp ? SOCK_STREAM
                       : r.protocol == policy::Protocol::Udp ? SOCK_DGRAM : 0;
            v.rule = rule_number(r.id);
            auto put = [&](uint32_t family, const std::array<uint8_t, 16>& a, int prefix) {
                NetKey k{64 + prefix, agent, family, a};
                auto [it, fresh] = table.emplace(k, v);
                if (!fresh && std::memcmp(&it->second, &v, sizeof v) != 0) {
                    st.userspace_only.push_back(r.id + " (shares its address block with another rule)");
                    return false;
                }
                return true;
            };
            bool ok = put(c.addr.family == AF_INET ? AF_INET : AF_INET6, c.addr.bytes, c.prefix);
            if (c.addr.family == AF_INET) {
                std::array<uint8_t, 16> mapped{};
                mapped[10] = mapped[11] = 0xff;
                std::memcpy(&mapped[12], c.addr.bytes.data(), 4);
                ok = put(AF_INET6, mapped, 96 + c.prefix) && ok;
            }
            ++st.net_rules;
            return ok;
        };
        auto cidrs_of = [&](const policy::NetRule& r) {
            std::vector<policy::Cidr> out;
            if (r.host.empty()) {
                out.push_back(r.cidr);
            } else {
                for (auto& a : b->resolved(r.host))
                    out.push_back(policy::Cidr{a, a.family == AF_INET ? 32 : 128});
            }
            return out;
        };
        for (auto& r : b->network.deny)
            for (auto& c : cidrs_of(r)) put_net(deny, r, c);
        bool net_strict = true;
        for (auto& r : b->network.connect)
            for (auto& c : cidrs_of(r)) net_strict = put_net(allow, r, c) && net_strict;
        if (extra)
            for (auto& r : extra->connect)
                for (auto& c : cidrs_of(r)) net_strict = put_net(allow, r, c) && net_strict;
        st.net_strict = net_strict;
        for (auto& s : b->sequences) {
            if (!s.forbid_connect) continue;
            uint32_t lock = SK_NET_LOCK_ID(rule_number(s.id));
            for (auto& r : s.connect_except)
                for (auto& c : cidrs_of(r)) {
                    uint32_t saved = agent;
                    agent = lock;  // put_net files entries under `agent`
                    put_net(allow, r, c);
                    agent = saved;
                }
        }

        for (auto& [tool, rule] : kernel_denied_tools(*b)) tools[{agent, tool_hash(tool)}] = rule_number(rule);

        // HTTP routes: a deny and an allow on the same key keep both bits; the deny's rule wins.
        std::vector<policy::HttpRule> http_rules = b->http_tools;
        if (extra && !b->http_tools.empty())
            http_rules.insert(http_rules.end(), extra->http_allow.begin(), extra->http_allow.end());
        KernelHttpPlan hp = plan_http_routes(http_rules);
        for (auto& h : hp.entries) {
            auto& v = http[{agent, h.tag, h.route_hash, h.path_hash}];
            if ((h.flags & SK_HTTP_DENY) || !v.rule) v.rule = rule_number(h.rule_id);
            v.flags |= h.flags;
        }
        for (auto& u : hp.userspace_only) st.userspace_only.push_back(u);
        st.http_rules = hp.entries.size();
        st.http_strict = hp.strict;

        sk_agent_cfg cfg{};
        cfg.flags = (st.enforce ? SK_AG_ENFORCE : 0) | (st.exec_strict ? SK_AG_EXEC_STRICT : 0) |
                    (st.net_strict ? SK_AG_NET_STRICT : 0) | (st.file_strict ? SK_AG_FILE_STRICT : 0) |
                    (!b->http_tools.empty() ? SK_AG_HTTP : 0) | (hp.strict ? SK_AG_HTTP_STRICT : 0) |
                    (st.enforce && b->on_violation == OnViolation::KillAgent ? SK_AG_KILL_AGENT : 0) |
                    (b->io_uring ? SK_AG_IO_URING : 0);
        cfg.default_rule = rule_number(b->default_deny_id());
        cfg.http_rule = rule_number(b->file_name + ":http-default-deny");
        cfgs[agent] = cfg;
        states.push_back(std::move(st));
    };

    for (auto& b : set.agents()) {
        auto idit = ids.find(b->name);
        if (idit == ids.end()) continue;
        emit(b.get(), idit->second, nullptr);
        for (auto& o : overlays)
            if (o.agent == b->name) emit(b.get(), o.kernel_id, &o);
    }

    // 1. Agents that are gone or change: drop strict flags first (their old allow lists may
    //    shrink below). 2. New entries. 3. Stale entries. 4. New agent switches.
    for (uint32_t old : agent_ids_) {
        auto it = cfgs.find(old);
        if (it == cfgs.end()) {
            probe_.clear_agent_config(old);
        }
    }
    std::set<std::string> keep_inodes, keep_allow, keep_deny;
    for (auto& [k, v] : inodes) {
        auto key = to_key(k);
        bpf_map_update_elem(probe_.inode_rules_fd(), &key, &v, BPF_ANY);
        keep_inodes.insert(raw(key));
    }
    for (auto& [k, v] : allow) {
        auto key = to_key(k);
        bpf_map_update_elem(probe_.net_allow_fd(), &key, &v, BPF_ANY);
        keep_allow.insert(raw(key));
    }
    for (auto& [k, v] : deny) {
        auto key = to_key(k);
        bpf_map_update_elem(probe_.net_deny_fd(), &key, &v, BPF_ANY);
        keep_deny.insert(raw(key));
    }
    std::set<std::string> keep_tools;
    for (auto& [k, rule] : tools) {
        sk_tool_key key{};
        key.agent_id = k.first;
        key.name_hash = k.second;
        bpf_map_update_elem(probe_.tool_deny_fd(), &key, &rule, BPF_ANY);
        keep_tools.insert(raw(key));
    }
    prune<sk_tool_key>(probe_.tool_deny_fd(), keep_tools);
    std::set<std::string> keep_http;
    for (auto& [k, v] : http) {
        sk_http_key key{};
        std::tie(key.agent_id, key.tag, key.route_hash, key.path_hash) = k;
        bpf_map_update_elem(probe_.http_rules_fd(), &key, &v, BPF_ANY);
        keep_http.insert(raw(key));
    }
    prune<sk_http_key>(probe_.http_rules_fd(), keep_http);
    prune<sk_inode_key>(probe_.inode_rules_fd(), keep_inodes);
    prune<sk_net_key>(probe_.net_allow_fd(), keep_allow);
    prune<sk_net_key>(probe_.net_deny_fd(), keep_deny);
    agent_ids_.clear();
    for (auto& [id, cfg] : cfgs) {
        probe_.set_agent_config(id, cfg);
        agent_ids_.push_back(id);
    }
    return states;
}

}  // namespace stockade::enforce
