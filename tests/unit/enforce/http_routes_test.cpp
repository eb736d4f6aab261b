// What of tools.http the kernel gets (enforce/http_routes): the hashes must be the ones
// bpf/http.bpf.h computes, and strictness must hold only when every allow route is in the table.
#include <catch2/catch.hpp>

#include "enforce/http_routes.hpp"
#include "policy/load.hpp"
#include "stockade/events.h"

using namespace stockade;

namespace {

// An independent FNV-1a 64 over the bytes the kernel feeds: "METHOD\nhost" and the path.
uint64_t fnv(const std::string& s) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ULL;
    return h;
}

// Keeps the set alive: the boundary is owned by it.
std::shared_ptr<const policy::PolicySet> g_set;

const std::vector<policy::HttpRule>& boundary(const std::string& http) {
    auto res = policy::load_boundary_text("w.yaml", "agent: w\nmode: enforce\nmatch: { cgroup: /w }\ntools:\n  http:\n" + http);
    INFO(policy::format_diagnostics(res.diagnostics));
    REQUIRE(res.ok());
    REQUIRE(res.set);
    g_set = res.set;
    const policy::Boundary* b = g_set->find("w");
    REQUIRE(b);
    return b->http_tools;
}

const enforce::KernelHttpEntry* find(const enforce::KernelHttpPlan& p, const std::string& text, uint32_t tag) {
    for (auto& e : p.entries)
        if (e.text == text && e.tag == tag) return &e;
    return nullptr;
}

}  // namespace

TEST_CASE("kernel HTTP hashes are FNV-1a over METHOD newline host, and over the path", "[http]") {
    CHECK(enforce::http_route_hash("GET", "api.example.com") == fnv("GET\napi.example.com"));
    CHECK(enforce::http_route_hash("GET", "API.Example.COM") == fnv("GET\napi.example.com"));  // hosts: any case
    CHECK(enforce::http_route_hash("*", "*") == fnv("*\n*"));
    CHECK(enforce::http_path_hash("/v1/") == fnv("/v1/"));
    CHECK(enforce::http_route_hash("GET", "a") != enforce::http_route_hash("GET", "b"));
}

TEST_CASE("exact and subtree routes become kernel entries; the allow list is strict", "[http]") {
    auto b = boundary("    - name: api\n      host: api.example.com\n      allow: [\"GET /v1/**\", \"POST /v1/items\"]\n"
                      "      deny: [\"* /v1/admin/**\"]\n");
    auto plan = enforce::plan_http_routes(b);
    CHECK(plan.strict);
    CHECK(plan.userspace_only.empty());
    auto sub = find(plan, "GET api.example.com /v1/", SK_HTTP_PREFIX);
    REQUIRE(sub);
    CHECK(sub->flags == SK_HTTP_ALLOW);
    CHECK(sub->route_hash == fnv("GET\napi.example.com"));
    CHECK(sub->path_hash == fnv("/v1/"));
    CHECK(sub->rule_id == "w.yaml:api");
    CHECK(find(plan, "GET api.example.com /v1", SK_HTTP_EXACT));  // `/v1/**` matches /v1 itself
    auto exact = find(plan, "POST api.example.com /v1/items", SK_HTTP_EXACT);
    REQUIRE(exact);
    CHECK_FALSE(find(plan, "POST api.example.com /v1/items/", SK_HTTP_PREFIX));
    auto deny = find(plan, "* api.example.com /v1/admin/", SK_HTTP_PREFIX);
    REQUIRE(deny);
    CHECK(deny->flags == SK_HTTP_DENY);
    CHECK(deny->route_hash == fnv("*\napi.example.com"));
}

TEST_CASE("routes the kernel cannot express stay with the daemon", "[http]") {
    SECTION("a glob path in an allow route: not strict") {
        auto plan = enforce::plan_http_routes(boundary("    - host: h\n      allow: [\"GET /v1/*/items\"]\n"));
        CHECK_FALSE(plan.strict);
        REQUIRE(plan.userspace_only.size() == 1);
        CHECK(plan.userspace_only[0].find("path glob") != std::string::npos);
        CHECK(plan.entries.empty());
    }
    SECTION("a glob path in a deny route only: still strict (the daemon adds its kill)") {
        auto plan = enforce::plan_http_routes(
            boundary("    - host: h\n      allow: [\"GET /**\"]\n      deny: [\"GET /*/secret\"]\n"));
        CHECK(plan.strict);
        CHECK(plan.userspace_only.size() == 1);
        CHECK(find(plan, "GET h /", SK_HTTP_PREFIX));
    }
    SECTION("a host glob: the whole rule is the daemon's") {
        auto plan = enforce::plan_http_routes(boundary("    - host: \"*.example.com\"\n      allow: [\"GET /**\"]\n"));
        CHECK_FALSE(plan.strict);
        CHECK(plan.entries.empty());
    }
    SECTION("any host is the kernel's \"*\"") {
        auto plan = enforce::plan_http_routes(boundary("    - allow: [\"GET /health\"]\n"));
        CHECK(plan.strict);
        auto e = find(plan, "GET * /health", SK_HTTP_EXACT);
        REQUIRE(e);
        CHECK(e->route_hash == fnv("GET\n*"));
    }
}
