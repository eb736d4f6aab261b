// decide(): the file and exec parts, and the dispatch on the action.
#include "policy/decide.hpp"

#include <charconv>
#include <cstring>

#include "policy/judge.hpp"

namespace stockade::policy {

namespace {

// Lexical clean-up of an event path. The probe is expected to report resolved paths; this
// only makes sure "/repo/../etc/x" is never judged as if it were below /repo.
std::string lexical(const std::string& p) {
    if (p.empty() || p[0] != '/') return p;
    if (p.find("/.") == std::string::npos && p.find("//") == std::string::npos) return p;
    std::vector<std::string_view> out;
    for (auto c : split_path(p)) {
        if (c == ".") continue;
        if (c == "..") {
            if (!out.empty()) out.pop_back();
            continue;
        }
        out.push_back(c);
    }
    std::string s;
    for (auto c : out) s += "/" + std::string(c);
    return s.empty() ? "/" : s;
}

// "/proc/<pid or tid of the event>/rest" -> "/proc/self/rest".
std::string proc_self(const Event& e, const std::string& p) {
    if (!p.starts_with("/proc/")) return {};
    size_t end = p.find('/', 6);
    std::string_view num = std::string_view(p).substr(6, end == std::string::npos ? std::string::npos : end - 6);
    uint32_t n = 0;
    auto [ptr, ec] = std::from_chars(num.data(), num.data() + num.size(), n);
    if (ec != std::errc() || ptr != num.data() + num.size() || (n != e.pid && n != e.tid)) return {};
    return "/proc/self" + (end == std::string::npos ? std::string() : p.substr(end));
}

const PathRule* first_hit(const std::vector<PathRule>& rules, const PathForms& p) {
    for (const auto& r : rules)
        if (p.hit(r)) return &r;
    return nullptr;
}

std::string matched(const PathRule& r, const PathForms& p) {
    return r.where + " " + r.text + " matched " + p.path;
}

enum class Need { Read, Write, Create, Delete };

const char* section(Need n) {
    switch (n) {
    case Need::Read: return "files.read";
    case Need::Write: return "files.write";
    case Need::Create: return "files.create";
    case Need::Delete: return "files.delete";
    }
    return "";
}

// The rule granting `need` on `p`: create is also granted by files.write, read and write by
// the builtin system rules.
const PathRule* grant(const Boundary& b, Need need, const PathForms& p) {
    switch (need) {
    case Need::Read:
        if (auto r = first_hit(b.files.read, p)) return r;
        return first_hit(b.system_rules, p);
    case Need::Write:
        if (auto r = first_hit(b.files.write, p)) return r;
        return first_hit(b.system_write_rules, p);
    case Need::Create:
        if (auto r = first_hit(b.files.create, p)) return r;
        return first_hit(b.files.write, p);
    case Need::Delete: return first_hit(b.files.remove, p);
    }
    return nullptr;
}

// A file syscall that failed changed nothing: outside the boundary it is an attempt, journaled
// with its errno as a flag and never killed (files.never is checked before this and stays a
// violation), unless the boundary says `failed_syscalls: violation`.
Verdict attempt_only(const Judge& j, Verdict v) {
    if (j.e.result >= 0 || v.inside() || j.b.failed_syscalls != FailedSyscalls::Attempt) return v;
    const char* name = strerrorname_np(static_cast<int>(-j.e.result));
    v.decision = Decision::Flag;
    v.resolved += std::string("; failed with ") + (name ? name : std::to_string(-j.e.result).c_str()) +
                  ": an attempt, nothing changed (failed_syscalls: attempt)";
    return v;
}

struct Step {
    Need need;
    const std::string* path;
};

// Checks files.never on every path first, then each needed permission in order. The verdict
// on success names the first step's rule and lists all.
Verdict judge_steps(const Judge& j, const std::vector<Step>& steps) {
    std::vector<PathForms> forms;
    for (const auto& s : steps) forms.emplace_back(j.e, *s.path);
    for (const auto& f : forms)
        if (auto v = never_hit(j, f)) return *v;
    std::string id, resolved;
    size_t i = 0;
    for (const auto& s : steps) {
        const PathForms& f = forms[i++];
        const PathRule* r = grant(j.b, s.need, f);
        if (!r) {
            std::string why = std::string("no ") + section(s.need) + " rule matched " + f.path;
            if (s.need == Need::Create) why += " (nor files.write)";
            if (j.e.truncated) why += " (path truncated by the kernel)";
            return attempt_only(j, j.default_deny(why));
        }
        if (id.empty()) id = r->id;
        resolved += (resolved.empty() ? "" : "; ") + matched(*r, f);
    }
    return j.allow(id, resolved);
}

}  // namespace

PathForms::PathForms(const Event& e, const std::string& p) : path(p), normal(lexical(p)), self_form(proc_self(e, normal)) {}

std::optional<Verdict> never_hit(const Judge& j, const PathForms& p) {
    if (const PathRule* r = first_hit(j.b.files.never, p)) return j.violation(r->id, matched(*r, p));
    return std::nullopt;
}

Verdict decide_files(const Judge& j) {
    const Event& e = j.e;
    switch (e.action) {
    case Action::Open: {
        if (e.access == kPath) {  // O_PATH: realpath() walks, fstat, fchdir; nothing read or written
            PathForms p(e, e.path);
            if (auto v = never_hit(j, p)) {
                // Agents resolve the paths in a command before they run it (Claude Code checks
                // `cat ~/.ssh/id_rsa` this way): recorded, never stopped; the read would be.
                if (v->decision == Decision::Kill) v->decision = Decision::Flag;
                v->resolved += "; an O_PATH open: located, not read";
                return *v;
            }
            return j.allow(kPathOnlyId, "an O_PATH open locates " + p.path + " and reads nothing");
        }
        uint32_t a = e.access ? e.access : static_cast<uint32_t>(kRead);  // no bits: at least a read
        std::vector<Step> steps;
        if (a & (kWrite | kAppend | kTruncate)) steps.push_back({Need::Write, &e.path});
        if (a & kCreate) steps.push_back({Need::Create, &e.path});
        if (a & kRead) steps.push_back({Need::Read, &e.path});
        return judge_steps(j, steps);
    }
    case Action::Unlink:
    case Action::Rmdir: return judge_steps(j, {{Need::Delete, &e.path}});
    case Action::Mkdir:
    case Action::Symlink: return judge_steps(j, {{Need::Create, &e.path}});  // symlink: path is the new name
    case Action::Link: {
        // path2 is the new name; path is checked against files.never too, since the new name
        // would give another way to the same inode.
        const std::string& target = e.path2.empty() ? e.path : e.path2;
        PathForms source(e, e.path);
        if (auto v = never_hit(j, source)) return *v;
        return judge_steps(j, {{Need::Create, &target}});
    }
    case Action::Rename: return judge_steps(j, {{Need::Delete, &e.path}, {Need::Create, &e.path2}});
    case Action::Chmod:
    case Action::Xattr:
    case Action::Truncate: return judge_steps(j, {{Need::Write, &e.path}});
    default: return j.default_deny("not a file action");
    }
}

// A file that runs besides the exec'd image, judged as if it had been exec'd: files.never and
// exec.deny refuse it; `need_allow`: it must also be in exec.allow (a loader's program is machine
// code that would otherwise need its own exec; a script is data its interpreter reads, as
// `sh script` would without any exec, so only the deny rules apply to it).
std::optional<Verdict> judge_as_exec(const Judge& j, const std::string& path, bool need_allow, const std::string& what) {
    PathForms p(j.e, path);
    if (auto v = never_hit(j, p)) {
        v->resolved = what + " " + v->resolved;
        return v;
    }
    if (const PathRule* r = first_hit(j.b.exec.deny, p)) return j.violation(r->id, what + " " + matched(*r, p));
    if (need_allow && !first_hit(j.b.exec.allow, p))
        return j.default_deny("no exec.allow rule matched " + what + " " + p.path);
    return std::nullopt;
}

// The loader run as a program (`ld.so PROGRAM`, issue 17), a `#!` script and an interpreter's
// script (`sh SCRIPT`): what really runs.
std::optional<Verdict> judge_indirect_exec(const Judge& j) {
    const Event& e = j.e;
    bool exec_rules = !j.b.exec.allow.empty() || !j.b.exec.deny.empty();
    if (e.loader_exec && exec_rules) {
        if (!e.loader_program.empty()) {
            if (auto v = judge_as_exec(j, e.loader_program, true, "the loader's program")) return v;
        } else {
            // What it runs cannot be told: allowed only where exec.allow names this loader exactly.
            bool named = false;
            for (const auto& r : j.b.exec.allow) named |= r.kind() == PatternKind::Exact && r.matches(e.path);
            if (!named)
                return j.violation(kLoaderExecId, "the dynamic loader " + e.path +
                                                      " run as a program, its program not determined from its arguments");
        }
    }
    if (e.script_exec && !j.b.exec.deny.empty()) {
        if (e.exec_script.empty())
            return j.violation(kScriptExecId, "a script run by " + e.path + " whose name was not known");
        if (auto v = judge_as_exec(j, e.exec_script, false, "the script")) return v;
    }
    // `sh SCRIPT`, `python3 SCRIPT.py`: the interpreter's exec is allowed, its script runs.
    if (e.interp_undetermined && !j.b.exec.deny.empty())
        return j.violation(kScriptExecId, "the interpreter " + e.path + " run with a script its cut argv did not name");
    for (const auto& script : e.interp_scripts)
        if (auto v = judge_as_exec(j, script, false, "the interpreter's script")) return v;
    return std::nullopt;
}

Verdict decide_exec(const Judge& j) {
    PathForms p(j.e, j.e.path);
    if (auto v = never_hit(j, p)) return *v;
    if (const PathRule* r = first_hit(j.b.exec.deny, p)) return j.violation(r->id, matched(*r, p));
    if (auto v = judge_indirect_exec(j)) return *v;
    if (const PathRule* r = first_hit(j.b.exec.allow, p)) return j.allow(r->id, matched(*r, p));
    return j.default_deny("no exec.allow rule matched " + p.path);
}

Verdict decide(const Boundary& boundary, const Event& event) {
    Judge j{boundary, event};
    switch (event.action) {
    case Action::Exec: return decide_exec(j);
    case Action::Fork:
    case Action::Exit:
    case Action::Accept: return j.allow(kAlwaysId, std::string(to_string(event.action)) + " is always allowed");
    case Action::Connect:
    case Action::Send:
    case Action::Bind:
    case Action::Listen: return decide_network(j);
    case Action::Syscall: return decide_syscall(j);
    default: return decide_files(j);
    }
}

}  // namespace stockade::policy
