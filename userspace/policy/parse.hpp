// Internal to the policy stage: building one Boundary from one YAML file. load.cpp drives it.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "policy/boundary.hpp"
#include "policy/diagnostic.hpp"
#include "policy/yaml_reader.hpp"

namespace stockade::policy {

struct ParsedBoundary {
    std::shared_ptr<Boundary> boundary;  // null when the file has errors
    int agent_line = 1, agent_column = 1;
};

// `path` names the file in diagnostics; its base name prefixes rule ids.
ParsedBoundary parse_boundary(const std::string& path, const std::string& text, std::vector<Diagnostic>& diags);

// State shared by the section parsers of one file.
struct ParseContext {
    Reader& reader;
    Boundary& boundary;
    std::map<std::string, YAML::Mark> rule_names;  // for duplicate `name:` detection
};

// files.* and exec.* lists: patterns or { name:, pattern: } mappings.
void parse_path_rules(ParseContext& c, const Field& f, const std::string& section, std::vector<PathRule>& out);
// Fills id/where/location of a rule at `section[index]`, named by an optional `name:` field
// (the id is then "<file>:<name>"; duplicate names are errors). False when the name is bad.
bool set_origin(ParseContext& c, RuleOrigin& o, const std::string& section, size_t index, const YAML::Mark& at,
                const std::map<std::string, Field>& fs);
// A list of network rules (network.connect/deny entries, and sequences' destinations).
void parse_net_rule_list(ParseContext& c, const Field& f, const std::string& section, std::vector<NetRule>& out);
// sequences: chained-action rules (parse_sequences.cpp).
void parse_sequences(ParseContext& c, const Field& f);
// tools: { mcp: [...], http: [...] } (parse_tools.cpp).
void parse_tools(ParseContext& c, const Field& f);
// network: { connect, deny, bind }.
void parse_network(ParseContext& c, const Field& f);
// The builtin system_read rules, resolved on this host.
std::vector<PathRule> builtin_system_rules();
std::vector<PathRule> builtin_system_write_rules();  // /dev/null, /dev/tty ... (read-write)
// Warnings for rules that can never match.
void lint_boundary(const Boundary& b, Reader& r);

}  // namespace stockade::policy
