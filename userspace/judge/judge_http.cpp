// HTTP requests that tracked processes send in plaintext (socket writes) or through a TLS library
// (uprobes on OpenSSL's SSL_write, Go's crypto/tls Write), decoded by tools::HttpConnection,
// judged by the boundary's tools.http rules (and, for MCP over HTTP, tools.mcp), paired with
// their responses, concluded.
#include "common/digest.hpp"
#include "judge/pipeline.hpp"
#include "policy/decide.hpp"

namespace stockade::judge {

bool Pipeline::is_http(const Event& e) const {
    if (e.action == Action::Tls) return true;
    if (http_conns_.count({e.pid, false, e.io_inode})) return true;
    if (e.io_more) return false;  // the middle of a longer write: only a known connection's
    return e.io_write ? tools::looks_like_http_request(e.io_data) : tools::looks_like_http_response(e.io_data);
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
    std::vector<tools::HttpRequest> reqs;
    std::vector<tools::HttpResponse> resps;
    conn.wire.feed(e.io_data, e.io_write, e.truncated, e.kernel_action == KernelAction::Killed, reqs, resps);
    if (e.io_write)
        for (auto& req : reqs) judge_http(e, p, conn, tls, req);
    else
        for (auto& resp : resps) answer_http(e, p, conn, resp);
}

// A response: completes the oldest request still waiting on this connection.
void Pipeline::answer_http(const Event& e, const identity::Process& p, HttpConn& conn,
                           const tools::HttpResponse& resp) {
    if (resp.status >= 100 && resp.status < 200) return;  // 100 Continue: the final answer follows
    if (conn.pending.empty()) return;
    PendingHttp pend = std::move(conn.pending.front());
    conn.pending.pop_front();
    if (pend.journaled) return;  // the response to a request already journaled as a violation
    journal::Record r = std::move(pend.record);
    uint64_t at = pend.at_ns;
    r.result = resp.status;
    r.detail += "; status " + std::to_string(resp.status) + (resp.reason.empty() ? "" : " " + resp.reason);
    if (auto m = tools::parse_jsonrpc(tools::json_body_of(resp)); m && m->is_response) {
        r.outcome = m->outcome;
        auto& c = counters_[p.agent];
        for (auto& t : m->tools_listed) c.mcp_offered.add(r.address + r.path + ": " + t);
    }
    r.latency_us = e.ktime_ns > at ? static_cast<int64_t>((e.ktime_ns - at) / 1000) : 0;
    act_.journal(r);
    if (pend.llm) journal_llm(p, pend, r, resp);
}

// The record of one request: the path without its query (a digest of that), the body's size.
journal::Record Pipeline::http_record(const Event& e, const identity::Process& p, bool tls,
                                      const tools::HttpRequest& req) const {
    std::string scheme = tls ? "https://" : "http://";
    journal::Record r = record_for(e, p);
    r.type = journal::RecordType::Tool;
    r.action = req.http2 ? "http2" : req.method;
    r.path = tools::path_of(req.target);
    r.address = scheme + req.host;
    r.hostname = req.host;
    r.protocol = tls ? "https" : "http";
    r.access = "";
    std::string q = tools::query_of(req.target);
    r.detail = "request " + r.action + " " + r.address + r.path + (q.empty() ? "" : "?<query sha256 " +
               sha256_hex(q) + ">") + "; body " + std::to_string(req.body_size) + " bytes" +
               (req.body_truncated ? " (not all seen)" : "");
    return r;
}

// tools.http's verdict on the request line. HTTP/2 is not decoded: with tools.http rules it is a
// violation ("builtin:http-unclear-path"), without them not judged.
Verdict Pipeline::judge_http_route(const policy::Boundary& b, const tools::HttpRequest& req) const {
    if (!req.http2) return policy::decide_http(b, req.host, req.method, req.target);
    Verdict v;
    if (b.http_tools.empty()) {
        v.rule_id = "builtin:http-not-judged";
        return v;
    }
    v.rule_id = "builtin:http-unclear-path";
    v.resolved = "HTTP/2 requests are not decoded, so they cannot be judged";
    v.decision = policy::violation_for(b);
    return v;
}

// MCP over streamable HTTP: a JSON-RPC tools/call in the body is judged by tools.mcp as well.
void Pipeline::judge_http_tool_call(const identity::Process& p, const policy::Boundary& b, const std::string& url,
                                    const tools::HttpRequest& req, journal::Record& r, Verdict& v,
                                    std::string& grant) {
    if (req.content_type != "application/json") return;
    auto m = tools::parse_jsonrpc(req.body);
    if (!m || m->is_response) return;
    r.action = m->method;
    r.request_id = m->id;
    if (m->method != "tools/call") return;
    r.tool = m->tool;
    r.server = url;
    r.args_digest = m->args_sha256;
    if (policy::full_arguments(b, url)) r.detail += "; arguments " + m->args_json;
    counters_[p.agent].add_tool(&AgentCounters::mcp_called, p.task, url + ": " + m->tool);
    if (v.inside() && !b.mcp_tools.empty()) {
        v = policy::decide_tool(b, url, m->tool);
        v = task_call_overlay(p, b, "tool", "", "", m->tool, v, grant);
    }
}

// One request. A violation is concluded at once; an allowed request waits for its response.
void Pipeline::judge_http(const Event& e, const identity::Process& p, HttpConn& conn, bool tls,
                          const tools::HttpRequest& req) {
    const policy::Boundary* b = set_ ? set_->find(p.agent) : nullptr;
    if (!b) return;
    auto& c = counters_[p.agent];
    journal::Record r = http_record(e, p, tls, req);
    const std::string url = r.address + r.path;  // the server, for MCP over HTTP
    std::string grant;
    Verdict v = task_call_overlay(p, *b, "http", req.method, req.host, req.target, judge_http_route(*b, req), grant);
    judge_http_tool_call(p, *b, url, req, r, v, grant);
    r.grant = grant;
    // A model call is the model's own traffic; any other request of an agent that calls models
    // is an action with or without an intent.
    auto llm = tools::parse_llm_request(req);
    if (!llm && intents_.calls_models(p.agent))
        mark_intent(r, intents_.for_http(p.agent, e.pid, req.host, r.tool.empty() ? r.path : r.tool), c);
    if (v.inside()) {
        c.add_tool(&AgentCounters::http_calls, p.task, req.method + " " + url);
        Judged j{e, p, *b, v, std::move(r), IfAllowed::Hold};
        conclusion_.conclude(j);
        std::string prompt = llm && b->model_prompts ? req.body : std::string();
        conn.pending.push_back({std::move(j.record), e.ktime_ns, false, std::move(llm), std::move(prompt)});
        if (conn.pending.size() > 64) flush_http(conn, "no response seen (more than 64 requests outstanding)");
        return;
    }
    c.add_tool(&AgentCounters::http_denied, p.task, req.method + " " + url);
    count_intent_denied(r, v, c);
    if (r.action == "tools/call") c.add_tool(&AgentCounters::mcp_denied, p.task, url + ": " + r.tool);
    if (e.kernel_action == KernelAction::Killed) {
        // The kernel's own tables decided: name what it used when the daemon's view differs.
        std::string kid = act_.kernel_rule_id(e.kernel_rule);
        if (!kid.empty() && kid != v.rule_id) v.resolved += " (kernel rule " + kid + ")";
        v.decision = Decision::Kill;
        r.detail += tls ? std::string(e.tls_stack == SK_STACK_GO ? "; killed in Go's crypto/tls Write"
                                                                 : "; killed in SSL_write") +
                              " before encryption: the server received nothing"
                        : "; killed at the exit of the write: the peer may have received the request, never answered";
    }
    Judged j{e, p, *b, v, std::move(r)};
    conclusion_.conclude(j);
    // Monitor or flag: the process goes on and its response will come; keep the order.
    if (e.kernel_action != KernelAction::Killed && j.verdict.decision != Decision::Kill)
        conn.pending.push_back({journal::Record{}, e.ktime_ns, true, std::nullopt, ""});
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
        std::vector<tools::HttpResponse> resps;
        it->second.wire.close(resps);
        for (auto& resp : resps) answer_http(e, p, it->second, resp);
        flush_http(it->second, "no response seen before the process exited");
        it = http_conns_.erase(it);
    }
}

}  // namespace stockade::judge
