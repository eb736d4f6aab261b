// The files the kernel tables name by inode, followed when they are replaced: a package upgrade
// or an editor renames a new file over the old one (new inode), and a table still holding the
// old inode would refuse the new file to every enforcing agent (a file-strict agent opening a
// replaced /etc/ld.so.cache would die). inotify on each named file's directory tells the daemon
// to plan the tables again.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "policy/boundary.hpp"

namespace stockade::enforce {

// The exact files and whole directories of every boundary's rules that the kernel tables hold by
// inode (policy::PatternKind Exact and Subtree), /proc excluded.
std::vector<std::string> inode_named_paths(const policy::PolicySet& set);

class RuleFileWatch {
   public:
    RuleFileWatch();
    ~RuleFileWatch();
    RuleFileWatch(const RuleFileWatch&) = delete;
    RuleFileWatch& operator=(const RuleFileWatch&) = delete;

    int fd() const { return fd_; }
    // Watches the directories holding `paths` (replacing the previous watches).
    void watch(const std::vector<std::string>& paths);
    // Reads what is pending: true when a watched name was created, replaced, moved or removed.
    bool changed();

   private:
    int fd_ = -1;
    std::map<int, std::set<std::string>> names_;  // watch descriptor -> names in that directory
};

}  // namespace stockade::enforce
