// Warnings for rules that can never match. They do not stop a load: the boundary still means
// what it says, but the author probably meant something else.
#include <sys/stat.h>

#include "policy/parse.hpp"

namespace stockade::policy {

namespace {

const PathRule* covering(const PathRule& rule, const std::vector<PathRule>& denies) {
    for (const auto& d : denies)
        if (rule.glob.covered_by(d.glob)) return &d;
    return nullptr;
}

void warn_covered(Reader& r, const std::vector<PathRule>& allows, const std::vector<PathRule>& denies) {
    for (const auto& a : allows) {
        if (const PathRule* d = covering(a, denies))
            r.warn(a.line, a.column, a.where + " \"" + a.text + "\" can never match: " + d->where + " \"" + d->text +
                                         "\" denies everything it names");
    }
}

// True when every destination `a` allows is also denied by `d`.
bool net_covered(const NetRule& a, const NetRule& d) {
    if (a.host != d.host) return false;
    if (a.host.empty()) {
        if (a.family() != d.family() || d.prefix_len() > a.prefix_len() || !d.cidr.contains(a.cidr.addr)) return false;
    }
    if (d.protocol != Protocol::Any && d.protocol != a.protocol) return false;
    if (d.ports.empty()) return true;
    if (a.ports.empty()) return false;
    for (const auto& p : a.ports) {
        bool in = false;
        for (const auto& q : d.ports) in = in || (q.lo <= p.lo && p.hi <= q.hi);
        if (!in) return false;
    }
    return true;
}

}  // namespace

void lint_boundary(const Boundary& b, Reader& r) {
    for (const auto* list : {&b.files.read, &b.files.write, &b.files.create, &b.files.remove})
        warn_covered(r, *list, b.files.never);
    warn_covered(r, b.exec.allow, b.exec.deny);
    warn_covered(r, b.exec.allow, b.files.never);  // never applies to exec too

    for (const auto& a : b.exec.allow) {
        struct stat st;
        if (a.kind() == PatternKind::Exact && ::stat(a.pattern.c_str(), &st) != 0)
            r.warn(a.line, a.column, a.where + " " + a.text + " does not exist on this host; the rule can never match");
    }
    for (const auto& a : b.network.connect) {
        for (const auto& d : b.network.deny) {
            if (net_covered(a, d)) {
                r.warn(a.line, a.column, a.where + " " + a.str() + " can never match: " + d.where + " " + d.str() +
                                             " denies everything it allows");
                break;
            }
        }
    }
}

}  // namespace stockade::policy
