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
// The directories of files.never and exec.deny `dir/**` rules: a hard link made to a file below
// one (its link count changes: IN_ATTRIB) gives it a name the directory's entry does not cover,
// so the tables are planned again (kernel_plan.cpp, put_linked_files).
std::vector<std::string> denied_trees(const policy::PolicySet& set);

class RuleFileWatch {
   public:
    RuleFileWatch();
    ~RuleFileWatch();
    RuleFileWatch(const RuleFileWatch&) = delete;
    RuleFileWatch& operator=(const RuleFileWatch&) = delete;

    int fd() const { return fd_; }
    // Watches the directories holding `paths`, and every directory and file of `trees` (at most
    // kMaxTreeWatches in all), replacing the previous watches. A link count change is reported
    // on the file's own watch only, never on its directory's.
    void watch(const std::vector<std::string>& paths, const std::vector<std::string>& trees = {});
    // Reads what is pending: true when a watched name was created, replaced, moved or removed, or
    // a name came or went in a watched tree, or a file there changed its attributes (a new hard
    // link among them). The caller then watches again (new files) and plans the tables again.
    bool changed();
    static constexpr size_t kMaxTreeWatches = 4096;

   private:
    int fd_ = -1;
    std::map<int, std::set<std::string>> names_;  // watch descriptor -> names in that directory
    std::set<int> tree_wds_;                      // directories and files inside denied trees
};

}  // namespace stockade::enforce
