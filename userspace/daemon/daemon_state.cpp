// A restarted daemon takes over from the previous one (part of class Daemon, daemon.hpp): the
// agents' kernel ids and the tasks come back from state_dir, the `stockade run` scopes from the
// cgroup tree, the kernel side from the pins (probe/pins.hpp). docs/architecture.md, "Restarts".
#include <spdlog/spdlog.h>

#include <charconv>
#include <filesystem>

#include "common/cgroup.hpp"
#include "common/clock.hpp"
#include "common/error.hpp"
#include "daemon/daemon.hpp"
#include "policy/policy.hpp"

namespace stockade::daemon {

namespace fs = std::filesystem;

namespace {

// "run-1234" or "<task>-run-1234" (daemon_control.cpp names them): the task, or "" for none.
std::optional<std::string> launcher_task(const std::string& leaf) {
    auto at = leaf.rfind("run-");
    if (at == std::string::npos || (at != 0 && leaf[at - 1] != '-')) return std::nullopt;
    const char* digits = leaf.c_str() + at + 4;
    unsigned pid = 0;
    auto [end, ec] = std::from_chars(digits, leaf.c_str() + leaf.size(), pid);
    if (ec != std::errc() || end != leaf.c_str() + leaf.size() || !pid) return std::nullopt;
    return at == 0 ? std::string() : leaf.substr(0, at - 1);
}

}  // namespace

void Daemon::restore_agent_ids() {
    restored_ = scope::load_state(cfg_.state_dir);
    if (!restored_) return;
    for (auto& [name, id] : restored_->agent_ids)
        if (id > 0 && id < 512) agent_ids_[name] = id;  // task ids start at 512 (scope/tasks.hpp)
    spdlog::info("restored the kernel ids of {} agents from {}", agent_ids_.size(), cfg_.state_dir);
    // The pinned tables and the records still in the ring carry the previous daemon's rule numbers.
    if (!restored_->rule_ids.empty() && !tables_->restore_rule_ids(restored_->rule_ids))
        spdlog::warn("{}: the saved kernel rule numbers do not extend this build's builtin ones; numbering "
                     "afresh (records still in the ring may name the wrong rule)",
                     cfg_.state_dir);
}

// Tasks come back under their kernel ids: their processes in the pinned `tracked` table and
// their run scopes carry them. A task whose agent is gone or whose grant no longer parses is
// not restored, and the journal says so.
void Daemon::restore_tasks() {
    if (!restored_) return;
    for (auto& saved : restored_->tasks) {
        const policy::Boundary* b = pipeline_->policy()->find(saved.agent);
        try {
            if (!b) throw Error("agent " + saved.agent + " is no longer in force");
            tasks_.restore(*b, saved);
            spdlog::info("task {} of agent {} restored ({} grants)", saved.id, saved.agent, saved.grants.size());
        } catch (const Error& e) {
            spdlog::error("task {} not restored: {}", saved.id, e.what());
            journal_daemon("task " + saved.id + " not restored: " + e.what());
        }
    }
    restored_.reset();
}

// Every `stockade run` scope under cgroup_base is the launcher's again: tracked, its processes
// adopted, and removed once empty (before, a restarted daemon forgot them and left them behind).
void Daemon::readopt_launcher_scopes() {
    const std::string& root = cgroup::root();
    std::error_code ec;
    if (root.empty() || !fs::is_directory(root + cfg_.cgroup_base, ec)) return;
    for (auto& agent_dir : fs::directory_iterator(root + cfg_.cgroup_base, ec)) {
        if (!agent_dir.is_directory(ec)) continue;
        std::string agent = agent_dir.path().filename();
        for (auto& scope : fs::directory_iterator(agent_dir.path(), ec)) {
            auto task = launcher_task(scope.path().filename());
            if (!scope.is_directory(ec) || !task) continue;
            std::string rel = scope.path().string().substr(root.size());
            uint32_t kernel_id = 0;
            if (!task->empty()) {
                if (Task* t = tasks_.find(*task)) kernel_id = t->kernel_id;
                else spdlog::warn("{}: task {} is not known any more: its processes are judged as agent {}'s", rel,
                                  *task, agent);
            }
            if (!table_.agent_by_name(agent)) {
                spdlog::warn("{}: agent {} is not in force: the scope is left untracked", rel, agent);
                continue;
            }
            launcher_cgroups_.insert(rel);
            register_cgroup(rel, agent, kernel_id ? *task : "", true, kernel_id);
        }
    }
}

void Daemon::finish_takeover() {
    auto& t = probe_->takeover();
    if (!t.pin_error.empty()) journal_daemon(t.pin_error);
    for (auto& dir : probe_->retire_stale_pins())
        spdlog::warn("bpf pins of another build in {} removed: this daemon's programs replaced them", dir);
    if (!t.stale_builds.empty())
        journal_daemon("replaced the pinned programs of another build (" + std::to_string(t.stale_builds.size()) +
                       " directories under " + cfg_.bpf_pin_dir + ")");
    if (t.maps_reused || t.links_adopted)
        journal_daemon("took over the pinned kernel state: " + std::to_string(t.maps_reused) + " maps reused, " +
                       std::to_string(t.links_adopted) + " links kept attached");
    probe_->beat();
    save_state_if_changed();
}

void Daemon::save_state_if_changed() {
    if (cfg_.state_dir.empty()) return;
    scope::SavedState s;
    s.boot_id = scope::current_boot_id();
    s.agent_ids = agent_ids_;
    s.rule_ids = tables_->rule_ids();
    for (auto& [id, t] : tasks_.tasks()) s.tasks.push_back(scope::TaskRegistry::save(t));
    std::string text = scope::encode_state(s);
    if (text == saved_text_) return;
    try {
        scope::save_state(cfg_.state_dir, s);
        saved_text_ = text;
    } catch (const Error& e) {
        spdlog::error("{}: a restarted daemon would not find these tasks", e.what());
    }
}

}  // namespace stockade::daemon
