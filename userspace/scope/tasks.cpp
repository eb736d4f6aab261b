#include "scope/tasks.hpp"

#include <fnmatch.h>
#include <sys/socket.h>

#include <algorithm>
#include <fstream>
#include <iomanip>
#include <sstream>

#include "common/error.hpp"
#include "policy/decide.hpp"
#include "policy/glob.hpp"
#include "policy/pattern.hpp"

namespace stockade::scope {

namespace {

std::string random_hex(size_t bytes) {
    std::ifstream f("/dev/urandom", std::ios::binary);
    std::ostringstream s;
    for (size_t i = 0; i < bytes; ++i) s << std::hex << std::setw(2) << std::setfill('0') << (f.get() & 0xff);
    return s.str();
}

bool deny_rule(const std::string& rule_id) {
    for (const char* d : {"files.never", "exec.deny", "network.deny", "builtin:self-protection"})
        if (rule_id.find(d) != std::string::npos) return true;
    return false;
}

Grant parse_grant(const policy::Boundary& b, const std::string& spec, bool confine, const std::string& id) {
    auto eq = spec.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size())
        throw Error("grant \"" + spec + "\": expected KIND=PATTERN, e.g. read=/data/**");
    Grant g;
    g.id = id;
    g.kind = spec.substr(0, eq);
    g.text = spec.substr(eq + 1);
    g.confine = confine;
    static const std::vector<std::string> kinds = {"read", "write", "create", "delete", "exec", "connect", "tool",
                                                   "http"};
    if (std::find(kinds.begin(), kinds.end(), g.kind) == kinds.end())
        throw Error("grant \"" + spec + "\": unknown kind \"" + g.kind +
                    "\" (read, write, create, delete, exec, connect, tool, http)");
    std::string err;
    if (g.kind == "tool") {
        // An MCP tool name glob: nothing more to parse.
    } else if (g.kind == "http") {
        // "METHOD host/path-glob": a tools.http route with the host in front.
        auto sp = g.text.find(' ');
        auto slash = sp == std::string::npos ? sp : g.text.find('/', sp + 1);
        if (sp == std::string::npos || slash == std::string::npos || slash == sp + 1)
            throw Error("grant \"" + spec + "\": expected http=METHOD host/path, e.g. \"http=GET api.example.com/v1/**\"");
        policy::HttpRoute route;
        if (auto bad = policy::parse_http_route(g.text.substr(0, sp) + " " + g.text.substr(slash), route); !bad.empty())
            throw Error("grant \"" + spec + "\": " + bad);
        policy::HttpRule r;
        r.id = "task:" + id;
        r.where = "grant";
        r.host = policy::normalize_host(g.text.substr(sp + 1, slash - sp - 1));
        if (r.host == "*") r.host.clear();
        r.allow.push_back(std::move(route));
        g.http = r;
    } else if (g.kind == "connect") {
        // CIDR or address, then an optional :PORT or :LO-HI (IPv6 in brackets: [::1]:443).
        std::string addr = g.text, ports;
        if (!addr.empty() && addr.front() == '[') {
            auto close = addr.find(']');
            if (close == std::string::npos) throw Error("grant \"" + spec + "\": missing ']'");
            if (close + 1 < addr.size() && addr[close + 1] == ':') ports = addr.substr(close + 2);
            addr = addr.substr(1, close - 1);
        } else if (std::count(addr.begin(), addr.end(), ':') == 1) {
            ports = addr.substr(addr.find(':') + 1);
            addr = addr.substr(0, addr.find(':'));
        }
        bool host_bits = false;
        auto cidr = policy::parse_cidr(addr, err, host_bits);
        if (!cidr) throw Error("grant \"" + spec + "\": " + err);
        policy::NetRule r;
        r.id = "task:" + id;
        r.cidr = *cidr;
        if (!ports.empty()) {
            auto pr = policy::parse_port_range(ports, err);
            if (!pr) throw Error("grant \"" + spec + "\": " + err);
            r.ports.push_back(*pr);
        }
        g.net = r;
    } else {
        std::string pattern = policy::prepare_pattern(g.text, b.home, err);
        if (pattern.empty()) throw Error("grant \"" + spec + "\": " + err);
        policy::PathRule r;
        r.id = "task:" + id;
        r.text = g.text;
        r.pattern = pattern;
        r.glob = policy::Glob(pattern);
        g.path = r;
    }
    return g;
}

}  // namespace

std::vector<std::string> needed_kinds(const Event& e) {
    switch (e.action) {
    case Action::Open: {
        std::vector<std::string> k;
        if (e.access & kRead) k.push_back("read");
        if (e.access & (kWrite | kTruncate | kAppend)) k.push_back("write");
        if (e.access & kCreate) k.push_back("create");
        return k;
    }
    case Action::Exec: return {"exec"};
    case Action::Unlink: case Action::Rmdir: return {"delete"};
    case Action::Mkdir: case Action::Symlink: case Action::Link: return {"create"};
    case Action::Rename: return {"delete", "create"};
    case Action::Chmod: case Action::Truncate: case Action::Xattr: return {"write"};
    case Action::Connect: case Action::Send: return {"connect"};
    default: return {};
    }
}

