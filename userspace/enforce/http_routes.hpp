// The part of a boundary's tools.http rules the kernel can decide as a request is sent
// (bpf/http.bpf.h): routes whose host is exact or any, whose method is exact or any, and whose
// path is exact or a whole subtree (`/dir/**`). Each becomes hashed keys of map http_rules. The
// rest stays with the daemon, which judges every request and kills after the fact.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "policy/boundary.hpp"

namespace stockade::enforce {

// The hashes the kernel computes (FNV-1a 64): of "METHOD\nhost" ("*" for any) and of a path.
uint64_t http_route_hash(std::string_view method, std::string_view host);
uint64_t http_path_hash(std::string_view path);

struct KernelHttpEntry {
    uint32_t tag = 0;          // SK_HTTP_EXACT or SK_HTTP_PREFIX
    uint64_t route_hash = 0;
    uint64_t path_hash = 0;
    uint32_t flags = 0;        // SK_HTTP_DENY or SK_HTTP_ALLOW
    std::string rule_id;
    std::string text;          // "GET api.example.com /v1/" (for logs and tests)
};

struct KernelHttpPlan {
    std::vector<KernelHttpEntry> entries;
    bool strict = false;  // every allow route is an entry: the kernel may kill what none allows
    std::vector<std::string> userspace_only;  // rule ids (and why) the kernel cannot decide
};

// `rules`: a boundary's tools.http, plus a task's HTTP grants (allow routes) for its kernel id.
KernelHttpPlan plan_http_routes(const std::vector<policy::HttpRule>& rules);

}  // namespace stockade::enforce
