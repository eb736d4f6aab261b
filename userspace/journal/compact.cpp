#include "journal/compact.hpp"

namespace stockade::journal {

namespace {

bool allowed_decision(const Record& r) { return r.type == RecordType::Decision && r.verdict == Verdict::Allow; }

}  // namespace

void ContextOnce::note_written(const Record& r) {
    if (r.exec_id.empty()) return;
    if (written_.size() >= kMaxProcesses) written_.clear();
    written_.insert(r.exec_id);
}

ProcessContext ContextOnce::take_known(Record& r) {
    ProcessContext c;
    if (!allowed_decision(r)) {
        note_written(r);
        return c;
    }
    // How an allow resolved ("files.read[0] ~/project/** matched ...") repeats its rule and
    // path; the rule id stays. Violations keep theirs: it explains the stop. A `syscall` record's
    // names the call.
    if (r.action != "syscall") {
        c.resolved = std::move(r.resolved);
        r.resolved.clear();
    }
    c.taken = true;
    if (r.exec_id.empty()) return c;
    if (!written_.count(r.exec_id)) {
        note_written(r);
        return c;
    }
    c.exe = std::move(r.exe);
    c.argv = std::move(r.argv);
    c.cgroup = std::move(r.cgroup);
    c.ppid = r.ppid;
    c.uid = r.uid;
    r.exe.clear();
    r.argv.clear();
    r.cgroup.clear();
    r.ppid = 0;
    r.uid = 0;
    return c;
}

void ContextOnce::put_back(Record& r, ProcessContext&& c) {
    if (!c.taken) return;
    if (!c.resolved.empty()) r.resolved = std::move(c.resolved);
    if (!c.exe.empty() || !c.argv.empty() || !c.cgroup.empty() || c.ppid || c.uid) {
        r.exe = std::move(c.exe);
        r.argv = std::move(c.argv);
        r.cgroup = std::move(c.cgroup);
        r.ppid = c.ppid;
        r.uid = c.uid;
    }
}

bool lacks_context(const Record& r) {
    return allowed_decision(r) && !r.exec_id.empty() && r.exe.empty() && r.argv.empty() && r.cgroup.empty();
}

bool has_context(const Record& r) {
    return !r.exec_id.empty() && (!r.exe.empty() || !r.argv.empty() || !r.cgroup.empty());
}

void copy_context(const Record& from, Record& to) {
    to.exe = from.exe;
    to.argv = from.argv;
    to.cgroup = from.cgroup;
    to.ppid = from.ppid;
    to.uid = from.uid;
}

void ContextJoin::apply(Record& r) {
    if (has_context(r)) {
        if (known_.size() >= kMaxProcesses) known_.clear();
        Record& k = known_[r.exec_id];
        copy_context(r, k);
    } else if (lacks_context(r)) {
        auto it = known_.find(r.exec_id);
        if (it != known_.end()) copy_context(it->second, r);
    }
}

}  // namespace stockade::journal