bool Grant::matches(const Event& e) const {
    if (net) {
        if (e.net.family != AF_INET && e.net.family != AF_INET6) return false;
        auto a = policy::IpAddr::from_bytes(e.net.family, e.net.bytes).unmapped();
        return net->cidr.contains(a) && net->matches_port(e.net.port);
    }
    if (!path) return false;
    if (kind == "create" && (e.action == Action::Rename || e.action == Action::Link))
        return path->matches(e.path2);
    return path->matches(e.path);
}

bool Grant::matches_call(const std::string& k, const std::string& method, const std::string& host,
                         const std::string& subject) const {
    if (k != kind) return false;
    if (kind == "tool") return fnmatch(text.c_str(), subject.c_str(), 0) == 0;
    return http && policy::http_rule_allows(*http, host, method, subject);
}

Task& TaskRegistry::begin(const policy::Boundary& agent, const std::vector<std::string>& grants,
                          const std::vector<std::string>& confines, uint64_t ttl_ns, const std::string& label,
                          uint64_t now) {
    Task t;
    t.id = "t-" + random_hex(4);
    t.agent = agent.name;
    t.label = label;
    t.token = random_hex(16);
    t.begun_ns = now;
    t.expires_ns = ttl_ns ? now + ttl_ns : 0;
    for (size_t i = 0; i < grants.size(); ++i)
        t.grants.push_back(parse_grant(agent, grants[i], false, t.id + "/grant[" + std::to_string(i) + "]"));
    for (size_t i = 0; i < confines.size(); ++i)
        t.grants.push_back(parse_grant(agent, confines[i], true, t.id + "/confine[" + std::to_string(i) + "]"));
    // Kernel ids cycle through their range; a live task keeps its id.
    for (uint32_t tries = 0; tries <= kLastKernelId - kFirstKernelId; ++tries) {
        uint32_t id = next_kernel_id_++;
        if (next_kernel_id_ > kLastKernelId) next_kernel_id_ = kFirstKernelId;
        bool taken = std::any_of(tasks_.begin(), tasks_.end(), [&](auto& kv) { return kv.second.kernel_id == id; });
        if (!taken) {
            t.kernel_id = id;
            break;
        }
    }
    if (!t.kernel_id) {
        // Full: forget the task that ended first (its processes fall back to the agent's rules).
        auto oldest = tasks_.end();
        for (auto it = tasks_.begin(); it != tasks_.end(); ++it)
            if (it->second.ended && (oldest == tasks_.end() || it->second.begun_ns < oldest->second.begun_ns))
                oldest = it;
        if (oldest != tasks_.end()) {
            t.kernel_id = oldest->second.kernel_id;
            tasks_.erase(oldest);
        }
    }
    if (!t.kernel_id) throw Error("too many live tasks (at most " + std::to_string(kLastKernelId - kFirstKernelId + 1) + ")");
    return tasks_.emplace(t.id, std::move(t)).first->second;
}

SavedTask TaskRegistry::save(const Task& t) {
    SavedTask s{t.id, t.agent, t.label, t.token, t.kernel_id, t.begun_ns, t.expires_ns, t.expired, t.ended, {}};
    for (auto& g : t.grants) s.grants.push_back({g.kind + "=" + g.text, g.confine, g.used});
    return s;
}

Task& TaskRegistry::restore(const policy::Boundary& agent, const SavedTask& s) {
    if (s.kernel_id < kFirstKernelId || s.kernel_id > kLastKernelId)
        throw Error("task " + s.id + ": kernel id " + std::to_string(s.kernel_id) + " is outside the tasks' range");
    for (auto& [id, t] : tasks_)
        if (t.kernel_id == s.kernel_id || id == s.id)
            throw Error("task " + s.id + ": its id or kernel id is taken by task " + id);
    Task t;
    t.id = s.id;
    t.agent = agent.name;
    t.label = s.label;
    t.token = s.token;
    t.kernel_id = s.kernel_id;
    t.begun_ns = s.begun_ns;
    t.expires_ns = s.expires_ns;
    t.expired = s.expired;
    t.ended = s.ended;
    int granted = 0, confined = 0;
    for (auto& g : s.grants) {
        std::string id = t.id + (g.confine ? "/confine[" + std::to_string(confined++) : "/grant[" + std::to_string(granted++)) + "]";
        t.grants.push_back(parse_grant(agent, g.spec, g.confine, id));
        t.grants.back().used = g.used;
    }
    if (s.kernel_id >= next_kernel_id_) next_kernel_id_ = s.kernel_id + 1 > kLastKernelId ? kFirstKernelId : s.kernel_id + 1;
    return tasks_.emplace(t.id, std::move(t)).first->second;
}

