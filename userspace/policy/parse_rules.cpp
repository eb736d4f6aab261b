// The rule sections of a boundary file: files.*, exec.* and network.*.
#include <sys/socket.h>

#include <algorithm>

#include "policy/parse.hpp"
#include "policy/pattern.hpp"

namespace stockade::policy {

namespace {

// A scalar, or a list of scalars, each a port or "lo-hi".
std::vector<PortRange> parse_ports(Reader& r, const Field& f) {
    std::vector<PortRange> out;
    auto items = r.list(f);
    if (items.empty()) r.error(f.mark(), "ports is empty; leave it out to allow any port");
    for (const auto& item : items) {
        std::string err;
        auto range = item.IsScalar() ? parse_port_range(item.Scalar(), err) : std::nullopt;
        if (!item.IsScalar()) err = "ports must be a port, \"lo-hi\" or a list of those";
        if (range) out.push_back(*range);
        else r.error(item.IsNull() ? f.mark() : item.Mark(), err);
    }
    return out;
}

void parse_net_rules(ParseContext& c, const Field& f, const std::string& section, std::vector<NetRule>& out) {
    Reader& r = c.reader;
    auto items = r.list(f);
    for (size_t i = 0; i < items.size(); ++i) {
        const YAML::Node& item = items[i];
        std::string where = section + "[" + std::to_string(i) + "]";
        if (!item.IsMap()) {
            r.error(item.IsNull() ? f.mark() : item.Mark(), where + " must be a mapping with cidr: or host:");
            continue;
        }
        auto fs = r.fields(item, item.Mark(), where, {"name", "cidr", "host", "ports", "protocol"});
        NetRule rule;
        bool ok = set_origin(c, rule, section, i, item.Mark(), fs);
        auto cidr = fs.find("cidr"), host = fs.find("host");
        if ((cidr == fs.end()) == (host == fs.end())) {
            r.error(item.Mark(), where + " needs exactly one of cidr: or host:");
            continue;
        }
        if (cidr != fs.end()) {
            if (auto text = r.scalar(cidr->second)) {
                std::string err;
                bool host_bits = false;
                if (auto parsed = parse_cidr(*text, err, host_bits)) {
                    rule.cidr = *parsed;
                    if (host_bits)
                        r.warn(cidr->second.mark(), "cidr " + *text + " has host bits set; it means " + parsed->str());
                } else {
                    r.error(cidr->second.mark(), "bad cidr: " + err);
                    ok = false;
                }
            }
        } else if (auto text = r.scalar(host->second)) {
            rule.host = normalize_host(*text);
            bool valid = !rule.host.empty() && rule.host.size() <= 253 &&
                         std::all_of(rule.host.begin(), rule.host.end(), [](char ch) {
                             return std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '-' || ch == '_';
                         });
            if (IpAddr::parse(*text)) {
                r.error(host->second.mark(), "host " + *text + " is an address; write cidr: " + *text);
                ok = false;
            } else if (!valid) {
                r.error(host->second.mark(), "host \"" + *text + "\" is not a host name");
                ok = false;
            }
        }
        if (auto p = fs.find("ports"); p != fs.end()) rule.ports = parse_ports(r, p->second);
        if (auto p = fs.find("protocol"); p != fs.end()) {
            auto proto = r.choice<Protocol>(p->second, {{"tcp", Protocol::Tcp}, {"udp", Protocol::Udp}, {"any", Protocol::Any}});
            if (proto) rule.protocol = *proto;
        }
        if (ok) out.push_back(std::move(rule));
    }
}

void parse_bind(ParseContext& c, const Field& f) {
    Reader& r = c.reader;
    auto items = r.list(f);
    for (size_t i = 0; i < items.size(); ++i) {
        const YAML::Node& item = items[i];
        std::map<std::string, Field> fs;
        Field ports{"network.bind", item.IsNull() ? f.mark() : item.Mark(), item};
        if (item.IsMap()) {
            fs = r.fields(item, item.Mark(), "network.bind[" + std::to_string(i) + "]", {"name", "ports"});
            auto p = fs.find("ports");
            if (p == fs.end()) {
                r.error(item.Mark(), "network.bind[" + std::to_string(i) + "] needs ports:");
                continue;
            }
            ports = p->second;
        }
        BindRule rule;
        if (!set_origin(c, rule, "network.bind", i, ports.mark(), fs)) continue;
        std::string err;
        auto range = ports.value.IsScalar() ? parse_port_range(ports.value.Scalar(), err) : std::nullopt;
        if (!range) {
            r.error(ports.mark(), err.empty() ? "network.bind entries must be a port or \"lo-hi\"" : err);
            continue;
        }
        rule.ports = *range;
        c.boundary.network.bind.push_back(std::move(rule));
    }
}

}  // namespace

// Fills id/where/location of a rule at `section[index]`, named by an optional `name:` field.
bool set_origin(ParseContext& c, RuleOrigin& o, const std::string& section, size_t index, const YAML::Mark& at,
                const std::map<std::string, Field>& fs) {
    o.where = section + "[" + std::to_string(index) + "]";
    o.id = c.boundary.file_name + ":" + o.where;
    o.line = at.line + 1;
    o.column = at.column + 1;
    auto it = fs.find("name");
    if (it == fs.end()) return true;
    auto name = c.reader.scalar(it->second);
    if (!name) return false;
    bool ok = !name->empty() && std::all_of(name->begin(), name->end(), [](char ch) {
        return std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '_' || ch == '-';
    });
    if (!ok || *name == "default-deny") {
        c.reader.error(it->second.mark(), "rule name \"" + *name + "\" must be [A-Za-z0-9._-]+ and not default-deny");
        return false;
    }
    if (auto prev = c.rule_names.find(*name); prev != c.rule_names.end()) {
        c.reader.error(it->second.mark(), "duplicate rule name \"" + *name + "\" (first at line " +
                                              std::to_string(prev->second.line + 1) + ")");
        return false;
    }
    c.rule_names.emplace(*name, it->second.mark());
    o.id = c.boundary.file_name + ":" + *name;
    return true;
}

void parse_net_rule_list(ParseContext& c, const Field& f, const std::string& section, std::vector<NetRule>& out) {
    parse_net_rules(c, f, section, out);
}

void parse_path_rules(ParseContext& c, const Field& f, const std::string& section, std::vector<PathRule>& out) {
    Reader& r = c.reader;
    auto items = r.list(f);
    for (size_t i = 0; i < items.size(); ++i) {
        const YAML::Node& item = items[i];
        std::string where = section + "[" + std::to_string(i) + "]";
        std::map<std::string, Field> fs;
        Field pattern{"pattern", item.IsNull() ? f.mark() : item.Mark(), item};
        if (item.IsMap()) {
            fs = r.fields(item, item.Mark(), where, {"name", "pattern"});
            auto p = fs.find("pattern");
            if (p == fs.end()) {
                r.error(item.Mark(), where + " needs pattern:");
                continue;
            }
            pattern = p->second;
        } else if (!item.IsScalar()) {
            r.error(pattern.mark(), where + " must be a pattern or a mapping { name:, pattern: }");
            continue;
        }
        PathRule rule;
        if (!set_origin(c, rule, section, i, pattern.mark(), fs)) continue;
        auto text = r.scalar(pattern);
        if (!text) continue;
        std::string err;
        rule.text = *text;
        rule.pattern = prepare_pattern(*text, c.boundary.home, err);
        if (!err.empty()) {
            r.error(pattern.mark(), section + ": " + err);
            continue;
        }
        rule.glob = Glob(rule.pattern);
        out.push_back(std::move(rule));
    }
}

void parse_network(ParseContext& c, const Field& f) {
    auto fs = c.reader.fields(f.value, f.mark(), "network", {"connect", "deny", "bind"});
    if (auto it = fs.find("connect"); it != fs.end())
        parse_net_rules(c, it->second, "network.connect", c.boundary.network.connect);
    if (auto it = fs.find("deny"); it != fs.end()) parse_net_rules(c, it->second, "network.deny", c.boundary.network.deny);
    if (auto it = fs.find("bind"); it != fs.end()) parse_bind(c, it->second);
}

}  // namespace stockade::policy
