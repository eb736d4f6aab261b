#include "enforce/http_routes.hpp"

#include "policy/glob.hpp"
#include "probe/record.hpp"
#include "stockade/events.h"

namespace stockade::enforce {

namespace {

bool host_wild(std::string_view h) { return h.find_first_of("*?[") != std::string_view::npos; }

}  // namespace

uint64_t http_route_hash(std::string_view method, std::string_view host) {
    std::string key = std::string(method) + "\n" + std::string(host);
    for (size_t i = method.size() + 1; i < key.size(); ++i)
        if (key[i] >= 'A' && key[i] <= 'Z') key[i] = static_cast<char>(key[i] | 0x20);  // hosts only
    return probe::kernel_hash(key);
}

uint64_t http_path_hash(std::string_view path) { return probe::kernel_hash(path); }

KernelHttpPlan plan_http_routes(const std::vector<policy::HttpRule>& rules) {
    KernelHttpPlan plan;
    plan.strict = !rules.empty();
    for (auto& rule : rules) {
        // An empty host or "*" matches any host, as the kernel's "*" key does.
        bool any_host = rule.host.empty() || rule.host == "*";
        if (!any_host && host_wild(rule.host)) {
            plan.userspace_only.push_back(rule.id + " (host glob " + rule.host + ")");
            if (!rule.allow.empty()) plan.strict = false;
            continue;
        }
        std::string host = any_host ? "*" : rule.host;
        auto put = [&](const policy::HttpRoute& route, uint32_t flags) {
            const auto& g = route.path;
            if (g.kind() == policy::PatternKind::Glob) {
                plan.userspace_only.push_back(rule.id + " (" + route.text + ": path glob)");
                return false;
            }
            uint64_t rh = http_route_hash(route.method, host);
            auto add = [&](uint32_t tag, const std::string& path) {
                plan.entries.push_back({tag, rh, http_path_hash(path), flags, rule.id,
                                        route.method + " " + host + " " + path});
            };
            if (g.kind() == policy::PatternKind::Exact) {
                add(SK_HTTP_EXACT, g.dir());
                return true;
            }
            // Subtree: everything below dir/, and dir itself when the glob says so.
            const std::string& dir = g.dir();
            add(SK_HTTP_PREFIX, dir == "/" ? "/" : dir + "/");
            if (g.matches(dir)) add(SK_HTTP_EXACT, dir);
            return true;
        };
        for (auto& d : rule.deny) put(d, SK_HTTP_DENY);
        for (auto& a : rule.allow)
            if (!put(a, SK_HTTP_ALLOW)) plan.strict = false;
    }
    return plan;
}

}  // namespace stockade::enforce
