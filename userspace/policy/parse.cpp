// Top level of a boundary file: agent, mode, home, match, and dispatch to the rule sections.
#include "policy/parse.hpp"

#include <pwd.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <filesystem>

#include "policy/pattern.hpp"

namespace stockade::policy {

namespace {

bool valid_agent_name(const std::string& s) {
    auto ok = [](char c, bool first) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (!first && (c == '.' || c == '_' || c == '-'));
    };
    if (s.empty()) return false;
    for (size_t i = 0; i < s.size(); ++i)
        if (!ok(s[i], i == 0)) return false;
    return true;
}

std::string passwd_home(uint32_t uid) {
    struct passwd pw, *result = nullptr;
    std::vector<char> buf(16384);
    if (getpwuid_r(uid, &pw, buf.data(), buf.size(), &result) != 0 || !result || !pw.pw_dir) return {};
    return pw.pw_dir;
}

// A list of plain strings (unit names, cgroup paths).
std::vector<std::pair<std::string, YAML::Mark>> strings(Reader& r, const Field& f) {
    std::vector<std::pair<std::string, YAML::Mark>> out;
    for (const auto& item : r.list(f)) {
        if (!item.IsScalar() || item.Scalar().empty()) {
            r.error(item.IsNull() ? f.mark() : item.Mark(), "entries of match." + f.key + " must be non-empty strings");
            continue;
        }
        out.emplace_back(item.Scalar(), item.Mark());
    }
    return out;
}

// match.container: { name: GLOB(S), image: GLOB(S), label: { KEY: GLOB } }, every part given must hold.
std::optional<container::Selector> parse_container(Reader& r, const Field& f) {
    container::Selector sel;
    int errors_before = r.error_count();
    auto globs = [&](const Field& g, std::vector<std::string>& into) {
        for (const auto& item : r.list(g)) {
            std::string why = item.IsScalar() ? container::glob_error(item.Scalar()) : "must be a string";
            if (!why.empty()) r.error(item.IsNull() ? g.mark() : item.Mark(), "match.container." + g.key + " " + why);
            else into.push_back(item.Scalar());
        }
    };
    auto fs = r.fields(f.value, f.mark(), "match.container", {"name", "image", "label"});
    if (auto it = fs.find("name"); it != fs.end()) globs(it->second, sel.names);
    if (auto it = fs.find("image"); it != fs.end()) globs(it->second, sel.images);
    if (auto it = fs.find("label"); it != fs.end()) {
        if (!it->second.value.IsMap()) r.error(it->second.mark(), "match.container.label must map label names to globs");
        else
            for (const auto& kv : it->second.value) {
                auto key = kv.first.as<std::string>(""), glob = kv.second.IsScalar() ? kv.second.Scalar() : "";
                std::string why = key.empty() ? "needs a label name" : container::glob_error(glob);
                if (!why.empty()) r.error(kv.first.Mark(), "match.container.label \"" + key + "\" " + why);
                else sel.labels.emplace_back(key, glob);
            }
    }
    if (sel.empty()) {
        if (r.error_count() == errors_before) r.error(f.mark(), "match.container needs name:, image: or label:");
        return std::nullopt;
    }
    return sel;
}

void parse_match(ParseContext& c, const Field& f) {
    Reader& r = c.reader;
    AgentMatch& m = c.boundary.match;
    int errors_before = r.error_count();
    auto fs = r.fields(f.value, f.mark(), "match", {"unit", "cgroup", "container", "exe", "uid"});
    if (auto it = fs.find("unit"); it != fs.end()) {
        for (auto& [unit, mark] : strings(r, it->second)) {
            if (unit.find('/') != std::string::npos) r.error(mark, "unit \"" + unit + "\" is not a unit name");
            else m.units.push_back(unit);
        }
    }
    if (auto it = fs.find("cgroup"); it != fs.end()) {
        for (auto& [cg, mark] : strings(r, it->second)) {
            std::string err;
            std::string normal = normalize_path("/" + cg, err);
            if (!err.empty()) r.error(mark, "cgroup \"" + cg + "\": " + err);
            else m.cgroups.push_back(normal);
        }
    }
    if (auto it = fs.find("container"); it != fs.end()) m.container = parse_container(r, it->second);
    if (auto it = fs.find("exe"); it != fs.end()) {
        if (auto exe = r.scalar(it->second)) {
            std::string err;
            std::string normal = exe->starts_with("/") ? normalize_path(*exe, err) : "";
            if (normal.empty() && err.empty()) err = "must be an absolute path";
            if (!err.empty()) {
                r.error(it->second.mark(), "match.exe \"" + *exe + "\": " + err);
            } else {
                char buf[PATH_MAX];
                if (::realpath(normal.c_str(), buf)) normal = buf;  // the kernel reports the target
                else r.warn(it->second.mark(), "match.exe " + *exe + " does not exist on this host");
                m.exe = normal;
            }
        }
    }
    if (auto it = fs.find("uid"); it != fs.end())
        if (auto uid = r.integer(it->second, 0, 4294967294LL)) m.uid = static_cast<uint32_t>(*uid);
    bool usable = f.value.IsMap() || f.value.IsNull();
    if (usable && m.units.empty() && m.cgroups.empty() && !m.container && r.error_count() == errors_before)
        r.error(f.mark(), "match needs at least one unit:, cgroup: or container: to recognise the agent");
}

void parse_home(ParseContext& c, const std::map<std::string, Field>& top) {
    Boundary& b = c.boundary;
    if (auto it = top.find("home"); it != top.end()) {
        if (auto home = c.reader.scalar(it->second)) {
            std::string err;
            if (!home->starts_with("/")) err = "must be an absolute path";
            else b.home = normalize_path(*home, err);
            if (!err.empty()) c.reader.error(it->second.mark(), "home \"" + *home + "\": " + err);
        }
    } else if (b.match.uid) {
        b.home = passwd_home(*b.match.uid);
    }
}

void parse_sections(ParseContext& c, const std::map<std::string, Field>& top) {
    Reader& r = c.reader;
    Boundary& b = c.boundary;
    if (auto it = top.find("files"); it != top.end()) {
        auto fs = r.fields(it->second.value, it->second.mark(), "files", {"read", "write", "create", "delete", "never"});
        std::pair<const char*, std::vector<PathRule>*> lists[] = {
            {"read", &b.files.read}, {"write", &b.files.write}, {"create", &b.files.create},
            {"delete", &b.files.remove}, {"never", &b.files.never}};
        for (auto [key, list] : lists)
            if (auto f = fs.find(key); f != fs.end()) parse_path_rules(c, f->second, std::string("files.") + key, *list);
    }
    if (auto it = top.find("exec"); it != top.end()) {
        auto fs = r.fields(it->second.value, it->second.mark(), "exec", {"allow", "deny"});
        if (auto f = fs.find("allow"); f != fs.end()) parse_path_rules(c, f->second, "exec.allow", b.exec.allow);
        if (auto f = fs.find("deny"); f != fs.end()) parse_path_rules(c, f->second, "exec.deny", b.exec.deny);
    }
    if (auto it = top.find("network"); it != top.end()) parse_network(c, it->second);
    if (auto it = top.find("sequences"); it != top.end()) parse_sequences(c, it->second);
    if (auto it = top.find("tools"); it != top.end()) parse_tools(c, it->second);
}

// What the journal keeps: journal_allowed, model_prompts.
void parse_journal_keys(Reader& r, const std::map<std::string, Field>& top, Boundary& b) {
    if (auto it = top.find("journal_allowed"); it != top.end())
        if (auto j = r.choice<JournalAllowed>(it->second, {{"off", JournalAllowed::Off},
                                                           {"summary", JournalAllowed::Summary},
                                                           {"full", JournalAllowed::Full}}))
            b.journal_allowed = *j;
    if (auto it = top.find("model_prompts"); it != top.end())
        if (auto m = r.choice<bool>(it->second, {{"digest", false}, {"full", true}})) b.model_prompts = *m;
}

// The top-level switches: system_read, io_uring, mount, failed_syscalls.
void parse_switches(Reader& r, const std::map<std::string, Field>& top, Boundary& b) {
    if (auto it = top.find("system_read"); it != top.end())
        if (auto s = r.boolean(it->second)) b.system_read = *s;
    if (auto it = top.find("io_uring"); it != top.end())
        if (auto s = r.boolean(it->second)) b.io_uring = *s;
    if (auto it = top.find("mount"); it != top.end())
        if (auto s = r.boolean(it->second)) b.mount = *s;
    if (auto it = top.find("failed_syscalls"); it != top.end())
        if (auto f = r.choice<FailedSyscalls>(it->second, {{"attempt", FailedSyscalls::Attempt},
                                                           {"violation", FailedSyscalls::Violation}}))
            b.failed_syscalls = *f;
}

}  // namespace