bool TaskRegistry::end(const std::string& id, uint64_t now) {
    Task* t = find(id);
    if (!t || t->ended) return false;
    t->ended = true;
    if (!t->expires_ns || t->expires_ns > now) t->expires_ns = now;
    return true;
}

Task* TaskRegistry::find(const std::string& id) {
    auto it = tasks_.find(id);
    return it == tasks_.end() ? nullptr : &it->second;
}

std::vector<Task*> TaskRegistry::newly_expired(uint64_t now) {
    std::vector<Task*> out;
    for (auto& [id, t] : tasks_)
        if (!t.expired && !t.live(now)) {
            t.expired = true;
            out.push_back(&t);
        }
    return out;
}

Verdict TaskRegistry::overlay(Task& t, const policy::Boundary& b, const Event& e, Verdict v, uint64_t now,
                              Grant** used) {
    auto kinds = needed_kinds(e);
    if (kinds.empty()) return v;
    auto outside = [&](const std::string& rule, const std::string& why) {
        Verdict out = v;
        out.rule_id = rule;
        out.resolved = why;
        out.on_violation = b.on_violation;
        out.decision = policy::violation_for(b);
        return out;
    };
    if (!v.inside()) {
        // Widen: every kind the action needs must be granted, and no deny rule may have decided.
        if (!t.live(now) || deny_rule(v.rule_id)) return v;
        Grant* first = nullptr;
        for (auto& k : kinds) {
            Grant* hit = nullptr;
            for (auto& g : t.grants)
                if (!g.confine && g.kind == k && g.matches(e)) {
                    hit = &g;
                    break;
                }
            if (!hit) return v;
            if (!first) first = hit;
        }
        Verdict out;
        out.decision = Decision::Allow;
        out.rule_id = "task:" + first->id;
        out.resolved = "granted by " + first->kind + "=" + first->text + " (task " + t.id + ")";
        *used = first;
        return out;
    }
    // Narrow: a kind with confinements must match one of them (builtin reads are not narrowed).
    if (v.rule_id.rfind("builtin:", 0) == 0) return v;
    for (auto& k : kinds) {
        bool confined = false, ok = false;
        for (auto& g : t.grants) {
            if (!g.confine || g.kind != k) continue;
            confined = true;
            ok = ok || g.matches(e);
        }
        if (confined && !ok)
            return outside("task:" + t.id + "/confine", "task " + t.id + " is confined and no " + k +
                                                            " confinement matched");
    }
    return v;
}

Verdict TaskRegistry::overlay_call(Task& t, const policy::Boundary& b, const std::string& kind,
                                   const std::string& method, const std::string& host, const std::string& subject,
                                   Verdict v, uint64_t now, Grant** used) {
    if (!v.inside()) {
        // Widen, unless a deny route decided or the request could not be judged at all.
        if (!t.live(now) || v.resolved.find(".deny ") != std::string::npos || v.rule_id.rfind("builtin:", 0) == 0)
            return v;
        for (auto& g : t.grants)
            if (!g.confine && g.matches_call(kind, method, host, subject)) {
                Verdict out;
                out.decision = Decision::Allow;
                out.rule_id = "task:" + g.id;
                out.resolved = "granted by " + g.kind + "=" + g.text + " (task " + t.id + ")";
                *used = &g;
                return out;
            }
        return v;
    }
    // Narrow: with confinements of this kind, one must match.
    bool confined = false, ok = false;
    for (auto& g : t.grants) {
        if (!g.confine || g.kind != kind) continue;
        confined = true;
        ok = ok || g.matches_call(kind, method, host, subject);
    }
    if (!confined || ok || v.rule_id.rfind("builtin:", 0) == 0) return v;
    Verdict out = v;
    out.rule_id = "task:" + t.id + "/confine";
    out.resolved = "task " + t.id + " is confined and no " + kind + " confinement matched";
    out.decision = policy::violation_for(b);
    return out;
}

std::vector<policy::TaskRules> TaskRegistry::kernel_grants(uint64_t now) const {
    std::vector<policy::TaskRules> out;
    for (auto& [id, t] : tasks_) {
        policy::TaskRules o;
        o.kernel_id = t.kernel_id;
        o.agent = t.agent;
        o.task = t.id;
        if (t.live(now))
            for (auto& g : t.grants) {
                if (g.confine) continue;
                if (g.kind == "exec" && g.path) o.exec_allow.push_back(*g.path);
                if (g.kind == "connect" && g.net) o.connect.push_back(*g.net);
                if (g.kind == "read" && g.path) o.read_allow.push_back(*g.path);
                if ((g.kind == "write" || g.kind == "create") && g.path) o.write_allow.push_back(*g.path);
                if (g.kind == "http" && g.http) o.http_allow.push_back(*g.http);
            }
        out.push_back(std::move(o));
    }
    return out;
}

}  // namespace stockade::scope
