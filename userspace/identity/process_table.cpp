#include "identity/process_table.hpp"

#include <unistd.h>

#include <algorithm>
#include <fstream>

#include "common/cgroup.hpp"

namespace stockade::identity {

namespace {
constexpr uint64_t kNsPerTick = 10'000'000;  // USER_HZ = 100 on every Linux ABI
}

ProcessKey key_of(uint32_t pid, uint64_t start_ns) { return ProcessKey{pid, start_ns / kNsPerTick}; }

std::string boot_id_prefix() {
    static const std::string id = [] {
        std::ifstream f("/proc/sys/kernel/random/boot_id");
        std::string s;
        f >> s;
        s.erase(std::remove(s.begin(), s.end(), '-'), s.end());
        return s.substr(0, 8);
    }();
    return id;
}

ProcessTable::ProcessTable(size_t max_processes) : max_(max_processes) {}

void ProcessTable::set_agents(std::vector<AgentMatch> agents) { agents_ = std::move(agents); }

const AgentMatch* ProcessTable::agent_by_id(uint32_t id) const {
    for (auto& a : agents_)
        if (a.id == id) return &a;
    return nullptr;
}

const AgentMatch* ProcessTable::agent_by_name(const std::string& name) const {
    for (auto& a : agents_)
        if (a.name == name) return &a;
    return nullptr;
}

void ProcessTable::bind_cgroup(uint64_t cgroup_id, const std::string& path, const std::string& agent,
                               const std::string& task) {
    bindings_[cgroup_id] = Binding{path, agent, task};
    cgroup_paths_[cgroup_id] = path;
}

void ProcessTable::unbind_cgroup(uint64_t cgroup_id) { bindings_.erase(cgroup_id); }

std::shared_ptr<const container::Info> ProcessTable::container_of(const std::string& cgroup_path) {
    if (cgroup_path.empty()) return nullptr;
    auto ref = container::of_cgroup(cgroup_path);
    return ref ? containers_.lookup(*ref) : nullptr;
}

const AgentMatch* ProcessTable::agent_of_container(const container::Info& c) const {
    for (auto& a : agents_)
        if (a.container && a.container->matches(c)) return &a;
    return nullptr;
}

std::string ProcessTable::cgroup_path(uint64_t cgroup_id) {
    auto it = cgroup_paths_.find(cgroup_id);
    return it == cgroup_paths_.end() ? std::string() : it->second;
}

Process& ProcessTable::get_or_create(const Event& e) {
    ProcessKey k = key_of(e.pid, e.start_ns);
    auto it = procs_.find(k);
    if (it != procs_.end()) return it->second;
    Process p;
    p.key = k;
    p.start_ns = e.start_ns;
    p.ppid = e.ppid;
    p.parent = key_of(e.ppid, e.parent_start_ns);
    p.uid = e.uid;
    p.gid = e.gid;
    p.comm = e.comm;
    p.cgroup_id = e.cgroup_id;
    p.cgroup = cgroup_path(e.cgroup_id);
    if (p.cgroup.empty()) {
        // By the id first: it names the cgroup even when the process is already gone (killed in
        // the kernel before its record was read, e.g. under a daemon that just took over).
        p.cgroup = cgroup::rel_of_id(e.cgroup_id);
        if (p.cgroup.empty()) p.cgroup = cgroup::of_pid(static_cast<pid_t>(e.pid));
        if (!p.cgroup.empty()) cgroup_paths_[e.cgroup_id] = p.cgroup;
    }
    p.container = container_of(p.cgroup);
    // A process first seen mid-life (before its exec was captured): take what /proc knows.
    if (p.exe.empty()) {
        char buf[4096];
        ssize_t n = readlink(("/proc/" + std::to_string(e.pid) + "/exe").c_str(), buf, sizeof buf - 1);
        if (n > 0) p.exe.assign(buf, static_cast<size_t>(n));
    }
    p.exec_id = boot_id_prefix() + "-" + std::to_string(k.pid) + "-" + std::to_string(k.start_ticks) + "-" +
                std::to_string(++exec_seq_);
    attribute(p);
    return procs_.emplace(k, std::move(p)).first->second;
}

// Identity comes, in order, from the parent (inheritance survives cgroup moves and
// reparenting: the parent key is the one at fork time), from a cgroup bound to an agent,
// from the agent's unit or cgroup path, from the container it runs in, or from the kernel's
// tracking tag.
void ProcessTable::attribute(Process& p) {
    auto par = procs_.find(p.parent);
    if (par != procs_.end() && !par->second.agent.empty()) {
        p.agent = par->second.agent;
        p.agent_id = par->second.agent_id;
        p.task = par->second.task;
        return;
    }
    auto narrow_ok = [&](const AgentMatch& a) {
        if (a.uid && *a.uid != p.uid) return false;
        if (a.exe && !p.exe.empty() && *a.exe != p.exe) return false;
        return true;
    };
    // A bound cgroup (made by `stockade run`) names its agent outright:
    // the operator who launched it asserted the identity, so exe/uid narrowing does not apply.
    auto b = bindings_.find(p.cgroup_id);
    if (b != bindings_.end()) {
        if (const AgentMatch* a = agent_by_name(b->second.agent)) {
            p.agent = a->name;
            p.agent_id = a->id;
            p.task = b->second.task;
            return;
        }
    }
    if (!p.cgroup.empty()) {
        std::string unit = cgroup::unit_of(p.cgroup);
        for (auto& a : agents_) {
            bool hit = std::find(a.units.begin(), a.units.end(), unit) != a.units.end() && !unit.empty();
            for (auto& c : a.cgroups)
                if (p.cgroup == c || p.cgroup.rfind(c + "/", 0) == 0) hit = true;
            if (hit && narrow_ok(a)) {
                p.agent = a.name;
                p.agent_id = a.id;
                return;
            }
        }
    }
    if (p.container)
        for (auto& a : agents_)
            if (a.container && a.container->matches(*p.container) && narrow_ok(a)) {
                p.agent = a.name;
                p.agent_id = a.id;
                return;
            }
}

const Process& ProcessTable::apply(const Event& e) {
    Process& p = get_or_create(e);
    // The kernel's tag covers processes the table has not seen begin (e.g. one that moved out
    // of the agent's cgroup before the daemon started); it never overrides exe/uid narrowing.
    if (p.agent.empty() && e.kernel_agent) {
        if (const AgentMatch* a = agent_by_id(e.kernel_agent); a && !a->exe && !a->uid) {
            p.agent = a->name;
            p.agent_id = a->id;
        }
    }
    switch (e.action) {
    case Action::Exec:
        p.exe = e.path;
        p.argv = e.argv;
        p.comm = e.comm;
        p.uid = e.uid;
        p.gid = e.gid;
        p.exec_id = boot_id_prefix() + "-" + std::to_string(p.key.pid) + "-" + std::to_string(p.key.start_ticks) +
                    "-" + std::to_string(++exec_seq_);
        break;
    case Action::Fork:
        if (!e.thread) {
            // The child inherits everything it had at fork time; its own exec may change exe.
            Process c = p;
            c.key = key_of(static_cast<uint32_t>(e.result), e.child_start_ns);
            c.start_ns = e.child_start_ns;
            c.parent = p.key;
            c.ppid = p.key.pid;
            c.exited = false;
            c.exec_id = boot_id_prefix() + "-" + std::to_string(c.key.pid) + "-" + std::to_string(c.key.start_ticks) +
                        "-" + std::to_string(++exec_seq_);
            procs_.insert_or_assign(c.key, std::move(c));
            return procs_.at(key_of(e.pid, e.start_ns));
        }
        break;
    case Action::Exit:
        p.exited = true;
        p.exited_at_ns = e.ktime_ns;
        break;
    default:
        break;
    }
    return p;
}

const Process& ProcessTable::adopt(const Process& in) {
    auto [it, inserted] = procs_.try_emplace(in.key, in);
    if (inserted) {
        if (it->second.exec_id.empty())
            it->second.exec_id = boot_id_prefix() + "-" + std::to_string(in.key.pid) + "-" +
                                 std::to_string(in.key.start_ticks) + "-" + std::to_string(++exec_seq_);
        if (!it->second.container) it->second.container = container_of(it->second.cgroup);
        if (it->second.agent.empty()) attribute(it->second);
    }
    return it->second;
}

const Process* ProcessTable::find(uint32_t pid, uint64_t start_ns) const {
    auto it = procs_.find(key_of(pid, start_ns));
    return it == procs_.end() ? nullptr : &it->second;
}

const Process* ProcessTable::find_live_pid(uint32_t pid) const {
    for (auto& [k, p] : procs_)
        if (k.pid == pid && !p.exited) return &p;
    return nullptr;
}

void ProcessTable::reap(uint64_t now_ns, uint64_t grace_ns) {
    for (auto it = procs_.begin(); it != procs_.end();) {
        if (it->second.exited && now_ns > it->second.exited_at_ns + grace_ns)
            it = procs_.erase(it);
        else
            ++it;
    }
    // Over the bound: drop exited ones first, then the oldest. Memory never grows with history.
    if (procs_.size() <= max_) return;
    std::vector<std::pair<uint64_t, ProcessKey>> order;
    for (auto& [k, p] : procs_) order.emplace_back((p.exited ? 0 : 1ull << 63) | (p.start_ns >> 1), k);
    std::sort(order.begin(), order.end(), [](auto& a, auto& b) { return a.first < b.first; });
    for (size_t i = 0; i < order.size() && procs_.size() > max_; ++i) procs_.erase(order[i].second);
}

size_t ProcessTable::tracked_count(const std::string& agent) const {
    size_t n = 0;
    for (auto& [k, p] : procs_)
        if (!p.exited && p.agent == agent) ++n;
    return n;
}

}  // namespace stockade::identity
