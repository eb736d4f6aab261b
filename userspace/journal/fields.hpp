// Every Record field with its stored name, in stored order. The JSON writer and reader and the
// writer's sanitiser all walk this one list, so a field added to record.hpp must be added here
// (once) to be stored, hashed and read back.
#pragma once

#include <string>
#include <string_view>
#include <type_traits>

#include "journal/record.hpp"

namespace stockade::journal {

// Fields added after journals were first written are stored only when set, so that a line
// written before them still reads back to the same canonical form (and hash).
inline bool is_optional_field(const char* name) {
    std::string_view n(name);
    return n == "held_us" || n == "approval" || n == "approver";
}
template <class V>
bool omitted(const char* name, const V& v) {
    if constexpr (std::is_same_v<V, int64_t>) return v < 0 && is_optional_field(name);
    if constexpr (std::is_same_v<V, uint64_t>) return v == 0 && is_optional_field(name);
    if constexpr (std::is_same_v<V, std::string>) return v.empty() && is_optional_field(name);
    return false;
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
    f("held_us", r.held_us);  // optional: see omitted()
    f("approval", r.approval);  // optional
    f("approver", r.approver);  // optional
}

}  // namespace stockade::journal
