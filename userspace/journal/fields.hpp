// Every Record field with its stored name, in stored order. The JSON writer and reader and the
// writer's sanitiser all walk this one list, so a field added to record.hpp must be added here
// (once) to be stored, hashed and read back.
#pragma once

#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "journal/record.hpp"

namespace stockade::journal {

// Fields added after journals were first written (held_us and all after it, container*) are stored only
// when set, so that a line written before them still reads back to the same canonical form (and
// hash), full form included.
inline bool is_optional_field(std::string_view name) {
    for (std::string_view f : {"held_us", "provider", "model", "tokens_in", "tokens_out", "prompt_sha256", "prompt",
                               "truncated", "tool_uses", "intent", "intent_seq", "container",
                               "container_name", "container_image", "approval", "approver", "tool", "server",
                               "request_id", "args_digest", "outcome"})
        if (name == f) return true;
    return false;
}

// Whether a field holds the value a default Record has (json_test checks these against Record{}).
inline bool is_default(std::string_view, const std::string& v) { return v.empty(); }
inline bool is_default(std::string_view, RecordType v) { return v == RecordType::Decision; }
inline bool is_default(std::string_view, Verdict v) { return v == Verdict::None; }
inline bool is_default(std::string_view, const Enforcements& v) { return v.empty(); }
inline bool is_default(std::string_view name, int64_t v) {
    bool minus_one = name == "latency_us" || name == "held_us" || name == "tokens_in" || name == "tokens_out";
    return v == (minus_one ? -1 : 0);
}
inline bool is_default(std::string_view, uint64_t v) { return v == 0; }
inline bool is_default(std::string_view, uint32_t v) { return v == 0; }
inline bool is_default(std::string_view, uint16_t v) { return v == 0; }
inline bool is_default(std::string_view, const std::vector<std::string>& v) { return v.empty(); }
inline bool is_default(std::string_view, const std::vector<ToolUse>& v) { return v.empty(); }

template <class V>
bool omitted(const char* name, const V& v) {
    return is_optional_field(name) && is_default(name, v);
}

// Calls f(name, member) for each field; R is Record or const Record.
template <class R, class F>
void for_each_field(R& r, F&& f) {
    f("seq", r.seq);
    f("prev", r.prev);
    f("hash", r.hash);
    f("time", r.time);
    f("mono_ns", r.mono_ns);
    f("host", r.host);
    f("type", r.type);
    f("agent", r.agent);
    f("task", r.task);
    f("grant", r.grant);
    f("exec_id", r.exec_id);
    f("pid", r.pid);
    f("ppid", r.ppid);
    f("uid", r.uid);
    f("exe", r.exe);
    f("argv", r.argv);
    f("cgroup", r.cgroup);
    f("container", r.container);              // optional: see omitted()
    f("container_name", r.container_name);    // optional
    f("container_image", r.container_image);  // optional
    f("action", r.action);
    f("access", r.access);
    f("path", r.path);
    f("path2", r.path2);
    f("address", r.address);
    f("port", r.port);
    f("protocol", r.protocol);
    f("hostname", r.hostname);
    f("result", r.result);
    f("verdict", r.verdict);
    f("rule", r.rule);
    f("resolved", r.resolved);
    f("enforcement", r.enforcement);
    f("latency_us", r.latency_us);
    f("count", r.count);
    f("detail", r.detail);
    f("held_us", r.held_us);  // optional from here on (and the container fields): see omitted()
    f("provider", r.provider);
    f("model", r.model);
    f("tokens_in", r.tokens_in);
    f("tokens_out", r.tokens_out);
    f("prompt_sha256", r.prompt_sha256);
    f("prompt", r.prompt);
    f("truncated", r.truncated);
    f("tool_uses", r.tool_uses);
    f("intent", r.intent);
    f("intent_seq", r.intent_seq);
    f("approval", r.approval);  // optional
    f("approver", r.approver);  // optional
    f("tool", r.tool);          // optional, and the four after it
    f("server", r.server);
    f("request_id", r.request_id);
    f("args_digest", r.args_digest);
    f("outcome", r.outcome);
}

}  // namespace stockade::journal