ParsedBoundary parse_boundary(const std::string& path, const std::string& text, std::vector<Diagnostic>& diags) {
    Reader r(path, diags);
    ParsedBoundary out;
    std::vector<YAML::Node> docs;
    try {
        docs = load_all_bounded(text);
    } catch (const YAML::ParserException& e) {
        r.error(e.mark, "YAML syntax: " + e.msg);
        return out;
    } catch (const YAML::Exception& e) {
        r.error(e.mark, std::string("YAML: ") + e.what());
        return out;
    }
    if (docs.empty() || docs[0].IsNull()) {
        r.error(YAML::Mark(), "the file is empty; a boundary needs at least agent: and match:");
        return out;
    }
    if (docs.size() > 1) r.error(docs[1].Mark(), "only one YAML document per boundary file");
    const YAML::Node& root = docs[0];

    auto b = std::make_shared<Boundary>();
    b->file = path;
    b->file_name = std::filesystem::path(path).filename().string();
    ParseContext c{r, *b, {}};
    auto top = r.fields(root, root.Mark(), kTopLevel,
                        {"agent", "description", "mode", "on_violation", "on_loss", "home", "match", "journal_allowed",
                         "model_prompts", "system_read", "io_uring", "mount", "failed_syscalls", "files", "exec", "network",
                         "sequences", "tools", "approval_timeout"});
    if (!root.IsMap()) return out;

    if (auto it = top.find("agent"); it == top.end()) {
        r.error(root.Mark(), "missing required key \"agent\"");
    } else if (auto name = r.scalar(it->second)) {
        if (!valid_agent_name(*name))
            r.error(it->second.mark(), "agent name \"" + *name + "\" must match [a-z0-9][a-z0-9._-]*");
        b->name = *name;
        out.agent_line = it->second.mark().line + 1;
        out.agent_column = it->second.mark().column + 1;
    }
    if (auto it = top.find("description"); it != top.end())
        if (auto d = r.scalar(it->second)) b->description = *d;
    if (auto it = top.find("mode"); it != top.end())
        if (auto m = r.choice<Mode>(it->second, {{"monitor", Mode::Monitor}, {"enforce", Mode::Enforce}})) b->mode = *m;
    if (auto it = top.find("on_violation"); it != top.end())
        if (auto v = r.choice<OnViolation>(it->second, {{"flag", OnViolation::Flag},
                                                        {"kill", OnViolation::KillProcess},
                                                        {"kill-agent", OnViolation::KillAgent},
                                                        {"ask", OnViolation::Ask},
                                                        {"refuse", OnViolation::Refuse}}))
            b->on_violation = *v;
    if (auto it = top.find("approval_timeout"); it != top.end()) {
        if (auto t = r.integer(it->second, 1, 86400)) b->approval_timeout_s = static_cast<uint32_t>(*t);
        if (b->on_violation != OnViolation::Ask)
            r.error(it->second.mark(), "approval_timeout applies only with on_violation: ask (this boundary has " +
                                           std::string(to_string(b->on_violation)) + ")");
    }
    if (auto it = top.find("on_loss"); it != top.end())
        if (auto v = r.choice<OnLoss>(it->second, {{"kill", OnLoss::Kill}, {"flag", OnLoss::Flag}})) b->on_loss = *v;
    parse_journal_keys(r, top, *b);
    parse_switches(r, top, *b);

    if (auto it = top.find("match"); it == top.end()) r.error(root.Mark(), "missing required key \"match\"");
    else parse_match(c, it->second);
    parse_home(c, top);  // after match: the home may come from match.uid
    if (b->system_read) {
        b->system_rules = builtin_system_rules();
        b->system_write_rules = builtin_system_write_rules();
    }
    parse_sections(c, top);

    if (r.failed()) return out;
    lint_boundary(*b, r);
    out.boundary = std::move(b);
    return out;
}

}  // namespace stockade::policy
