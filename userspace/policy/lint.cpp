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

// True when every request `a` (of rule `ar`) allows is refused by `d` (of rule `dr`): deny routes
// apply across rules, so `dr` must apply at least wherever `ar` does.
bool http_covered(const HttpRule& ar, const HttpRoute& a, const HttpRule& dr, const HttpRoute& d) {
    return (dr.host.empty() || dr.host == ar.host) && (d.method == "*" || d.method == a.method) &&
           a.path.covered_by(d.path);
}

void warn_http(const Boundary& b, Reader& r) {
    auto covering = [&](const HttpRule& ar, const HttpRoute& a) -> std::string {
        for (const auto& dr : b.http_tools)
            for (size_t j = 0; j < dr.deny.size(); ++j)
                if (http_covered(ar, a, dr, dr.deny[j]))
                    return dr.where + ".deny[" + std::to_string(j) + "] \"" + dr.deny[j].text + "\"";
        return {};
    };
    for (const auto& ar : b.http_tools) {
        for (size_t i = 0; i < ar.allow.size(); ++i) {
            if (auto d = covering(ar, ar.allow[i]); !d.empty())
                r.warn(ar.line, ar.column,
                       ar.where + ".allow[" + std::to_string(i) + "] \"" + ar.allow[i].text +
                           "\" can never match: " + d + " denies everything it names");
        }
    }
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
    warn_http(b, r);
}

}  // namespace stockade::policy
