// `stockade` subcommands. Each returns the process exit code (docs/operator-guide.md):
//   0 success; 1 the answer is "no" (check found errors, verify found a broken chain,
//   run's command failed to start); 2 usage; 3 the daemon is not running or refused.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace stockade::cli {

constexpr int kExitOk = 0, kExitNo = 1, kExitUsage = 2, kExitDaemon = 3;

struct TailOptions {
    std::string journal;
    size_t lines = 10;
    bool follow = false, json = false;
    std::optional<std::string> agent, task, verdict, since;
    std::optional<bool> color;  // default: when stdout is a terminal
};

int cmd_check(const std::vector<std::string>& paths, bool quiet);
int cmd_tail(const TailOptions& o);
int cmd_verify(const std::string& journal);
int cmd_status(const std::string& socket, bool json);
int cmd_reload(const std::string& socket);
int cmd_agents(const std::string& socket, const std::string& journal, const std::string& show);
// `stockade run`'s Landlock layer: on by default (skipped with a note where it cannot be built),
// required with --landlock (an error then), off with --no-landlock. `gate`: the mutation filter
// (enforce/mutation_filter.hpp), off with --no-seccomp; a run that asks for it and cannot have it
// does not start.
enum class LandlockUse { Default, Required, Off };
int cmd_run(const std::string& socket, const std::string& agent, const std::string& task,
            const std::vector<std::string>& command, LandlockUse landlock, const std::string& token = "",
            bool gate = true);

struct TaskBeginOptions {
    std::string agent, label, ttl;
    std::vector<std::string> grants, confines;
};
int cmd_task_begin(const std::string& socket, const TaskBeginOptions& o);
int cmd_task_end(const std::string& socket, const std::string& id);
int cmd_task_list(const std::string& socket);

// on_violation: ask: list what waits for a person, approve or deny one (cli/approvals.cpp).
int cmd_approvals(const std::string& socket, bool json);
int cmd_decide(const std::string& socket, uint64_t id, bool approve);

// stockade suggest / replay: options in cli/learn.hpp. Replay exits 1 when an action allowed
// before would now be a violation.
struct SuggestOptions;
struct ReplayOptions;
int cmd_suggest(const SuggestOptions& o);
int cmd_replay(const ReplayOptions& o);

// "30s", "5m", "2h", "1d", "1h30m" -> milliseconds; throws stockade::Error.
uint64_t parse_duration_ms(const std::string& s);

}  // namespace stockade::cli
