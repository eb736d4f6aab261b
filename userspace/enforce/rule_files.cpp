#include "enforce/rule_files.hpp"

#include <spdlog/spdlog.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace stockade::enforce {

std::vector<std::string> inode_named_paths(const policy::PolicySet& set) {
    std::set<std::string> out;
    auto add = [&](const std::vector<policy::PathRule>& rules) {
        for (auto& r : rules)
            if (r.kind() != policy::PatternKind::Glob && r.dir().rfind("/proc/", 0) != 0) out.insert(r.dir());
    };
    for (auto& b : set.agents()) {
        add(b->system_rules);
        add(b->files.read);
        add(b->files.write);
        add(b->files.create);
        add(b->files.never);
        add(b->exec.allow);
        add(b->exec.deny);
        for (auto& s : b->sequences) add(s.after_read);
    }
    return {out.begin(), out.end()};
}

RuleFileWatch::RuleFileWatch() {
    fd_ = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    if (fd_ < 0) spdlog::warn("inotify for rule files: {}: a replaced file waits for a reload", std::strerror(errno));
}

RuleFileWatch::~RuleFileWatch() {
    if (fd_ >= 0) close(fd_);
}

void RuleFileWatch::watch(const std::vector<std::string>& paths) {
    if (fd_ < 0) return;
    for (auto& [wd, names] : names_) inotify_rm_watch(fd_, wd);
    names_.clear();
    std::map<std::string, std::set<std::string>> by_dir;
    for (auto& p : paths) {
        std::filesystem::path fp(p);
        if (fp.has_parent_path() && fp.has_filename()) by_dir[fp.parent_path().string()].insert(fp.filename().string());
    }
    constexpr uint32_t kMask = IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_ONLYDIR;
    for (auto& [dir, names] : by_dir) {
        int wd = inotify_add_watch(fd_, dir.c_str(), kMask);
        if (wd < 0) continue;  // not there (yet): its rules are userspace only until a reload
        names_[wd].insert(names.begin(), names.end());
    }
}

bool RuleFileWatch::changed() {
    if (fd_ < 0) return false;
    alignas(inotify_event) char buf[8192];
    bool hit = false;
    ssize_t n;
    while ((n = read(fd_, buf, sizeof buf)) > 0) {
        for (ssize_t at = 0; at < n;) {
            auto* ev = reinterpret_cast<const inotify_event*>(buf + at);
            auto it = names_.find(ev->wd);
            if ((ev->mask & IN_Q_OVERFLOW) || (it != names_.end() && ev->len && it->second.count(ev->name))) hit = true;
            at += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
        }
    }
    return hit;
}

}  // namespace stockade::enforce
