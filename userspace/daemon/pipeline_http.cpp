// The pipeline's HTTP path: requests that tracked processes send in plaintext (socket writes)
// or through OpenSSL (SSL_write uprobes), judged by the boundary's tools.http rules (and, for MCP
// over HTTP, tools.mcp), paired with their responses, journaled. Part of class Pipeline.
#include <spdlog/spdlog.h>

#include "daemon/pipeline.hpp"
#include "journal/hashchain.hpp"
#include "policy/decide.hpp"

namespace stockade::daemon {

namespace {

// Query strings carry tokens and other secrets: the journal keeps the path and a digest.
std::string query_of(const std::string& target) {
    size_t q = target.find('?');
    return q == std::string::npos ? std::string() : target.substr(q + 1);
}

std::string path_of(const std::string& target) {
    size_t q = target.find_first_of("?#");
    return q == std::string::npos ? target : target.substr(0, q);
}

}  // namespace

bool Pipeline::is_http(const Event& e) const {
    if (e.action == Action::Tls) return true;
    if (http_conns_.count({e.pid, false, e.io_inode})) return true;
    return e.io_write ? looks_like_http_request(e.io_data) : looks_like_http_response(e.io_data);
}

void Pipeline::handle_http(const Event& e, const identity::Process& p) {
    bool tls = e.action == Action::Tls;
    HttpKey key{e.pid, tls, e.io_inode};
    auto it = http_conns_.find(key);
    if (it == http_conns_.end()) {
        if (http_conns_.size() >= kMaxHttpConns) {
            // Bounded memory: one connection (the lowest pid's) is given up; its unanswered
            // requests are journaled now.
            flush_http(http_conns_.begin()->second, "connection state dropped (too many open)");
            http_conns_.erase(http_conns_.begin());
        }
        it = http_conns_.emplace(key, HttpConn{}).first;
    }
    HttpConn& conn = it->second;
    std::vector<HttpRequest> reqs;
    std::vector<HttpResponse> resps;
    if (e.io_write) {
        conn.requests.feed(e.io_data, e.truncated, reqs, resps);
        // Killed in the kernel at this write: no more bytes will come, judge what there is.
        if (e.kernel_action == KernelAction::Killed) conn.requests.flush(reqs, resps);
        for (auto& req : reqs) judge_http(e, p, conn, tls, req);
        return;
    }
    // The kernel captures a read that starts a response and the few after it (its body). A new
    // status line ends whatever came before it, complete or not.
    if (looks_like_http_response(e.io_data)) conn.responses.flush(reqs, resps);
    conn.responses.feed(e.io_data, e.truncated, reqs, resps);
    for (auto& resp : resps) answer_http(e, p, conn, resp);
}

// A response: completes the oldest request still waiting on this connection.
void Pipeline::answer_http(const Event& e, const identity::Process& p, HttpConn& conn, const HttpResponse& resp) {
    if (resp.status >= 100 && resp.status < 200) return;  // 100 Continue: the final answer follows
    if (conn.pending.empty()) return;
    journal::Record r = std::move(conn.pending.front().record);
    uint64_t at = conn.pending.front().at_ns;
    bool journaled = conn.pending.front().journaled;
    conn.pending.pop_front();
    if (journaled) return;  // the response to a request already journaled as a violation
    r.result = resp.status;
    r.detail += "; status " + std::to_string(resp.status) + (resp.reason.empty() ? "" : " " + resp.reason);
    if (resp.content_type == "application/json" || resp.content_type == "text/event-stream") {
        std::string body = resp.body;
        if (resp.content_type == "text/event-stream") {
            size_t d = body.find("data:");
            body = d == std::string::npos ? "" : body.substr(d + 5, body.find('\n', d) - d - 5);
        }
        if (auto m = parse_jsonrpc(body); m && m->is_response) {
            r.detail += "; outcome: " + m->outcome;
            auto& c = counters_[p.agent];
            for (auto& t : m->tools_listed) c.mcp_offered.add(r.address + r.path + ": " + t);
        }
    }
    r.latency_us = e.ktime_ns > at ? static_cast<int64_t>((e.ktime_ns - at) / 1000) : 0;
    act_.journal(r);
}

// One request: judged by tools.http (and tools.mcp when its body is a JSON-RPC tools/call).
// A violation is journaled at once (and enforced); an allowed request waits for its response.
void Pipeline::judge_http(const Event& e, const identity::Process& p, HttpConn& conn, bool tls,
                          const HttpRequest& req) {
    const policy::Boundary* b = set_ ? set_->find(p.agent) : nullptr;
    if (!b) return;
    auto& c = counters_[p.agent];
    std::string scheme = tls ? "https://" : "http://";
    journal::Record r = record_for(e, p);
    r.type = "tool";
    r.action = req.http2 ? "http2" : req.method;
    r.path = path_of(req.target);
    const std::string url = scheme + req.host + r.path;  // the server, for MCP over HTTP
    r.address = scheme + req.host;
    r.hostname = req.host;
    r.protocol = tls ? "https" : "http";
    r.access = "";
    std::string q = query_of(req.target);
    r.detail = "request " + r.action + " " + r.address + r.path + (q.empty() ? "" : "?<query sha256 " +
               journal::sha256_hex(q) + ">") + "; body " + std::to_string(req.body_size) + " bytes" +
               (req.body_truncated ? " (not all seen)" : "");
    Verdict v = req.http2 ? Verdict{} : policy::decide_http(*b, req.host, req.method, req.target);
    if (req.http2 && !b->http_tools.empty()) {
        v.rule_id = "builtin:http-unclear-path";
        v.resolved = "HTTP/2 requests are not decoded, so they cannot be judged";
        v.decision = b->mode == Mode::Monitor ? Decision::WouldDeny
                     : b->on_violation == OnViolation::Flag ? Decision::Flag : Decision::Kill;
    } else if (req.http2) {
        v.rule_id = "builtin:http-not-judged";
    }
    std::string grant;
    v = task_call_overlay(p, *b, "http", req.method, req.host, req.target, v, grant);
    // MCP over streamable HTTP: the tool call inside the body is judged as well.
    if (req.content_type == "application/json") {
        if (auto m = parse_jsonrpc(req.body); m && !m->is_response) {
            r.action = m->method;
            r.detail += "; json-rpc " + m->method + " id " + m->id;
            if (m->method == "tools/call") {
                r.path = m->tool;
                r.detail += "; tool " + m->tool + "; arguments sha256 " + m->args_sha256 + "; server " + url;
                if (policy::full_arguments(*b, url)) r.detail += "; arguments " + m->args_json;
                c.add_tool(&AgentCounters::mcp_called, p.task, url + ": " + m->tool);
                if (v.inside() && !b->mcp_tools.empty()) {
                    v = policy::decide_tool(*b, url, m->tool);
                    v = task_call_overlay(p, *b, "tool", "", "", m->tool, v, grant);
                }
            }
        }
    }
    r.rule = v.rule_id;
    r.resolved = v.resolved;
    r.grant = grant;
    c.rules.add(v.rule_id);
    if (v.inside()) {
        ++c.allowed;
        c.add_tool(&AgentCounters::http_calls, p.task, req.method + " " + url);
        r.verdict = "allow";
        conn.pending.push_back({std::move(r), e.ktime_ns});
        if (conn.pending.size() > 64) {
            flush_http(conn, "no response seen (more than 64 requests outstanding)");
        }
        return;
    }
    ++c.violations;
    c.add_tool(&AgentCounters::http_denied, p.task, req.method + " " + url);
    if (r.action == "tools/call") c.add_tool(&AgentCounters::mcp_denied, p.task, url + ": " + r.path);
    if (e.kernel_action == KernelAction::Killed) {
        // The kernel's own tables decided: name what it used when the daemon's view differs.
        std::string kid = act_.kernel_rule_id(e.kernel_rule);
        if (!kid.empty() && kid != v.rule_id) r.resolved += " (kernel rule " + kid + ")";
        v.decision = Decision::Kill;
    }
    enforce(e, p, *b, v, r);
    if (e.kernel_action == KernelAction::Killed)
        r.detail += tls ? "; killed in SSL_write before encryption: the server received nothing"
                        : "; killed at the exit of the write: the peer may have received the request, never answered";
    r.verdict = std::string(to_string(v.decision));
    act_.journal(r);
    // Monitor or flag: the process goes on and its response will come; keep the order.
    if (e.kernel_action != KernelAction::Killed && v.decision != Decision::Kill)
        conn.pending.push_back({journal::Record{}, e.ktime_ns, true});
    spdlog::warn("agent={} task={} pid={} {} {}{} -> {} ({}){}", p.agent, p.task.empty() ? "-" : p.task, e.pid,
                 r.action, r.address, r.path, r.verdict, r.rule, r.enforcement.empty() ? "" : " " + r.enforcement);
}

// Requests whose response never came (the process exited, the connection state was dropped).
void Pipeline::flush_http(HttpConn& conn, const std::string& why) {
    for (auto& pend : conn.pending) {
        if (pend.journaled) continue;
        pend.record.detail += "; " + why;
        act_.journal(pend.record);
    }
    conn.pending.clear();
}

// The process exited: a response read until the connection closed is complete now; requests
// still without one are journaled as such.
void Pipeline::forget_http(const Event& e, const identity::Process& p) {
    for (auto it = http_conns_.lower_bound({e.pid, false, 0}); it != http_conns_.end() && std::get<0>(it->first) == e.pid;) {
        std::vector<HttpRequest> reqs;
        std::vector<HttpResponse> resps;
        it->second.responses.flush(reqs, resps);
        for (auto& resp : resps) answer_http(e, p, it->second, resp);
        flush_http(it->second, "no response seen before the process exited");
        it = http_conns_.erase(it);
    }
}

}  // namespace stockade::daemon
