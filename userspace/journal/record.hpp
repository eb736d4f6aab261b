// One journal record: one decision (or one journal-level fact such as lost events or a torn
// tail). Serialised as one line of compact JSON (json.hpp: fields at their default are left out);
// docs/journal-format.md describes every field. The hash chain fields (seq, prev, hash) are
// filled in by the Journal writer.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "journal/kinds.hpp"

namespace stockade::journal {

// A tool the model asked for in one model call (an `llm` record's tool_uses).
struct ToolUse {
    std::string id;            // the API's tool-use id ("toolu_...", "call_...")
    std::string name;          // "Bash", "shell", "mcp__files__read" ...
    std::string input_sha256;  // hex SHA-256 of the input as compact JSON (keys sorted)
    std::string command;       // shell tools only: the command line the model asked to run
    bool operator==(const ToolUse&) const = default;
};

struct Record {
    // --- chain ---
    uint64_t seq = 0;    // position in the whole journal (continues across rotation)
    std::string prev;    // hex SHA-256 of the previous record's line ("" for the very first)
    std::string hash;    // hex SHA-256 over prev + this record's canonical body (see hashchain)

    // --- when and where ---
    std::string time;     // wall clock, RFC 3339 with microseconds, UTC ("2026-11-25T09:24:10.123456Z")
    uint64_t mono_ns = 0; // CLOCK_BOOTTIME ns of the kernel event (or of the record if none)
    std::string host;

    // --- what kind of record (kinds.hpp lists them) ---
    RecordType type = RecordType::Decision;

    // --- who ---
    std::string agent;
    std::string task;
    std::string grant;
    std::string exec_id;  // unique on the host: "<boot-id-prefix>:<pid>:<start_ns>"
    uint32_t pid = 0;
    uint32_t ppid = 0;
    uint32_t uid = 0;
    std::string exe;
    std::vector<std::string> argv;
    std::string cgroup;  // cgroup v2 path, or unit name when known
    // The container the process runs in (podman, docker, Kubernetes): its id (64 hex digits),
    // name and image as its runtime names them. Empty outside containers (then not stored).
    std::string container, container_name, container_image;

    // --- what ---
    std::string action;  // exec, open, unlink, rename, mkdir, rmdir, chmod, truncate, link,
                         // symlink, connect, bind, listen, accept, send, fork, exit
    std::string access;  // open: "read", "write", "read+write+create" ...
    std::string path;    // resolved path (or rename/link source)
    std::string path2;   // rename/link target
    std::string address; // network: "127.0.0.1", "::1", unix path
    uint16_t port = 0;
    std::string protocol;  // tcp, udp, unix
    std::string hostname;  // when the daemon knows the name the address came from
    int64_t result = 0;    // syscall result as the kernel returned it

    // --- decision ---
    Verdict verdict = Verdict::None;
    std::string rule;       // rule id that decided
    std::string resolved;   // how the rule resolved
    Enforcements enforcement;  // what was done, step by step (kinds.hpp); empty: nothing
    int64_t latency_us = -1;  // kernel event to enforcement, -1 = not measured
    // The kernel held the process at this action until the daemon's verdict (a SIGSTOP before
    // it ran one more instruction): how long, to the verdict. -1 = not held (then not stored).
    int64_t held_us = -1;
    // on_violation: ask: the approval the action waits for (the `ask` record) or that decided it
    // (the `approval` record); 0 = none. `approver`: who decided ("uid=0 pid=4242 exe=/usr/bin/stockade",
    // or "timeout"). Both stored only when set.
    uint64_t approval = 0;
    std::string approver;

    // --- type specific ---
    uint64_t count = 0;    // lost: events lost; summary: actions counted
    std::string detail;    // free text: torn: the bytes set aside (escaped); daemon: message

    // --- model calls (type "llm") and the intent behind actions; stored only when set ---
    std::string provider;       // llm: "anthropic", "openai", "openai-compatible"
    std::string model;          // llm: the model the request named (or the response, if it did not)
    int64_t tokens_in = -1;     // llm: input tokens from the usage fields; -1 = not seen
    int64_t tokens_out = -1;    // llm: output tokens from the usage fields; -1 = not seen
    std::string prompt_sha256;  // llm: hex SHA-256 of the request body as captured
    std::string prompt;         // llm: the request body, only when the boundary says model_prompts: full
    std::string truncated;      // llm: "request", "response" or "request+response": not seen whole
    std::vector<ToolUse> tool_uses;  // llm: the tools the model asked for
    std::string intent;         // exec/tool records of agents that call models: tool-use id, or "none"
    uint64_t intent_seq = 0;    // with an intent: seq of the llm record that asked for it

    // --- tool calls (type "tool"); stored only when set ---
    // Journals written before these fields held them in other places: the tool in `path`, the
    // transport ("stdio") in `address`, the rest in `detail`; those lines still read and verify.
    std::string tool;         // MCP: the tool called (tools/call's params.name)
    std::string server;       // MCP: the server: "exe args (pid N)" over stdio, the URL over HTTP
    std::string request_id;   // MCP: the JSON-RPC id as it was written ("7", "\"a1\"")
    std::string args_digest;  // MCP: hex SHA-256 of the arguments as compact JSON
    std::string outcome;      // MCP: "result", or "error <code>: <message>"

    // Not stored: the record was read from a line in the full form (every field written, as
    // journals were before compact records), so re-serialising it for `verify` writes that form.
    bool full_form = false;
};

}  // namespace stockade::journal
