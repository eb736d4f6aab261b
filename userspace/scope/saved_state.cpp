#include "scope/saved_state.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/error.hpp"

namespace stockade::scope {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kFile = "daemon-state.json";

json encode_task(const scope::SavedTask& t) {
    json grants = json::array();
    for (auto& g : t.grants) grants.push_back({{"spec", g.spec}, {"confine", g.confine}, {"used", g.used}});
    return {{"id", t.id},           {"agent", t.agent},           {"label", t.label},
            {"token", t.token},     {"kernel_id", t.kernel_id},   {"begun_ns", t.begun_ns},
            {"expires_ns", t.expires_ns}, {"expired", t.expired}, {"ended", t.ended},
            {"grants", grants}};
}

scope::SavedTask decode_task(const json& j) {
    scope::SavedTask t;
    t.id = j.at("id").get<std::string>();
    t.agent = j.at("agent").get<std::string>();
    t.label = j.at("label").get<std::string>();
    t.token = j.at("token").get<std::string>();
    t.kernel_id = j.at("kernel_id").get<uint32_t>();
    t.begun_ns = j.at("begun_ns").get<uint64_t>();
    t.expires_ns = j.at("expires_ns").get<uint64_t>();
    t.expired = j.at("expired").get<bool>();
    t.ended = j.at("ended").get<bool>();
    for (auto& g : j.at("grants"))
        t.grants.push_back({g.at("spec").get<std::string>(), g.at("confine").get<bool>(), g.at("used").get<bool>()});
    return t;
}

// The deepest nesting of objects and arrays outside strings: checked before parsing, so a
// damaged or hostile file cannot make the (recursive) parser run out of stack.
constexpr int kMaxNesting = 8;
int nesting(const std::string& text) {
    int depth = 0, deepest = 0;
    bool in_string = false, escaped = false;
    for (char c : text) {
        if (in_string) {
            if (escaped) escaped = false;
            else if (c == '\\') escaped = true;
            else if (c == '"') in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            deepest = std::max(deepest, ++depth);
            if (deepest > kMaxNesting) break;
        } else if (c == '}' || c == ']') {
            --depth;
        }
    }
    return deepest;
}

}  // namespace

std::string current_boot_id() {
    std::ifstream f("/proc/sys/kernel/random/boot_id");
    std::string id;
    f >> id;
    return id;
}

std::string encode_state(const SavedState& s) {
    json tasks = json::array();
    for (auto& t : s.tasks) tasks.push_back(encode_task(t));
    json j = {{"version", 1}, {"boot_id", s.boot_id}, {"agent_ids", s.agent_ids}, {"tasks", tasks},
               {"rule_ids", s.rule_ids}};
    return j.dump(2) + "\n";
}

SavedState decode_state(const std::string& text, const std::string& file) {
    try {
        if (nesting(text) > kMaxNesting) throw Error(file + ": nested deeper than the state file's shape");
        json j = json::parse(text);
        if (j.at("version").get<int>() != 1) throw Error(file + ": unknown version " + j.at("version").dump());
        SavedState s;
        s.boot_id = j.at("boot_id").get<std::string>();
        s.agent_ids = j.at("agent_ids").get<std::map<std::string, uint32_t>>();
        for (auto& t : j.at("tasks")) s.tasks.push_back(decode_task(t));
        // Absent in the files of daemons that did not save it: numbering then starts afresh.
        if (j.contains("rule_ids")) s.rule_ids = j.at("rule_ids").get<std::vector<std::string>>();
        return s;
    } catch (const json::exception& e) {
        throw Error(file + ": " + e.what());
    }
}

void save_state(const std::string& dir, const SavedState& s) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    std::string path = dir + "/" + kFile, tmp = path + ".tmp";
    std::string text = encode_state(s);
    int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) throw Error("saving the daemon state: " + tmp + ": " + std::strerror(errno));
    bool ok = write(fd, text.data(), text.size()) == ssize_t(text.size()) && fsync(fd) == 0;
    int err = errno;
    close(fd);
    if (!ok || rename(tmp.c_str(), path.c_str()) != 0) {
        if (ok) err = errno;
        unlink(tmp.c_str());
        throw Error("saving the daemon state: " + path + ": " + std::strerror(err));
    }
}

std::optional<SavedState> load_state(const std::string& dir) {
    std::string path = dir + "/" + kFile;
    std::ifstream f(path);
    if (!f) return std::nullopt;
    std::stringstream text;
    text << f.rdbuf();
    try {
        SavedState s = decode_state(text.str(), path);
        if (s.boot_id != current_boot_id()) {
            spdlog::info("{}: saved in another boot: tasks and agent ids start afresh", path);
            return std::nullopt;
        }
        return s;
    } catch (const Error& e) {
        spdlog::error("daemon state not restored: {}; set aside as {}.bad", e.what(), path);
        std::error_code ec;
        fs::rename(path, path + ".bad", ec);
        return std::nullopt;
    }
}

}  // namespace stockade::scope
