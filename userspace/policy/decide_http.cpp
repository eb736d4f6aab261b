// decide_http(): HTTP requests against tools.http rules (docs/boundary.md, "Tools (HTTP)").
#include "policy/decide.hpp"
#include "policy/glob.hpp"

namespace stockade::policy {

namespace {

int hex_value(char ch) {
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

// "API.GitHub.com:443" -> "api.github.com"; "[::1]:8080" -> "[::1]". A bare IPv6 address
// (several ':') has no port to remove.
std::string request_host(std::string_view host) {
    if (!host.empty() && host[0] == '[') {
        if (size_t close = host.find(']'); close != std::string_view::npos) host = host.substr(0, close + 1);
    } else if (size_t colon = host.find(':');
               colon != std::string_view::npos && host.find(':', colon + 1) == std::string_view::npos) {
        host = host.substr(0, colon);
    }
    return normalize_host(host);
}

bool host_hit(const HttpRule& r, const std::string& host) {
    return r.host.empty() || component_match(r.host, host);
}

const HttpRoute* route_hit(const std::vector<HttpRoute>& routes, std::string_view method, const std::string& path) {
    for (auto& route : routes)
        if ((route.method == "*" || route.method == method) && route.path.matches(path)) return &route;
    return nullptr;
}

}  // namespace

bool normalize_http_path(std::string_view target, std::string& path, std::string& why) {
    path.clear();
    if (target.empty() || target[0] != '/') {
        why = "the request target does not start with /";
        return false;
    }
    target = target.substr(0, target.find_first_of("?#"));
    std::string decoded;
    for (size_t i = 0; i < target.size(); ++i) {
        if (target[i] != '%') {
            decoded += target[i];
            continue;
        }
        bool two = i + 2 < target.size();
        int hi = two ? hex_value(target[i + 1]) : -1, lo = two ? hex_value(target[i + 2]) : -1;
        if (hi < 0 || lo < 0) {
            why = "bad percent-escape at offset " + std::to_string(i);
            return false;
        }
        if (hi == 0 && lo == 0) {
            why = "a NUL byte (%00) in the path";
            return false;
        }
        decoded += static_cast<char>(hi * 16 + lo);
        i += 2;
    }
    // Decoding may have produced new separators (%2F), so components are split afterwards.
    for (auto comp : split_path(decoded)) {
        if (comp == "." || comp == "..") {
            why = "a \"" + std::string(comp) + "\" component after decoding";
            return false;
        }
        path += '/';
        path += comp;
    }
    if (path.empty()) path = "/";
    return true;
}

bool http_rule_allows(const HttpRule& r, std::string_view host, std::string_view method, std::string_view target) {
    std::string path, why;
    return normalize_http_path(target, path, why) && host_hit(r, request_host(host)) && route_hit(r.allow, method, path);
}

Verdict decide_http(const Boundary& b, std::string_view host, std::string_view method, std::string_view target) {
    Verdict v;
    v.on_violation = b.on_violation;
    if (b.http_tools.empty()) {
        v.rule_id = "builtin:http-not-judged";
        v.resolved = "the boundary has no tools.http rules";
        return v;
    }
    auto outside = [&](std::string rule, std::string why) {
        v.rule_id = std::move(rule);
        v.resolved = std::move(why);
        v.decision = violation_for(b);
        return v;
    };
    std::string h = request_host(host), path, why;
    std::string request = std::string(method) + " " + h;
    if (!normalize_http_path(target, path, why))
        return outside("builtin:http-unclear-path", request + std::string(target) + ": " + why +
                                                        "; a server may resolve it to a path no rule names");
    request += path;

    const HttpRule* first = nullptr;
    for (auto& r : b.http_tools) {
        if (!host_hit(r, h)) continue;
        if (!first) first = &r;
        if (auto d = route_hit(r.deny, method, path))
            return outside(r.id, r.where + ".deny " + d->text + " matched " + request);
    }
    for (auto& r : b.http_tools) {
        if (!host_hit(r, h)) continue;
        if (auto a = route_hit(r.allow, method, path)) {
            v.rule_id = r.id;
            v.resolved = r.where + ".allow " + a->text + " matched " + request;
            return v;
        }
    }
    if (!first) return outside(b.file_name + ":http-default-deny", "no tools.http rule names host " + h);
    return outside(first->id, "no " + first->where + ".allow matched " + request);
}

}  // namespace stockade::policy
