// Agents in containers (match.container): a container's cgroup is found at its mkdir (the kernel
// reports every cgroup made while a boundary selects containers) or by the scan once a second
// (containers that ran before the daemon), named from its runtime's files, and tracked from its
// first exec when a boundary selects it.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/cgroup.hpp"
#include "common/container.hpp"
#include "common/error.hpp"
#include "daemon/daemon.hpp"
#include "identity/procfs.hpp"

namespace stockade::daemon {

bool Daemon::wants_containers() const {
    return std::any_of(table_.agents().begin(), table_.agents().end(),
                       [](const identity::AgentMatch& m) { return m.container.has_value(); });
}

void Daemon::discover_containers() {
    bool want = wants_containers();
    probe_->report_cgroup_mkdirs(want);
    if (!want || cgroup::root().empty()) return;
    for (const std::string& rel : identity::container_cgroups(cgroup::root())) container_cgroup_seen(rel);
}

// A container's cgroup, just made or found by the scan: tracked if a boundary selects it.
void Daemon::container_cgroup_seen(const std::string& rel) {
    uint64_t id = 0;
    try {
        id = cgroup::id_of(rel);
    } catch (const Error&) {
        return;  // gone already
    }
    if (registered_.count(id)) return;
    auto c = table_.container_of(rel);
    if (!c) return;  // not a container, or its runtime has not written its files (next scan)
    const identity::AgentMatch* m = table_.agent_of_container(*c);
    if (!m) return;
    probe_->track_cgroup_from_exec(id, m->id);
    table_.note_cgroup(id, rel);
    registered_[id] = rel;
    // What already runs there (a container older than the daemon, or one the scan found late):
    // its processes are the agent's, except the runtime's init still setting the container up.
    for (auto& p : identity::read_cgroup_procs(rel)) {
        if (identity::is_runtime_init(p)) continue;
        p.cgroup_id = id;
        const auto& got = table_.adopt(p);
        if (got.agent == m->name) probe_->track_process(p.key.pid, m->id, p.start_ns);
    }
    spdlog::info("agent={} container {} (name={} image={}) tracking cgroup {}", m->name, c->id.substr(0, 12), c->name,
                 c->image, rel);
}

}  // namespace stockade::daemon
