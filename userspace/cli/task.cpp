#include <cstdio>

#include "cli/commands.hpp"
#include "common/error.hpp"
#include "control/protocol.hpp"

namespace stockade::cli {

uint64_t parse_duration_ms(const std::string& s) {
    if (s.empty()) throw Error("empty duration");
    uint64_t total = 0;
    size_t i = 0;
    while (i < s.size()) {
        size_t j = i;
        while (j < s.size() && isdigit(static_cast<unsigned char>(s[j]))) ++j;
        if (j == i || j == s.size())
            throw Error("duration \"" + s + "\": expected NUMBER+UNIT parts, e.g. 30s, 5m, 1h30m");
        uint64_t n = std::stoull(s.substr(i, j - i));
        std::string unit(1, s[j]);
        if (s.compare(j, 2, "ms") == 0) unit = "ms";
        uint64_t mult = unit == "ms" ? 1 : unit == "s" ? 1000 : unit == "m" ? 60'000 : unit == "h" ? 3'600'000
                        : unit == "d" ? 86'400'000 : 0;
        if (!mult) throw Error("duration \"" + s + "\": unknown unit \"" + unit + "\" (ms, s, m, h, d)");
        total += n * mult;
        i = j + unit.size();
    }
    return total;
}

namespace {

control::Response call_or_explain(const std::string& socket, const control::Request& req, int& rc) {
    try {
        auto resp = control::call(socket, req);
        if (!resp.ok) {
            std::fprintf(stderr, "stockade: %s\n", resp.error.c_str());
            rc = kExitDaemon;
        }
        return resp;
    } catch (const Error& e) {
        std::fprintf(stderr, "stockade: %s\n", e.what());
        rc = kExitDaemon;
        return {};
    }
}

}  // namespace

int cmd_task_begin(const std::string& socket, const TaskBeginOptions& o) {
    control::Request req;
    req.op = "task-begin";
    req.agent = o.agent;
    req.grants = o.grants;
    req.confines = o.confines;
    req.label = o.label;
    if (!o.ttl.empty()) req.ttl_ms = parse_duration_ms(o.ttl);
    int rc = kExitOk;
    auto resp = call_or_explain(socket, req, rc);
    if (rc != kExitOk) return rc;
    auto tasks = control::decode_tasks(resp.body);
    if (tasks.empty()) return kExitDaemon;
    // Line 1: the id (for scripts: TASK=$(stockade task begin ... | head -1)); line 2: the token.
    std::printf("%s\n%s\n", tasks[0].id.c_str(), tasks[0].token.c_str());
    return kExitOk;
}

int cmd_task_end(const std::string& socket, const std::string& id) {
    control::Request req;
    req.op = "task-end";
    req.task = id;
    int rc = kExitOk;
    call_or_explain(socket, req, rc);
    return rc;
}

int cmd_task_list(const std::string& socket) {
    control::Request req;
    req.op = "task-list";
    int rc = kExitOk;
    auto resp = call_or_explain(socket, req, rc);
    if (rc != kExitOk) return rc;
    std::printf("%-12s %-14s %-8s %-10s %s\n", "TASK", "AGENT", "STATE", "EXPIRES", "GRANTS");
    for (auto& t : control::decode_tasks(resp.body)) {
        std::string exp = t.expires_in_ms < 0 ? "-" : std::to_string(t.expires_in_ms / 1000) + "s";
        std::string grants;
        for (auto& g : t.grants) grants += (grants.empty() ? "" : "; ") + g;
        std::printf("%-12s %-14s %-8s %-10s %s%s\n", t.id.c_str(), t.agent.c_str(), t.state.c_str(), exp.c_str(),
                    grants.c_str(), t.label.empty() ? "" : ("  [" + t.label + "]").c_str());
    }
    return kExitOk;
}

}  // namespace stockade::cli
