// Intent: which model call asked for an action. The tools a model asked for (an `llm` record's
// tool uses) are kept per agent; an exec that runs a requested shell command, an MCP call of a
// requested tool, an HTTP request to a URL a requested tool named, carries that tool use as its
// intent, and so do the processes a requested command starts (children inherit it). Bounded.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tools/llm.hpp"

namespace stockade::judge {

struct Intent {
    uint64_t llm_seq = 0;     // the llm record's seq
    std::string tool_use_id;  // the tool use in it
};

// A shell command line as the shell splits it: words unquoted ('...', "...", backslashes), and the
// operators (; & | && || ( ) < > and the like) as words of their own.
std::vector<std::string> shell_words(std::string_view command);

// Whether an exec with this argv runs `command` (a shell command line): the argv is one of the
// command's simple commands (argv[0] compared by base name), or the argv is a shell whose script
// holds the command (`bash -c "... eval 'COMMAND' ..."`, as Claude Code runs its Bash tool).
bool exec_runs_command(const std::vector<std::string>& argv, const std::string& command);

class IntentBook {
public:
    // The tool uses of one model call of `agent`, journaled as record `llm_seq`.
    void requested(const std::string& agent, uint64_t llm_seq, const std::vector<tools::LlmToolUse>& uses);
    // Whether `agent` has made a model call (its actions are then marked with or without intent).
    bool calls_models(const std::string& agent) const { return requested_.count(agent) > 0; }

    // An exec: the intent of the process's parent or its own earlier image, else a requested
    // command it runs (newest first). Remembered for the process and its children.
    std::optional<Intent> for_exec(const std::string& agent, uint32_t pid, uint32_t ppid,
                                   const std::vector<std::string>& argv);
    // An MCP tools/call: the process's intent, else a requested tool of that name (Claude Code
    // names MCP tools "mcp__SERVER__TOOL").
    std::optional<Intent> for_tool(const std::string& agent, uint32_t pid, const std::string& tool);
    // An HTTP request: the process's intent (curl run by a requested command), else a requested
    // tool whose input names the host and path.
    std::optional<Intent> for_http(const std::string& agent, uint32_t pid, const std::string& host,
                                   const std::string& path);

    void forked(uint32_t parent, uint32_t child);
    void exited(uint32_t pid) { by_pid_.erase(pid); }

private:
    struct Requested {
        Intent intent;
        std::string name, command, input;
    };
    std::optional<Intent> of_process(uint32_t pid) const;
    void remember(uint32_t pid, const Intent& i);

    static constexpr size_t kPerAgent = 64;       // the newest tool uses of each agent
    static constexpr size_t kProcesses = 4096;    // processes running a requested command
    std::map<std::string, std::deque<Requested>> requested_;
    std::map<uint32_t, Intent> by_pid_;
};

}  // namespace stockade::judge
