// `stockade suggest`: a boundary that allows what the journal shows an agent did, folded into
// directory rules only where the agent used several files of that very directory.
#include <sys/socket.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli/commands.hpp"
#include "cli/learn.hpp"
#include "common/error.hpp"
#include "journal/reader.hpp"
#include "journal/timefmt.hpp"
#include "policy/policy.hpp"

namespace stockade::cli::learn {

void Seen::add(const std::string& time, uint64_t n) {
    count += n;
    if (first.empty() || time < first) first = time;
    if (time > last) last = time;
}

void Seen::merge(const Seen& o) {
    if (!o.count) return;
    add(o.first, o.count);
    if (o.last > last) last = o.last;
}

namespace {

bool valid_utf8(const std::string& s) {
    for (size_t i = 0; i < s.size();) {
        auto c = static_cast<unsigned char>(s[i]);
        size_t n = c < 0x80 ? 0 : (c >> 5) == 6 ? 1 : (c >> 4) == 14 ? 2 : (c >> 3) == 30 ? 3 : 9;  // continuations
        if (n > 3 || i + n >= s.size()) return false;
        for (size_t k = 1; k <= n; ++k)
            if ((static_cast<unsigned char>(s[i + k]) >> 6) != 2) return false;
        i += n + 1;
    }
    return true;
}

// The path as a rule can name it: "/proc/<own pid>/x" is "/proc/self/x"; nullopt when no
// pattern can match it (relative, "." or ".." components, not UTF-8).
std::optional<std::string> usable(const journal::Record& r, std::string p) {
    std::string own = "/proc/" + std::to_string(r.pid);
    if (p == own || p.starts_with(own + "/")) p = "/proc/self" + p.substr(own.size());
    if (p.empty() || p[0] != '/' || !valid_utf8(p)) return std::nullopt;
    for (auto c : policy::split_path(p))
        if (c == "." || c == "..") return std::nullopt;
    return p;
}

size_t depth(const std::string& dir) { return policy::split_path(dir).size(); }

bool under(const std::string& path, const std::string& dir) {
    return path == dir || (path.starts_with(dir) && path.size() > dir.size() && path[dir.size()] == '/');
}

}  // namespace

bool learnable(const journal::Record& r) {
    if (r.rule == "builtin:self-protection") return false;
    if (r.verdict == journal::Verdict::Allow) return true;
    // Outside the boundary: only what ran because no rule allowed it yet (monitor mode, flag,
    // and a failed attempt, which enforce mode flags too: git probing a missing ~/.gitconfig).
    bool unlisted = r.rule.size() > 13 && r.rule.ends_with(":default-deny");
    return unlisted && (r.verdict == journal::Verdict::WouldDeny || r.verdict == journal::Verdict::Flag);
}

void Observed::add(const journal::Record& r) {
    if (r.type == journal::RecordType::Summary) counted += r.count;
    if (r.type != journal::RecordType::Decision) return;
    if (!learnable(r)) {
        ++violations;
        return;
    }
    ++records;
    auto put = [&](std::map<std::string, Seen>& m, const std::string& path) {
        if (auto p = usable(r, path)) m[*p].add(r.time);
        else ++skipped;
    };
    const std::string& a = r.action;
    if (a == "open") {
        uint32_t bits = access_bits(r.access);
        if (bits & (kWrite | kAppend | kTruncate)) put(write, r.path);
        if (bits & kCreate) put(create, r.path);
        if ((bits & kRead) || !bits) put(read, r.path);  // an O_PATH open ("path") needs no rule
    } else if (a == "unlink" || a == "rmdir") {
        put(remove, r.path);
    } else if (a == "mkdir" || a == "symlink") {
        put(create, r.path);
    } else if (a == "link") {
        put(create, r.path2.empty() ? r.path : r.path2);
    } else if (a == "rename") {
        put(remove, r.path);
        put(create, r.path2);
    } else if (a == "chmod" || a == "truncate" || a == "xattr") {
        put(write, r.path);
    } else if (a == "exec") {
        put(exec, r.path);
    } else if ((a == "connect" || a == "send") && r.protocol != "unix" && policy::IpAddr::parse(r.address)) {
        connect[NetKey{r.address, r.protocol, r.hostname, r.port}].add(r.time);
    } else if ((a == "bind" || (a == "listen" && r.port)) && r.protocol != "unix" && policy::IpAddr::parse(r.address)) {
        bind[r.port].add(r.time);
    }
}

uint32_t access_bits(const std::string& access) {
    uint32_t bits = 0;
    std::stringstream ss(access);
    for (std::string part; std::getline(ss, part, '+');)
        bits |= part == "read" ? kRead : part == "write" ? kWrite : part == "create" ? kCreate
              : part == "truncate" ? kTruncate : part == "append" ? kAppend : part == "path" ? kPath : 0u;
    return bits;
}

std::set<std::string> fold_dirs(const std::map<std::string, Seen>& paths, size_t min_files) {
    std::map<std::string, size_t> direct;
    for (auto& [p, s] : paths) {
        size_t slash = p.rfind('/');
        ++direct[slash == 0 ? "/" : p.substr(0, slash)];
    }
    std::set<std::string> out;
    for (auto& [dir, n] : direct)
        if (n >= min_files && depth(dir) >= 2 && !under(dir, "/proc") && !under(dir, "/sys") && !under(dir, "/dev"))
            out.insert(dir);
    return out;
}

std::string escape_pattern(const std::string& path) {
    std::string out;
    for (char c : path) {
        if (c == '*' || c == '?' || c == '[') out += std::string("[") + c + "]";
        else out += c;
    }
    return out;
}

std::vector<Rule> fold(const std::map<std::string, Seen>& paths, const std::set<std::string>& dirs) {
    std::map<std::string, Rule> rules;
    for (auto& [p, s] : paths) {
        std::string pattern = escape_pattern(p);
        for (size_t at = p.find('/', 1);; at = p.find('/', at + 1)) {  // "/a", "/a/b", ... the path itself
            std::string dir = p.substr(0, at);
            if (dirs.count(dir)) {
                pattern = escape_pattern(dir) + "/**";
                break;
            }
            if (at == std::string::npos) break;
        }
        auto it = rules.try_emplace(pattern, Rule{pattern, {}, 0}).first;
        it->second.seen.merge(s);
        ++it->second.paths;
    }
    std::vector<Rule> out;
    for (auto& [k, r] : rules) out.push_back(std::move(r));
    return out;
}


namespace {

std::string quote(const std::string& s) {  // a YAML double-quoted scalar
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += std::string("\\") + c;
        else if (static_cast<unsigned char>(c) < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(c));
            out += buf;
        } else out += c;
    }
    return out + "\"";
}

