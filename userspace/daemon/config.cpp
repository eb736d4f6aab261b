#include "daemon/config.hpp"

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <set>

#include "common/error.hpp"

namespace stockade::daemon {

namespace {

[[noreturn]] void bad(const std::string& file, const YAML::Node& n, const std::string& msg) {
    throw LocatedError(file, n.Mark().line + 1, n.Mark().column + 1, msg);
}

template <typename T>
T scalar(const std::string& file, const YAML::Node& n, const std::string& key) {
    try {
        return n.as<T>();
    } catch (const YAML::Exception&) {
        bad(file, n, "\"" + key + "\" has the wrong type");
    }
}

// A list of absolute file paths (tls_libraries, service_executors).
std::vector<std::string> absolute_paths(const std::string& path, const YAML::Node& n, const std::string& key) {
    if (!n.IsSequence()) bad(path, n, key + " must be a list of file paths");
    std::vector<std::string> out;
    for (auto item : n) {
        auto f = scalar<std::string>(path, item, key);
        if (f.empty() || f[0] != '/') bad(path, item, key + " entries must be absolute paths");
        out.push_back(f);
    }
    return out;
}

// The `journal:` section.
void read_journal(const std::string& path, const YAML::Node& j, journal::WriterOptions& o) {
    if (!j.IsMap()) bad(path, j, "\"journal\" must be a mapping");
    static const std::set<std::string> jknown = {"path", "max_bytes", "max_age", "keep", "fsync", "group", "mirror"};
    for (auto kv : j) {
        auto key = kv.first.as<std::string>();
        if (!jknown.count(key)) bad(path, kv.first, "unknown key \"journal." + key + "\"");
    }
    if (auto n = j["path"]) o.path = scalar<std::string>(path, n, "journal.path");
    if (auto n = j["max_bytes"]) o.max_bytes = scalar<uint64_t>(path, n, "journal.max_bytes");
    if (auto n = j["max_age"]) o.max_age = std::chrono::seconds(scalar<uint64_t>(path, n, "journal.max_age"));
    if (auto n = j["keep"]) o.keep = scalar<size_t>(path, n, "journal.keep");
    if (auto n = j["group"]) o.group = scalar<std::string>(path, n, "journal.group");
    if (auto n = j["fsync"]) {
        auto v = scalar<std::string>(path, n, "journal.fsync");
        if (v == "always") o.fsync = journal::FsyncPolicy::EveryRecord;
        else if (v == "interval") o.fsync = journal::FsyncPolicy::Interval;
        else if (v == "never") o.fsync = journal::FsyncPolicy::Never;
        else bad(path, n, "journal.fsync must be always, interval or never");
    }
    if (auto n = j["mirror"]) {
        auto v = scalar<std::string>(path, n, "journal.mirror");
        if (v == "off") o.mirror = journal::MirrorPolicy::Off;
        else if (v == "violations") o.mirror = journal::MirrorPolicy::UnlessAllow;
        else if (v == "all") o.mirror = journal::MirrorPolicy::All;
        else bad(path, n, "journal.mirror must be off, violations or all");
    }
}

}  // namespace

Config load_config(const std::string& path, bool must_exist) {
    Config c;
    if (!std::filesystem::exists(path)) {
        if (must_exist) throw Error(path + ": no such configuration file");
        return c;
    }
    YAML::Node root;
    try {
        root = YAML::LoadFile(path);
    } catch (const YAML::ParserException& e) {
        throw LocatedError(path, e.mark.line + 1, e.mark.column + 1, e.msg);
    }
    if (root.IsNull()) return c;
    if (!root.IsMap()) bad(path, root, "the configuration must be a mapping of keys to values");
    static const std::set<std::string> known = {
        "agents_dir", "socket_path", "socket_group", "cgroup_base", "ring_buffer_bytes", "summary_interval",
        "journal", "metrics_dir", "tls_uprobes", "tls_go", "tls_libraries", "service_executors",
        "bpf_pin_dir", "state_dir"};
    for (auto kv : root) {
        auto key = kv.first.as<std::string>();
        if (!known.count(key)) bad(path, kv.first, "unknown key \"" + key + "\"");
    }
    if (auto n = root["agents_dir"]) c.agents_dir = scalar<std::string>(path, n, "agents_dir");
    if (auto n = root["socket_path"]) c.socket_path = scalar<std::string>(path, n, "socket_path");
    if (auto n = root["socket_group"]) c.socket_group = scalar<std::string>(path, n, "socket_group");
    if (auto n = root["cgroup_base"]) c.cgroup_base = scalar<std::string>(path, n, "cgroup_base");
    if (auto n = root["metrics_dir"]) c.metrics_dir = scalar<std::string>(path, n, "metrics_dir");
    if (auto n = root["bpf_pin_dir"]) c.bpf_pin_dir = scalar<std::string>(path, n, "bpf_pin_dir");
    if (auto n = root["state_dir"]) c.state_dir = scalar<std::string>(path, n, "state_dir");
    if (auto n = root["tls_uprobes"]) c.tls_uprobes = scalar<bool>(path, n, "tls_uprobes");
    if (auto n = root["tls_go"]) c.tls_go = scalar<bool>(path, n, "tls_go");
    if (auto n = root["tls_libraries"]) c.tls_libraries = absolute_paths(path, n, "tls_libraries");
    if (auto n = root["service_executors"]) c.service_executors = absolute_paths(path, n, "service_executors");
    if (auto n = root["summary_interval"]) c.summary_interval_s = scalar<uint32_t>(path, n, "summary_interval");
    if (auto n = root["ring_buffer_bytes"]) {
        c.ring_bytes = scalar<uint32_t>(path, n, "ring_buffer_bytes");
        if (c.ring_bytes < 4096 || (c.ring_bytes & (c.ring_bytes - 1)))
            bad(path, n, "ring_buffer_bytes must be a power of two of at least 4096");
    }
    if (auto j = root["journal"]) read_journal(path, j, c.journal);
    return c;
}

}  // namespace stockade::daemon
