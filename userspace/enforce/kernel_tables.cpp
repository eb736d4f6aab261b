#include "enforce/kernel_tables.hpp"

#include <bpf/bpf.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

#include "common/error.hpp"
#include "probe/probe.hpp"

namespace stockade::enforce {

namespace {

// One BPF map, written with every result checked. Keys are compared as raw bytes (the structs
// have explicit padding, zeroed by value initialisation).
template <typename Key, typename Value>
class MapWriter {
public:
    MapWriter(int fd, const char* table) : fd_(fd), table_(table) {}

    void put(const Key& k, const Value& v, const std::string& owner) const {
        if (bpf_map_update_elem(fd_, &k, &v, BPF_ANY) != 0) fail("cannot write an entry of " + owner);
    }
    void remove(const Key& k, const std::string& owner) const {
        if (bpf_map_delete_elem(fd_, &k) != 0 && errno != ENOENT) fail("cannot remove a stale entry of " + owner);
    }
    std::vector<Key> keys() const {
        std::vector<Key> out;
        Key cur{}, next{};
        for (void* prev = nullptr; bpf_map_get_next_key(fd_, prev, &next) == 0; prev = &cur) {
            out.push_back(next);
            cur = next;
        }
        return out;
    }
    size_t capacity() const {
        bpf_map_info info{};
        uint32_t len = sizeof info;
        if (bpf_obj_get_info_by_fd(fd_, &info, &len) != 0) fail("cannot read its size");
        return info.max_entries;
    }

private:
    [[noreturn]] void fail(const std::string& what) const {
        throw Error(std::string("kernel table ") + table_ + ": " + what + ": " + std::strerror(errno));
    }
    int fd_;
    const char* table_;
};

template <typename Key>
std::string raw(const Key& k) {
    return std::string(reinterpret_cast<const char*>(&k), sizeof k);
}

sk_inode_key to_kernel(const InodeKey& k) {
    sk_inode_key key{};
    key.agent_id = k.agent;
    key.dev = k.dev;
    key.ino = k.ino;
    return key;
}

sk_net_key to_kernel(const NetPrefix& k) {
    sk_net_key key{};
    key.prefixlen = 64 + k.prefix;
    key.agent_id = k.agent;
    key.family = k.family;
    std::memcpy(key.addr, k.addr.data(), 16);
    return key;
}

sk_net_rule to_kernel(const PortSpans& spans) {
    sk_net_rule v{};
    v.count = static_cast<uint32_t>(std::min<size_t>(spans.size(), SK_NET_SPANS_MAX));  // the plan refused more
    std::copy_n(spans.begin(), v.count, v.spans);
    return v;
}

sk_tool_key to_kernel(const ToolKey& k) {
    sk_tool_key key{};
    key.agent_id = k.agent;
    key.name_hash = k.name_hash;
    return key;
}

sk_http_key to_kernel(const HttpKey& k) {
    sk_http_key key{};
    key.agent_id = k.agent;
    key.tag = k.tag;
    key.route_hash = k.route_hash;
    key.path_hash = k.path_hash;
    return key;
}

template <typename V>
const V& to_kernel(const V& v) {
    return v;
}

// Makes one map hold exactly `entries`: new entries first, stale ones after, unless the union
// would not fit, in which case stale entries go first (they are not in the new plan anyway).
template <typename KernelKey, typename KernelValue, typename Entries>
void sync_table(const MapWriter<KernelKey, KernelValue>& map, const Entries& entries, const KernelPlan& plan) {
    std::map<std::string, uint32_t> wanted;  // raw kernel key -> owner id
    for (auto& [k, v] : entries) wanted[raw(to_kernel(k))] = k.agent;
    std::vector<KernelKey> stale;
    size_t present = 0;
    for (auto& k : map.keys()) {
        if (wanted.count(raw(k))) ++present;
        else stale.push_back(k);
    }
    auto prune = [&] {
        for (auto& k : stale) map.remove(k, plan.owner(k.agent_id));
        stale.clear();
    };
    if (present + stale.size() + (wanted.size() - present) > map.capacity()) prune();
    for (auto& [k, v] : entries) map.put(to_kernel(k), to_kernel(v), plan.owner(k.agent));
    prune();
}

}  // namespace

KernelTables::KernelTables(probe::Probe& probe) : probe_(probe) {
    capacity_.inode_rules = MapWriter<sk_inode_key, sk_inode_rule>(probe_.inode_rules_fd(), "inode_rules").capacity();
    capacity_.net_allow = MapWriter<sk_net_key, sk_net_rule>(probe_.net_allow_fd(), "net_allow").capacity();
    capacity_.net_deny = MapWriter<sk_net_key, sk_net_rule>(probe_.net_deny_fd(), "net_deny").capacity();
    capacity_.tool_deny = MapWriter<sk_tool_key, uint32_t>(probe_.tool_deny_fd(), "tool_deny").capacity();
    capacity_.http_rules = MapWriter<sk_http_key, sk_http_rule>(probe_.http_rules_fd(), "http_rules").capacity();
    capacity_.agent_cfg = MapWriter<uint32_t, sk_agent_cfg>(probe_.agent_cfg_fd(), "agent_cfg").capacity();
}

KernelPlan KernelTables::plan(const PlanInput& in) {
    KernelPlan p = plan_kernel_tables(in, rules_);
    check_capacity(p, capacity_);
    if (!p.problems.empty()) {
        std::string msg = "the kernel tables cannot hold these boundaries:";
        for (auto& problem : p.problems) msg += "\n  " + problem;
        throw Error(msg);
    }
    return p;
}

void KernelTables::write(const KernelPlan& plan, const KernelPlan* previous) {
    MapWriter<uint32_t, sk_agent_cfg> cfgs(probe_.agent_cfg_fd(), "agent_cfg");
    // 1. Switches come down to what both plans allow (gone agents: off) before any list shrinks.
    if (previous)
        for (auto& [id, old] : previous->agent_cfg) {
            auto it = plan.agent_cfg.find(id);
            sk_agent_cfg both{};
            if (it != plan.agent_cfg.end()) {
                both = it->second;
                both.flags &= old.flags;
            }
            cfgs.put(id, both, previous->owner(id));
        }
    // 2. Each table: new entries, then stale ones removed.
    sync_table(MapWriter<sk_inode_key, sk_inode_rule>(probe_.inode_rules_fd(), "inode_rules"), plan.inode_rules, plan);
    sync_table(MapWriter<sk_net_key, sk_net_rule>(probe_.net_allow_fd(), "net_allow"), plan.net_allow, plan);
    sync_table(MapWriter<sk_net_key, sk_net_rule>(probe_.net_deny_fd(), "net_deny"), plan.net_deny, plan);
    sync_table(MapWriter<sk_tool_key, uint32_t>(probe_.tool_deny_fd(), "tool_deny"), plan.tool_deny, plan);
    sync_table(MapWriter<sk_http_key, sk_http_rule>(probe_.http_rules_fd(), "http_rules"), plan.http_rules, plan);
    // 3. The new switches.
    for (auto& [id, cfg] : plan.agent_cfg) cfgs.put(id, cfg, plan.owner(id));
}

std::vector<AgentKernelState> KernelTables::apply(const KernelPlan& plan) {
    try {
        write(plan, applied_ ? &*applied_ : nullptr);
    } catch (const Error& e) {
        std::string restored = "the kernel tables were emptied";
        try {
            if (applied_) {
                write(*applied_, &plan);
                restored = "the tables in force before were written back";
            } else {
                write(KernelPlan{}, &plan);
            }
        } catch (const Error& again) {
            restored = "writing the tables in force back failed too (" + std::string(again.what()) + ")";
        }
        throw Error(std::string(e.what()) + "; " + restored);
    }
    applied_ = plan;
    return plan.agents;
}

std::vector<AgentKernelState> KernelTables::install(const policy::PolicySet& set,
                                                    const std::map<std::string, uint32_t>& ids,
                                                    const std::vector<std::string>& protect,
                                                    const std::vector<policy::TaskRules>& overlays,
                                                    const std::vector<PinnedInode>& pinned) {
    return apply(plan(PlanInput{&set, ids, protect, overlays, pinned}));
}

}  // namespace stockade::enforce
