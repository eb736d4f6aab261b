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

std::vector<std::string> denied_trees(const policy::PolicySet& set) {
    std::set<std::string> out;
    for (auto& b : set.agents())
        for (auto* rules : {&b->files.never, &b->exec.deny})
            for (auto& r : *rules)
                if (r.kind() == policy::PatternKind::Subtree) out.insert(r.dir());
    return {out.begin(), out.end()};
}

RuleFileWatch::RuleFileWatch() {
    fd_ = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    if (fd_ < 0) spdlog::warn("inotify for rule files: {}: a replaced file waits for a reload", std::strerror(errno));
}

RuleFileWatch::~RuleFileWatch() {
    if (fd_ >= 0) close(fd_);
}

void RuleFileWatch::watch(const std::vector<std::string>& paths, const std::vector<std::string>& trees) {
    if (fd_ < 0) return;
    for (auto& [wd, names] : names_) inotify_rm_watch(fd_, wd);
    for (int wd : tree_wds_) inotify_rm_watch(fd_, wd);
    names_.clear();
    tree_wds_.clear();
    // Each directory (names coming and going) and file (its link count) of the trees.
    namespace fs = std::filesystem;
    auto add = [&](const std::string& path, uint32_t mask) {
        if (tree_wds_.size() >= kMaxTreeWatches) return;
        int wd = inotify_add_watch(fd_, path.c_str(), mask | IN_DONT_FOLLOW);
        if (wd >= 0) tree_wds_.insert(wd);
    };
    constexpr uint32_t kTreeDir = IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_ONLYDIR;
    for (auto& t : trees) {
        std::error_code ec;
        add(t, kTreeDir);
        for (auto it = fs::recursive_directory_iterator(t, fs::directory_options::skip_permission_denied, ec);
             !ec && it != fs::recursive_directory_iterator() && tree_wds_.size() < kMaxTreeWatches; it.increment(ec)) {
            if (it->is_symlink(ec)) continue;
            if (it->is_directory(ec)) add(it->path().string(), kTreeDir);
            else if (it->is_regular_file(ec)) add(it->path().string(), IN_ATTRIB);
        }
    }
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
            if (tree_wds_.count(ev->wd) && (ev->mask & (IN_ATTRIB | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO)))
                hit = true;
            at += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
        }
    }
    return hit;
}

}  // namespace stockade::enforce
