// Where the daemon hands the judge its means to act (kills, the journal, the kernel's rule ids).

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>

#include "common/cgroup.hpp"
#include "common/clock.hpp"
#include "common/error.hpp"
#include "daemon/daemon.hpp"
#include "enforce/kill.hpp"

namespace stockade::daemon {

// The judge's hands: real kills, the journal writer, the kernel's rule ids and labels, and the
// cgroups the kernel tracked from their mkdir.
Actuator Daemon::make_actuator() {
    Actuator act;
    act.kill_process = [](uint32_t pid, uint64_t start, std::string& err) {
        auto r = enforce::kill_process(pid, start);
        err = r.error;
        return r.ok;
    };
    act.kill_cgroup = [this](const std::string& cg, std::string& err) {
        uint64_t id = 0;
        try {
            id = cgroup::id_of(cg);
        } catch (const Error&) {
        }
        auto r = enforce::kill_cgroup(cg);
        err = r.error;
        if (id) probe_->clear_doomed(id);  // every task got SIGKILL: the kernel's part is done
        return r.ok;
    };
    act.journal = [this](journal::Record& r) {
        try {
            writer_->append(r);
        } catch (const Error& e) {
            spdlog::error("journal: {}", e.what());
        }
    };
    act.kernel_rule_id = [this](uint32_t n) { return tables_->rule_id(n); };
    act.now_boot_ns = boot_ns;
    act.label_process = [this](uint32_t pid, const std::string& sequence, uint32_t through) {
        try {
            probe_->label_process(pid, tables_->kernel_rule(sequence), through);
        } catch (const Error& e) {
            spdlog::warn("labelling pid {}: {}", pid, e.what());
        }
    };
    act.hold_state = [this](uint32_t pid) {
        auto s = probe_->hold_state(pid);
        judge::HoldInfo h;
        h.state = static_cast<judge::HoldInfo::State>(s.state);
        h.holds = s.holds;
        h.breaker = s.breaker;
        return h;
    };
    act.release_hold = [](uint32_t pid, uint64_t start, uint16_t hold, std::string& err) {
        auto r = enforce::continue_process(pid, start, hold);
        err = r.error;
        return r.ok;
    };
    act.forget_hold = [this](uint32_t pid) { probe_->forget_hold(pid); };
    act.refuse_connect = [](uint32_t pid, uint64_t start, int fd, std::string& err) {
        auto r = enforce::shut_down_socket(pid, start, fd);
        err = r.error;
        return r.ok;
    };
    act.keep_never = [this](const Event& e, const std::string& agent, const std::string& rule) {
        keep_never(e, agent, rule);
    };
    act.cgroup_created = [this](const std::string& path, uint32_t agent_id, uint64_t id) {
        if (agent_id == 0) {  // named by no agent: reported while a boundary selects containers
            if (std::string rel = cgroup::rel_of_id(id); !rel.empty()) container_cgroup_seen(rel);
            return;
        }
        const identity::AgentMatch* m = table_.agent_by_id(agent_id);
        if (!m) return;
        // The kernel already tracks the cgroup (from its first exec); the syscall hook must be
        // on before that process opens a file (it is attached only while something is tracked).
        probe_->track_cgroup(id, m->id);
        // The kernel's path is relative to the creator's cgroup namespace: find ours by the id.
        errno = 0;
        std::string rel = cgroup::rel_of_id(id);
        if (rel.empty()) {
            spdlog::warn("agent={} cgroup {} (id {}) made and tracked, but not found by its id ({}): attributed at "
                         "the next scan", m->name, path, id, std::strerror(errno));
            return;
        }
        register_cgroup(rel, m->name, "", false);
    };
    return act;
}

// A never file the agent renamed or linked: the kernel table gets its inode (a directory: its
// tree), under the agent's id and its tasks', before the caller kills the process. The syscall
// ran, so the new name exists; it is looked up through the process's root (a container's view).
void Daemon::keep_never(const Event& e, const std::string& agent, const std::string& rule) {
    const std::string& name = e.path2.empty() ? e.path : e.path2;
    enforce::NeverPins::Released evicted;  // closed once the tables without it are in force
    if (!never_pins_.pin("/proc/" + std::to_string(e.pid) + "/root", name, agent, rule, evicted)) {
        spdlog::warn("agent={} pid={}: {} ({}) not found under its new name {}: not kept out by inode", agent, e.pid,
                     e.path, rule, name);
        return;
    }
    install_kernel_tables();
    spdlog::warn("agent={} pid={}: {} ({}) now also named {}: kept out by its inode under every name", agent, e.pid,
                 e.path, rule, name);
}

// Pinned files with no name left (deleted): out of the tables first, then their descriptor closed
// (only then can the inode number go to a new file).
void Daemon::drop_gone_pins() {
    enforce::NeverPins::Released gone = never_pins_.drop_gone();
    if (gone.empty()) return;
    install_kernel_tables();
    spdlog::info("{} pinned never file(s) deleted: out of the kernel tables", gone.size());
}

}  // namespace stockade::daemon
