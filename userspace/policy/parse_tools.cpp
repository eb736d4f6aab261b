// The tools: section of a boundary file (docs/boundary.md, "Tools (MCP)" and "Tools (HTTP)").
#include <algorithm>
#include <cctype>

#include "policy/parse.hpp"
#include "policy/pattern.hpp"

namespace stockade::policy {

namespace {

constexpr const char* kRouteForm = "expected \"METHOD /path-glob\", e.g. \"GET /v1/**\"";

void parse_mcp(ParseContext& c, const Field& f) {
    Reader& r = c.reader;
    auto items = r.list(f);
    for (size_t i = 0; i < items.size(); ++i) {
        const YAML::Node& item = items[i];
        std::string where = "tools.mcp[" + std::to_string(i) + "]";
        if (!item.IsMap()) {
            r.error(item.IsNull() ? f.mark() : item.Mark(), where + " must be a mapping with server:, allow:, deny:");
            continue;
        }
        auto fs = r.fields(item, item.Mark(), where, {"name", "server", "allow", "deny", "arguments"});
        ToolRule t;
        if (!set_origin(c, t, "tools.mcp", i, item.Mark(), fs)) continue;
        if (auto a = fs.find("arguments"); a != fs.end())
            if (auto v = r.choice<bool>(a->second, {{"digest", false}, {"full", true}})) t.full_arguments = *v;
        if (auto sv = fs.find("server"); sv != fs.end())
            if (auto server = r.scalar(sv->second)) t.server = *server;
        auto names = [&](const char* key, std::vector<std::string>& out) {
            auto k = fs.find(key);
            if (k == fs.end()) return;
            for (auto& n : r.list(k->second)) {
                if (!n.IsScalar() || n.Scalar().empty())
                    r.error(n.IsNull() ? k->second.mark() : n.Mark(), where + "." + key + ": a tool name or glob");
                else
                    out.push_back(n.Scalar());
            }
        };
        names("allow", t.allow);
        names("deny", t.deny);
        if (t.allow.empty() && t.deny.empty()) r.error(item.Mark(), where + " needs allow: or deny:");
        c.boundary.mcp_tools.push_back(std::move(t));
    }
}

// A host glob: lower case name characters and the wildcards `*`, `?`, `[...]`.
std::string host_error(const std::string& host) {
    if (host.find(':') != std::string::npos) return "write the host without a port";
    bool chars = std::all_of(host.begin(), host.end(), [](char ch) {
        return std::isalnum(static_cast<unsigned char>(ch)) ||
               std::string_view(".-_*?[]!^").find(ch) != std::string_view::npos;
    });
    if (host.empty() || !chars) return "expected a host name or glob such as api.github.com or \"*.example.com\"";
    return glob_syntax_error(host);
}

void parse_routes(ParseContext& c, const std::map<std::string, Field>& fs, const char* key, const std::string& where,
                  std::vector<HttpRoute>& out) {
    Reader& r = c.reader;
    auto k = fs.find(key);
    if (k == fs.end()) return;
    auto entries = r.list(k->second);
    for (size_t j = 0; j < entries.size(); ++j) {
        const YAML::Node& n = entries[j];
        std::string at = where + "." + key + "[" + std::to_string(j) + "]";
        if (!n.IsScalar()) {
            r.error(n.IsNull() ? k->second.mark() : n.Mark(), at + " must be a string; " + kRouteForm);
            continue;
        }
        HttpRoute route;
        if (auto err = parse_http_route(n.Scalar(), route); !err.empty())
            r.error(n.Mark(), at + " \"" + n.Scalar() + "\": " + err);
        else
            out.push_back(std::move(route));
    }
}

void parse_http(ParseContext& c, const Field& f) {
    Reader& r = c.reader;
    auto items = r.list(f);
    for (size_t i = 0; i < items.size(); ++i) {
        const YAML::Node& item = items[i];
        std::string where = "tools.http[" + std::to_string(i) + "]";
        if (!item.IsMap()) {
            r.error(item.IsNull() ? f.mark() : item.Mark(), where + " must be a mapping with host:, allow:, deny:");
            continue;
        }
        int errors_before = r.error_count();
        auto fs = r.fields(item, item.Mark(), where, {"name", "host", "allow", "deny"});
        HttpRule h;
        if (!set_origin(c, h, "tools.http", i, item.Mark(), fs)) continue;
        if (auto hv = fs.find("host"); hv != fs.end()) {
            if (auto host = r.scalar(hv->second)) {
                h.host = normalize_host(*host);
                if (auto err = host_error(h.host); !err.empty())
                    r.error(hv->second.mark(), where + ".host \"" + *host + "\": " + err);
                if (h.host == "*") h.host.clear();  // any host: the form the kernel tables can express
            }
        }
        parse_routes(c, fs, "allow", where, h.allow);
        parse_routes(c, fs, "deny", where, h.deny);
        // Only when nothing else was wrong: a rule whose every route was bad already has errors.
        if (h.allow.empty() && h.deny.empty() && r.error_count() == errors_before)
            r.error(item.Mark(), where + " needs allow: or deny:");
        c.boundary.http_tools.push_back(std::move(h));
    }
}

}  // namespace

std::string parse_http_route(const std::string& text, HttpRoute& out) {
    size_t sp = text.find(' ');
    if (sp == std::string::npos) return kRouteForm;
    std::string method = text.substr(0, sp), path = text.substr(sp + 1);
    bool upper =
        !method.empty() && std::all_of(method.begin(), method.end(), [](char ch) { return ch >= 'A' && ch <= 'Z'; });
    if (method != "*" && !upper)
        return "the method must be * or upper case (GET, POST, ...); " + std::string(kRouteForm);
    // Whitespace inside a path is almost always a typo; a decoded %20 can still be matched with ?.
    if (path.find_first_of(" \t") != std::string::npos)
        return "exactly one space, between method and path; " + std::string(kRouteForm);
    if (path.empty() || path[0] != '/') return "the path must start with /; " + std::string(kRouteForm);
    std::string err, normal = normalize_path(path, err);
    if (!err.empty()) return err;
    if (normal != path) return "the path is not normalised: write \"" + method + " " + normal + "\"";
    if (auto syntax = glob_syntax_error(path); !syntax.empty()) return syntax;
    out = {text, method, Glob(path)};
    return {};
}


void parse_tools(ParseContext& c, const Field& f) {
    auto ts = c.reader.fields(f.value, f.mark(), "tools", {"mcp", "http", "http_unseen_tls"});
    if (auto it = ts.find("mcp"); it != ts.end()) parse_mcp(c, it->second);
    if (auto it = ts.find("http"); it != ts.end()) parse_http(c, it->second);
    if (auto it = ts.find("http_unseen_tls"); it != ts.end()) {
        auto v = c.reader.choice<UnseenTls>(
            it->second, {{"deny", UnseenTls::Deny}, {"flag", UnseenTls::Flag}, {"allow", UnseenTls::Allow}});
        if (v) c.boundary.unseen_tls = *v;
        if (v && ts.find("http") == ts.end())
            c.reader.error(it->second.mark(), "tools.http_unseen_tls applies to tools.http rules: there are none");
    }
}

}  // namespace stockade::policy
