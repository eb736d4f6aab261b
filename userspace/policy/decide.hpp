// The verdict on one event already attributed to an agent. docs/boundary.md lists the
// precedence this implements.
#pragma once

#include <string>
#include <string_view>

#include "common/event.hpp"
#include "common/verdict.hpp"
#include "policy/boundary.hpp"

namespace stockade::policy {

// Never throws. Outside the boundary the decision is WouldDeny in monitor mode, and in enforce
// mode Flag (on_violation: flag) or Kill (kill, kill-agent); decide() never returns Deny, which
// callers set when the kernel itself refused the operation.
Verdict decide(const Boundary& boundary, const Event& event);

// An MCP tools/call of `tool` on the server whose command line is `server`. With no tools.mcp
// rules the call is not judged (Allow, rule "builtin:tools-not-judged"). Otherwise rules whose
// server glob matches apply: a deny glob beats an allow glob; no allow match is a violation
// named after the (first) matching rule, or "<file>:tools-default-deny" when no rule's server
// matches.
Verdict decide_tool(const Boundary& boundary, const std::string& server, const std::string& tool);

// Whether a tools.mcp rule naming `server` asks for the arguments in full (`arguments: full`).
// They may hold secrets: the default is a SHA-256 digest only.
bool full_arguments(const Boundary& boundary, const std::string& server);

// The request path an HTTP rule is matched against: the request target without its query
// (`?...`) or fragment, percent-escapes (%XX, either case) decoded, runs of '/' collapsed to one,
// a trailing '/' removed (except for "/"). Returns false (and leaves `why` saying what) when the
// target does not start with '/', has a bad escape, a NUL after decoding, or a "." or ".."
// component after decoding: such a request is judged outside the boundary whenever HTTP rules
// apply (rule "builtin:http-unclear-path"), because a server may resolve it to a path no rule names.
bool normalize_http_path(std::string_view target, std::string& path, std::string& why);

// An HTTP request (method, host as sent in the Host header or TLS name, request target).
// No tools.http rules: Allow, rule "builtin:http-not-judged". Otherwise rules whose host glob
// matches apply: a deny route beats an allow route; no allow match is a violation named after
// the first matching rule, or "<file>:http-default-deny" when no rule's host matches.
// The host is lower-cased and a ":port" suffix removed before matching.
Verdict decide_http(const Boundary& boundary, std::string_view host, std::string_view method, std::string_view target);

// Whether one rule's host and allow routes cover the request, matched as decide_http matches
// (host without port, path normalised; an unclear path is covered by nothing).
bool http_rule_allows(const HttpRule& rule, std::string_view host, std::string_view method, std::string_view target);

}  // namespace stockade::policy