std::string short_time(const std::string& t) {  // "2026-11-25T09:24:10.123456Z" -> "...:10Z"
    auto dot = t.find('.');
    return dot == std::string::npos ? t : t.substr(0, dot) + "Z";
}

std::string note(const Seen& s, size_t paths = 1) {
    std::string n = "  # " + std::to_string(s.count) + (s.count == 1 ? " time" : " times") + ", first " +
                    short_time(s.first) + ", last " + short_time(s.last);
    if (paths > 1) n += ", " + std::to_string(paths) + " paths";
    return n + "\n";
}

void section(std::string& y, const char* title, const std::vector<Rule>& rules) {
    if (rules.empty()) return;
    y += std::string("  ") + title + ":\n";
    for (auto& r : rules) y += "    - " + quote(r.pattern) + note(r.seen, r.paths);
}

std::set<std::string> join(std::set<std::string> a, const std::set<std::string>& b) {
    a.insert(b.begin(), b.end());
    return a;
}

std::string list(const std::vector<std::string>& v) {
    std::string out = "[";
    for (auto& s : v) out += (out.size() > 1 ? ", " : "") + quote(s);
    return out + "]";
}

}  // namespace

std::string suggest_yaml(const Observed& seen, const SuggestInput& in) {
    const policy::Boundary* cur = in.current;
    // Reads the builtin system read already grants need no rule.
    std::map<std::string, Seen> read = seen.read, write = seen.write;
    if (!cur || cur->system_read) {
        auto base = policy::load_boundary_text("builtin.yaml", "agent: x\nmatch: { unit: x.service }\n");
        for (auto& r : base.set->agents().at(0)->system_rules)
            std::erase_if(read, [&](const auto& kv) { return r.matches(kv.first); });
        for (auto& r : base.set->agents().at(0)->system_write_rules) {
            std::erase_if(read, [&](const auto& kv) { return r.matches(kv.first); });
            std::erase_if(write, [&](const auto& kv) { return r.matches(kv.first); });
        }
    }
    // Where the agent writes or creates several files, what it does below folds together.
    auto work = join(fold_dirs(write, in.min_files), fold_dirs(seen.create, in.min_files));
    auto fold_in = [&](const std::map<std::string, Seen>& m) { return fold(m, join(fold_dirs(m, in.min_files), work)); };

    std::string y = "# Suggested by `stockade suggest` for agent " + in.agent + " from " + std::to_string(seen.records) +
                    " decision records in " + in.journal;
    if (!in.since.empty()) y += " since " + in.since;
    if (!in.task.empty()) y += ", task " + in.task;
    y += ".\n# It allows everything those records show. Learn with the agent in monitor mode and\n"
         "# `journal_allowed: full`: otherwise allowed actions are only counted, not itemised";
    if (seen.counted) y += " (" + std::to_string(seen.counted) + " counted here are missing below)";
    if (seen.violations)
        y += ".\n# " + std::to_string(seen.violations) +
             " violations (of files.never, exec.deny, network.deny, sequences, tools, or stopped in enforce mode) "
             "are not learned";
    y += ".\n# Review every rule, then: stockade check FILE && stockade replay --boundary FILE\n";
    y += "agent: " + in.agent + "\nmode: enforce\n";
    y += "on_violation: " + std::string(cur ? to_string(cur->on_violation) : "kill") + "\nmatch:\n";
    if (cur) {
        if (!cur->match.units.empty()) y += "  unit: " + list(cur->match.units) + "\n";
        if (!cur->match.cgroups.empty()) y += "  cgroup: " + list(cur->match.cgroups) + "\n";
        if (cur->match.exe) y += "  exe: " + quote(*cur->match.exe) + "\n";
        if (cur->match.uid) y += "  uid: " + std::to_string(*cur->match.uid) + "\n";
        if (!cur->system_read) y += "system_read: false\n";
    } else {
        y += "  unit: agent-" + in.agent + ".service  # placeholder: how the agent is recognised (docs/boundary.md)\n";
    }
    std::string files;
    section(files, "read", fold_in(read));
    section(files, "write", fold_in(write));
    section(files, "create", fold_in(seen.create));
    section(files, "delete", fold_in(seen.remove));
    if (!files.empty()) y += "files:\n" + files;
    std::vector<Rule> exec;
    for (auto& [p, s] : seen.exec) exec.push_back(Rule{escape_pattern(p), s, 1});
    if (!exec.empty()) {
        y += "exec:\n";
        section(y, "allow", exec);
    }
    // Destinations: the host name when the record has one, else the single address.
    std::map<std::tuple<std::string, uint16_t, std::string>, Seen> dest;
    for (auto& [k, s] : seen.connect) {
        auto ip = policy::IpAddr::parse(k.address)->unmapped();
        std::string what = k.hostname.empty()
                               ? "cidr: " + quote(ip.str() + (ip.family == AF_INET ? "/32" : "/128"))
                               : "host: " + quote(policy::normalize_host(k.hostname));
        dest[{what, k.port, k.protocol == "tcp" || k.protocol == "udp" ? k.protocol : "any"}].merge(s);
    }
    if (!dest.empty() || !seen.bind.empty()) y += "network:\n";
    if (!dest.empty()) y += "  connect:\n";
    for (auto& [k, s] : dest)
        y += "    - { " + std::get<0>(k) + ", ports: " + std::to_string(std::get<1>(k)) + ", protocol: " +
             std::get<2>(k) + " }" + note(s);
    if (!seen.bind.empty()) y += "  bind:\n";
    for (auto& [port, s] : seen.bind) y += "    - " + std::to_string(port) + note(s);
    return y;
}

}  // namespace stockade::cli::learn

