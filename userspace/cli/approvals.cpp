// stockade approvals | approve ID | deny ID: the person in the loop of on_violation: ask.
#include <cstdio>
#include <string>

#include "cli/commands.hpp"
#include "common/error.hpp"
#include "control/protocol.hpp"

namespace stockade::cli {

namespace {

int call(const std::string& socket, const control::Request& req, control::Response& resp) {
    try {
        resp = control::call(socket, req);
    } catch (const Error& e) {
        std::fprintf(stderr, "stockade: %s\n", e.what());
        return kExitDaemon;
    }
    if (!resp.ok) {
        std::fprintf(stderr, "stockade: %s\n", resp.error.c_str());
        return kExitDaemon;
    }
    return kExitOk;
}

}  // namespace

int cmd_approvals(const std::string& socket, bool json) {
    control::Request req;
    req.op = "approvals";
    control::Response resp;
    if (int rc = call(socket, req, resp); rc != kExitOk) return rc;
    if (json) {
        std::printf("%s\n", resp.body.c_str());
        return kExitOk;
    }
    auto list = control::decode_approvals(resp.body);
    if (list.empty()) {
        std::printf("no action waits for approval\n");
        return kExitOk;
    }
    std::printf("%-6s %-14s %-10s %-8s %-16s %-40s %-28s %8s %8s\n", "ID", "AGENT", "TASK", "PID", "ACTION", "OBJECT",
                "RULE", "AGE", "DENY IN");
    for (auto& a : list)
        std::printf("%-6llu %-14s %-10s %-8u %-16s %-40s %-28s %7llus %7llus\n", (unsigned long long)a.id,
                    a.agent.c_str(), a.task.empty() ? "-" : a.task.c_str(), a.pid, a.action.c_str(), a.object.c_str(),
                    a.rule.c_str(), (unsigned long long)(a.age_ms / 1000),
                    (unsigned long long)((a.expires_in_ms + 999) / 1000));
    return kExitOk;
}

int cmd_decide(const std::string& socket, uint64_t id, bool approve) {
    control::Request req;
    req.op = approve ? "approve" : "deny";
    req.approval = id;
    control::Response resp;
    if (int rc = call(socket, req, resp); rc != kExitOk) return rc;
    std::printf("approval %llu: %s\n", (unsigned long long)id, approve ? "approved" : "denied");
    return kExitOk;
}

}  // namespace stockade::cli
