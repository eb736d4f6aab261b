// stockade: the operator's command. `stockade --help`, `stockade SUBCOMMAND --help`.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "cli/commands.hpp"
#include "cli/learn.hpp"
#include "common/error.hpp"

int main(int argc, char** argv) {
    using namespace stockade::cli;
    CLI::App app{"stockade: see and bound what AI agents do on this host"};
    app.require_subcommand(1);
    app.fallthrough();  // --socket and --journal also after the subcommand: `stockade tail --journal F`
    std::string socket = "/run/stockade/control.sock";
    std::string journal = "/var/log/stockade/journal.jsonl";
    app.add_option("--socket", socket, "stockaded's control socket")->capture_default_str();
    app.add_option("--journal", journal, "journal file or directory")->capture_default_str();

    auto* check = app.add_subcommand("check", "validate boundary files without a daemon");
    std::vector<std::string> check_paths{"/etc/stockade/agents.d"};
    bool quiet = false;
    check->add_option("paths", check_paths, "boundary files or directories")->capture_default_str();
    check->add_flag("-q,--quiet", quiet, "print only errors");

    auto* tail = app.add_subcommand("tail", "print (and follow) journal records");
    TailOptions to;
    std::string agent, task, verdict, since;
    tail->add_flag("-f,--follow", to.follow, "keep printing new records, across rotation");
    tail->add_option("-n,--lines", to.lines, "records to print first")->capture_default_str();
    tail->add_option("--agent", agent, "only this agent");
    tail->add_option("--task", task, "only this task");
    tail->add_option("--verdict", verdict, "only this verdict: allow, flag, deny, kill, would-deny");
    tail->add_option("--since", since, "RFC 3339 time or a duration ago (10m, 2h, 1d)");
    tail->add_flag("--json", to.json, "print the stored JSON lines (for jq)");
    bool no_color = false, force_color = false;
    tail->add_flag("--no-color", no_color, "never colour");
    tail->add_flag("--color", force_color, "always colour");

    auto* verify = app.add_subcommand("verify", "prove the journal's hash chain intact, or name the first broken record");
    std::string verify_path;
    verify->add_option("file", verify_path, "journal file or directory (default: --journal)");

    auto* status = app.add_subcommand("status", "the daemon, its kernel backends and its agents");
    bool status_json = false;
    status->add_flag("--json", status_json, "machine-readable");

    auto* reload = app.add_subcommand("reload", "re-read the boundaries now (as SIGHUP or systemctl reload); "
                                                "a boundary set with errors is refused and the one in force stays");

    auto* agents = app.add_subcommand("agents", "agents in force; `agents show NAME` for one");
    auto* show = agents->add_subcommand("show", "one agent: boundary, counters, kernel coverage, recent violations");
    std::string show_name;
    show->add_option("name", show_name, "agent")->required();

    auto* run = app.add_subcommand("run", "run a command as an agent (in the agent's cgroup scope)");
    std::string run_agent, run_task;
    std::vector<std::string> command;
    run->add_option("--agent", run_agent, "agent name (from its boundary); implied by --task");
    run->add_option("--task", run_task, "run inside this task (stockade task begin)");
    std::string run_token;
    run->add_option("--token", run_token, "the task's token, checked when given");
    bool landlock = false;
    run->add_flag("--landlock", landlock,
                  "also confine the command with a Landlock ruleset derived from its boundary (refused at the syscall)");
    run->add_option("command", command, "command and arguments, after --")->required();

    auto* task_cmd = app.add_subcommand("task", "tasks: time-limited grants and confinements inside an agent");
    task_cmd->require_subcommand(1);
    auto* tbegin = task_cmd->add_subcommand("begin", "start a task; prints its id, then its token");
    TaskBeginOptions tb;
    tbegin->add_option("--agent", tb.agent, "agent")->required();
    tbegin->add_option("--grant", tb.grants, "widen: KIND=PATTERN (read, write, create, delete, exec, connect, tool, http)");
    tbegin->add_option("--confine", tb.confines, "narrow: KIND=PATTERN; the task may do KIND only there");
    tbegin->add_option("--ttl", tb.ttl, "grants expire after this long (30s, 5m, 1h); default: until ended");
    tbegin->add_option("--label", tb.label, "free text recorded with the task");
    auto* tend = task_cmd->add_subcommand("end", "end a task: its grants close at once");
    std::string tend_id;
    tend->add_option("id", tend_id, "task id")->required();
    auto* tlist = task_cmd->add_subcommand("list", "tasks, their state and grants");

    auto* suggest = app.add_subcommand("suggest", "write a boundary that allows what the journal shows an agent did");
    SuggestOptions so;
    suggest->add_option("--agent", so.agent, "agent whose records to learn from")->required();
    suggest->add_option("--since", so.since, "only records since: RFC 3339 time or a duration ago (10m, 2h, 1d)");
    suggest->add_option("--task", so.task, "only records of this task");
    suggest->add_option("--journal", so.journal, "journal file or directory (default: the global --journal)");
    suggest->add_option("--boundary", so.boundary, "the agent's current boundary: its match is copied");
    suggest->add_option("-o,--output", so.output, "write the boundary here (default: stdout)");

    auto* replay = app.add_subcommand("replay", "re-decide recorded actions with a candidate boundary; exit 1 if "
                                                "anything allowed would now be a violation");
    ReplayOptions ro;
    replay->add_option("--boundary", ro.boundary, "candidate boundary file")->required();
    replay->add_option("--journal", ro.journal, "journal file or directory (default: the global --journal)");
    replay->add_option("--since", ro.since, "only records since: RFC 3339 time or a duration ago");
    replay->add_option("--agent", ro.agent, "agent whose records to replay (default: the boundary's)");

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        int rc = app.exit(e);
        return rc == 0 ? 0 : kExitUsage;
    }
    try {
        if (*check) return cmd_check(check_paths, quiet);
        if (*tail) {
            to.journal = journal;
            if (!agent.empty()) to.agent = agent;
            if (!task.empty()) to.task = task;
            if (!verdict.empty()) to.verdict = verdict;
            if (!since.empty()) to.since = since;
            if (no_color) to.color = false;
            if (force_color) to.color = true;
            return cmd_tail(to);
        }
        if (*verify) return cmd_verify(verify_path.empty() ? journal : verify_path);
        if (*status) return cmd_status(socket, status_json);
        if (*reload) return cmd_reload(socket);
        if (*agents) return cmd_agents(socket, journal, *show ? show_name : "");
        if (*run) {
            if (run_agent.empty() && run_task.empty()) {
                std::fprintf(stderr, "stockade run: --agent or --task is required\n");
                return kExitUsage;
            }
            return cmd_run(socket, run_agent, run_task, command, landlock, run_token);
        }
        if (*tbegin) return cmd_task_begin(socket, tb);
        if (*tend) return cmd_task_end(socket, tend_id);
        if (*tlist) return cmd_task_list(socket);
        if (*suggest) {
            if (so.journal.empty()) so.journal = journal;
            return cmd_suggest(so);
        }
        if (*replay) {
            if (ro.journal.empty()) ro.journal = journal;
            return cmd_replay(ro);
        }
    } catch (const stockade::Error& e) {
        std::fprintf(stderr, "stockade: %s\n", e.what());
        return kExitNo;
    }
    return kExitUsage;
}