namespace stockade::cli {

int cmd_suggest(const SuggestOptions& o) {
    journal::Filter f;
    f.agent = o.agent;
    if (!o.task.empty()) f.task = o.task;
    if (!o.since.empty()) f.since = journal::parse_since(o.since);
    std::shared_ptr<const policy::PolicySet> set;
    learn::SuggestInput in{o.agent, o.journal, o.since, o.task};
    if (!o.boundary.empty()) {
        auto res = policy::load_boundaries({o.boundary});
        if (!res.ok()) {
            std::fputs(policy::format_diagnostics(res.diagnostics, res.files).c_str(), stderr);
            return kExitNo;
        }
        set = res.set;
        in.current = set->find(o.agent);
        if (!in.current && set->agents().size() == 1) in.current = set->agents()[0].get();
        if (!in.current) throw Error("no boundary in " + o.boundary + " is for agent " + o.agent);
    }
    learn::Observed seen;
    for (auto& r : journal::read_last(o.journal, SIZE_MAX, f)) seen.add(r);
    if (!seen.records) {
        std::fprintf(stderr, "stockade suggest: no decision records of agent %s in %s\n", o.agent.c_str(),
                     o.journal.c_str());
        return kExitNo;
    }
    std::string yaml = learn::suggest_yaml(seen, in);
    std::string name = o.output.empty() ? o.agent + ".yaml" : std::filesystem::path(o.output).filename().string();
    auto check = policy::load_boundary_text(name, yaml);
    if (!check.ok()) {  // a bug: say so rather than hand out a file the daemon refuses
        std::fputs(yaml.c_str(), stderr);
        std::fputs(policy::format_diagnostics(check.diagnostics).c_str(), stderr);
        return kExitNo;
    }
    if (o.output.empty()) {
        std::fwrite(yaml.data(), 1, yaml.size(), stdout);
    } else {
        std::ofstream out(o.output, std::ios::trunc);
        out << yaml;
        if (!out.flush()) throw Error("cannot write " + o.output);
    }
    std::fprintf(stderr, "stockade suggest: %llu decision records of %s; review it, then `stockade check` and "
                 "`stockade replay --boundary FILE`\n", (unsigned long long)seen.records, o.agent.c_str());
    return kExitOk;
}

}  // namespace stockade::cli
