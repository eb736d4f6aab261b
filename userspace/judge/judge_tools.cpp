// Tool calls over stdio: MCP JSON-RPC over pipes (decoded by tools::McpStreams), paired request
// -> response, judged by tools.mcp, concluded like every other event.
#include "enforce/kernel_tables.hpp"
#include "judge/pipeline.hpp"
#include "policy/decide.hpp"

namespace stockade::judge {

namespace {

// "exe arg1 arg2 arg3": how a server is named in the journal and the counters.
std::string describe(const identity::Process& proc) {
    std::string s = proc.exe;
    for (size_t i = 1; i < proc.argv.size() && i < 4; ++i) s += " " + proc.argv[i];
    return s;
}

// "exe arg1 arg2 arg3 (pid N)": a server in a tool record.
std::string server_of(const std::string& described, uint32_t pid) {
    return described + " (pid " + std::to_string(pid) + ")";
}

// A tool call's record: the call in the tool fields, its transport in `protocol`; a record of
// the process's context (record_for) goes in.
journal::Record tool_record(journal::Record r, const tools::McpMessage& m) {
    r.type = journal::RecordType::Tool;
    r.action = m.method;
    r.access = "";
    r.protocol = "stdio";
    r.tool = m.tool;
    r.request_id = m.id;
    r.args_digest = m.args_sha256;
    return r;
}

void add_detail(journal::Record& r, const std::string& part) {
    if (!part.empty()) r.detail += (r.detail.empty() ? "" : "; ") + part;
}

}  // namespace

// JSON-RPC over pipes: requests are remembered by id, and each call is journaled when its
// response arrives, with the server (the process that read the request), the tool, a digest of
// the arguments and the outcome. tools/call requests are judged by tools.mcp as they are
// written (judge_tool_call); without tools.mcp rules they are "builtin:tools-not-judged".
void Pipeline::handle_io(const Event& e, const identity::Process& p) {
    if (!e.io_write) {
        pipe_readers_[e.io_inode] = {e.pid, describe(p)};
        if (pipe_readers_.size() > 4096) pipe_readers_.erase(pipe_readers_.begin());
        if (e.kernel_action == KernelAction::Killed)
            server_killed_in_kernel(e, p);
        else if (e.held)
            judge_read_calls(e, p);
        return;
    }
    std::vector<std::string> truncated;
    auto msgs = mcp_.feed(e, truncated);
    for (auto& why : truncated) {
        journal::Record r = record_for(e, p);
        r.type = journal::RecordType::Tool;
        r.action = "tool-call";
        r.protocol = "stdio";
        r.verdict = journal::Verdict::Flag;
        r.rule = "builtin:tools-truncated";
        r.detail = "message truncated, not decoded: " + why;
        act_.journal(r);
    }
    for (auto& m : msgs) {
        if (m.is_response) {
            answer_tool_call(e, p, m);
            continue;
        }
        if (m.id.empty()) continue;  // a notification: no call to pair
        if (m.method == "tools/call" && !m.tool.empty() && !p.agent.empty()) judge_tool_call(e, p, m);
        PendingCall pc;
        pc.request = m;
        pc.pid = e.pid;
        pc.at_ns = e.ktime_ns;
        pc.base = record_for(e, p);
        pending_calls_[{p.agent, m.id}] = std::move(pc);
        if (pending_calls_.size() > 1024) pending_calls_.erase(pending_calls_.begin());
    }
}

// The kernel refused a denied tool as this server read it: the call never ran.
void Pipeline::server_killed_in_kernel(const Event& e, const identity::Process& p) {
    journal::Record r = record_for(e, p);
    r.type = journal::RecordType::Tool;
    r.action = "tools/call";
    r.protocol = "stdio";
    r.verdict = journal::Verdict::Kill;
    r.rule = act_.kernel_rule_id(e.kernel_rule);
    r.enforcement = journal::Enforcement::ServerKilledInKernel;
    r.latency_us = 0;
    r.tool = tools::tool_name_in(e.io_data);
    r.server = server_of(describe(p), e.pid);
    r.detail = "the server was killed at the read that delivered the call, before it could run it";
    ++counters_[p.agent].kills;
    act_.journal(r);
}

// A response: the call it answers is journaled now, with its verdict from judge_tool_call.
void Pipeline::answer_tool_call(const Event& e, const identity::Process& p, const tools::McpMessage& m) {
    auto key = std::make_pair(p.agent, m.id);
    auto it = pending_calls_.find(key);
    if (it == pending_calls_.end()) return;
    PendingCall& pc = it->second;
    auto& c = counters_[p.agent];
    auto reader = pipe_readers_.find(pc.request.inode);
    bool known = reader != pipe_readers_.end();
    std::string server = known ? server_of(reader->second.second, reader->second.first)
                               : "pid " + std::to_string(e.pid);
    std::string server_exe = known ? reader->second.second : describe(p);
    for (auto& t : m.tools_listed) c.mcp_offered.add(server_exe + ": " + t);
    auto judged = judged_.find(key);
    bool allowed = judged == judged_.end() || judged->second.first == journal::Verdict::Allow;
    // A denied call is counted as denied (judge_tool_call), never also as called.
    if (!pc.request.tool.empty() && allowed)
        c.add_tool(&AgentCounters::mcp_called, p.task, server_exe + ": " + pc.request.tool);
    journal::Record r = tool_record(pc.base, pc.request);
    if (!pc.request.tool.empty() && intents_.calls_models(p.agent))
        mark_intent(r, intents_.for_tool(p.agent, pc.pid, pc.request.tool), c);
    r.verdict = judged != judged_.end() ? judged->second.first : journal::Verdict::Allow;
    r.rule = judged != judged_.end() ? judged->second.second : "builtin:tools-not-judged";
    if (judged != judged_.end()) judged_.erase(judged);
    r.result = m.outcome == "result" ? 0 : -1;
    const policy::Boundary* b = set_ ? set_->find(p.agent) : nullptr;
    bool full = !pc.request.tool.empty() && b && policy::full_arguments(*b, server_exe);
    r.server = server;
    r.outcome = m.outcome;
    if (full) add_detail(r, "arguments " + pc.request.args_json);
    if (!m.tools_listed.empty()) add_detail(r, "offers " + std::to_string(m.tools_listed.size()) + " tools");
    r.latency_us = e.ktime_ns > pc.at_ns ? static_cast<int64_t>((e.ktime_ns - pc.at_ns) / 1000) : 0;
    act_.journal(r);
    pending_calls_.erase(it);
}

// A tools/call as its request is written: judged by the boundary's tools.mcp rules. A violation
// is concluded at once: in enforce mode the server that is about to read it is stopped, then the
// caller (or the whole agent). The kill is asynchronous: a server that reads and runs the call
// within the daemon's reaction time (~0.1-0.2 ms) may still run it (docs/architecture.md).
void Pipeline::judge_tool_call(const Event& e, const identity::Process& p, const tools::McpMessage& m) {
    const policy::Boundary* b = set_ ? set_->find(p.agent) : nullptr;
    if (!b) return;
    auto reader = pipe_readers_.find(m.inode);
    std::string server = reader != pipe_readers_.end() ? reader->second.second : "";
    std::string grant;
    Verdict v = task_call_overlay(p, *b, "tool", "", "", m.tool, policy::decide_tool(*b, server, m.tool), grant);
    judged_[{p.agent, m.id}] = {journal::verdict_of(v.decision), v.rule_id};
    if (judged_.size() > 1024) judged_.erase(judged_.begin());
    if (v.inside()) return;  // journaled with its response
    counters_[p.agent].add_tool(&AgentCounters::mcp_denied, p.task,
                                (server.empty() ? std::string("?") : server) + ": " + m.tool);
    journal::Record r = tool_record(record_for(e, p), m);
    if (intents_.calls_models(p.agent)) {
        mark_intent(r, intents_.for_tool(p.agent, e.pid, m.tool), counters_[p.agent]);
        count_intent_denied(r, v, counters_[p.agent]);
    }
    if (reader != pipe_readers_.end()) r.server = server_of(server, reader->second.first);
    else r.detail = "server not seen yet";
    if (policy::full_arguments(*b, server)) add_detail(r, "arguments " + m.args_json);
    Judged j{e, p, *b, v, std::move(r)};
    for (auto& [name, rule] : enforce::KernelTables::kernel_denied_tools(*b))
        j.server_stopped_in_kernel = j.server_stopped_in_kernel || name == m.tool;
    j.server_stopped_while_held = calls_stopped_at_read_.erase({p.agent, m.id}) > 0;
    if (reader != pipe_readers_.end()) j.server = table_.find_live_pid(reader->second.first);
    conclusion_.conclude(j);
}

// A server the kernel held at a read that carries a tools/call: judged here, before it runs the
// call, whatever order the caller's write and this read reach the daemon in. A call the caller's
// write was already judged to violate kills the server now; one judged here first kills it with
// its own record, and the caller's record says so.
void Pipeline::judge_read_calls(const Event& e, const identity::Process& p) {
    const policy::Boundary* b = set_ ? set_->find(p.agent) : nullptr;
    if (!b) return;
    Event bytes = e;  // McpStreams reassembles writes: these bytes are read, but framed alike
    bytes.io_write = true;
    bytes.io_peer_inode = 0;
    std::vector<std::string> truncated;
    for (auto& m : mcp_reads_.feed(bytes, truncated)) {
        if (m.is_response || m.method != "tools/call" || m.tool.empty() || m.id.empty()) continue;
        auto judged = judged_.find({p.agent, m.id});
        if (judged != judged_.end() && judged->second.first == journal::Verdict::Allow) continue;
        Verdict v;
        std::string grant;
        if (judged != judged_.end()) {
            v.decision = Decision::Kill;
            v.rule_id = judged->second.second;
        } else {
            v = task_call_overlay(p, *b, "tool", "", "", m.tool, policy::decide_tool(*b, describe(p), m.tool), grant);
            if (v.inside()) continue;
            judged_[{p.agent, m.id}] = {journal::verdict_of(v.decision), v.rule_id};
            calls_stopped_at_read_.insert({p.agent, m.id});
            if (calls_stopped_at_read_.size() > 1024) calls_stopped_at_read_.erase(calls_stopped_at_read_.begin());
        }
        journal::Record r = tool_record(record_for(e, p), m);
        r.server = server_of(describe(p), e.pid);
        r.detail = "the server was held at the read that delivered the call, judged before it could run it";
        Judged j{e, p, *b, v, std::move(r)};
        conclusion_.conclude(j);
    }
}

}  // namespace stockade::judge
