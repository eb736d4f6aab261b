// stockade: the operator's command. `stockade --help`, `stockade SUBCOMMAND --help`.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "cli/commands.hpp"
#include "cli/learn.hpp"
#include "common/error.hpp"

namespace {

using namespace stockade::cli;

// The options every subcommand may use (also given after the subcommand).
struct Globals {
    std::string socket = "/run/stockade/control.sock";
    std::string journal = "/var/log/stockade/journal.jsonl";
};

// A subcommand and what it runs once the command line is parsed.
using Commands = std::vector<std::pair<CLI::App*, std::function<int()>>>;

void add_check(CLI::App& app, Commands& out) {
    auto* check = app.add_subcommand("check", "validate boundary files without a daemon");
    auto paths = std::make_shared<std::vector<std::string>>(std::vector<std::string>{"/etc/stockade/agents.d"});
    auto quiet = std::make_shared<bool>(false);
    check->add_option("paths", *paths, "boundary files or directories")->capture_default_str();
    check->add_flag("-q,--quiet", *quiet, "print only errors");
    out.emplace_back(check, [=] { return cmd_check(*paths, *quiet); });
}

void add_tail(CLI::App& app, const Globals& g, Commands& out) {
    struct Tail {
        TailOptions to;
        std::string agent, task, verdict, since;
        bool no_color = false, force_color = false;
    };
    auto t = std::make_shared<Tail>();
    auto* tail = app.add_subcommand("tail", "print (and follow) journal records");
    tail->add_flag("-f,--follow", t->to.follow, "keep printing new records, across rotation");
    tail->add_option("-n,--lines", t->to.lines, "records to print first")->capture_default_str();
    tail->add_option("--agent", t->agent, "only this agent");
    tail->add_option("--task", t->task, "only this task");
    tail->add_option("--verdict", t->verdict, "only this verdict: allow, flag, deny, kill, would-deny, ask");
    tail->add_option("--since", t->since, "RFC 3339 time or a duration ago (10m, 2h, 1d)");
    tail->add_flag("--json", t->to.json, "print the stored JSON lines (for jq)");
    tail->add_flag("--no-color", t->no_color, "never colour");
    tail->add_flag("--color", t->force_color, "always colour");
    out.emplace_back(tail, [t, &g] {
        TailOptions to = t->to;
        to.journal = g.journal;
        if (!t->agent.empty()) to.agent = t->agent;
        if (!t->task.empty()) to.task = t->task;
        if (!t->verdict.empty()) to.verdict = t->verdict;
        if (!t->since.empty()) to.since = t->since;
        if (t->no_color) to.color = false;
        if (t->force_color) to.color = true;
        return cmd_tail(to);
    });
}

void add_daemon_queries(CLI::App& app, const Globals& g, Commands& out) {
    auto* verify = app.add_subcommand("verify", "prove the journal's hash chain intact, or name the first broken record");
    auto verify_path = std::make_shared<std::string>();
    verify->add_option("file", *verify_path, "journal file or directory (default: --journal)");
    out.emplace_back(verify, [verify_path, &g] { return cmd_verify(verify_path->empty() ? g.journal : *verify_path); });

    auto* status = app.add_subcommand("status", "the daemon, its kernel backends and its agents");
    auto status_json = std::make_shared<bool>(false);
    status->add_flag("--json", *status_json, "machine-readable");
    out.emplace_back(status, [status_json, &g] { return cmd_status(g.socket, *status_json); });

    auto* reload = app.add_subcommand("reload", "re-read the boundaries now (as SIGHUP or systemctl reload); "
                                                "a boundary set with errors is refused and the one in force stays");
    out.emplace_back(reload, [&g] { return cmd_reload(g.socket); });

    auto* agents = app.add_subcommand("agents", "agents in force; `agents show NAME` for one");
    auto* show = agents->add_subcommand("show", "one agent: boundary, counters, kernel coverage, recent violations");
    auto show_name = std::make_shared<std::string>();
    show->add_option("name", *show_name, "agent")->required();
    out.emplace_back(agents, [show, show_name, &g] { return cmd_agents(g.socket, g.journal, *show ? *show_name : ""); });
}

void add_run(CLI::App& app, const Globals& g, Commands& out) {
    struct Run {
        std::string agent, task, token;
        std::vector<std::string> command;
        bool landlock = false, no_landlock = false, no_seccomp = false;
    };
    auto r = std::make_shared<Run>();
    auto* run = app.add_subcommand("run", "run a command as an agent (in the agent's cgroup scope)");
    run->add_option("--agent", r->agent, "agent name (from its boundary); implied by --task");
    run->add_option("--task", r->task, "run inside this task (stockade task begin)");
    run->add_option("--token", r->token, "the task's token, checked when given");
    run->add_flag("--landlock", r->landlock,
                  "require the Landlock ruleset derived from the boundary (the default when the kernel has "
                  "Landlock): fail if it cannot be applied");
    run->add_flag("--no-landlock", r->no_landlock,
                  "no Landlock ruleset: only the kernel probes and the daemon stop what is outside the boundary")
        ->excludes("--landlock");
    run->add_flag("--no-seccomp", r->no_seccomp,
                  "no seccomp gate: renames, unlinks, chmods, truncations and signals outside the boundary are "
                  "stopped only after they happened, not refused before");
    run->add_option("command", r->command, "command and arguments, after --")->required();
    out.emplace_back(run, [r, &g] {
        if (r->agent.empty() && r->task.empty()) {
            std::fprintf(stderr, "stockade run: --agent or --task is required\n");
            return kExitUsage;
        }
        LandlockUse ll = r->no_landlock ? LandlockUse::Off : r->landlock ? LandlockUse::Required : LandlockUse::Default;
        return cmd_run(g.socket, r->agent, r->task, r->command, ll, r->token, !r->no_seccomp);
    });
}

void add_task(CLI::App& app, const Globals& g, Commands& out) {
    auto* task_cmd = app.add_subcommand("task", "tasks: time-limited grants and confinements inside an agent");
    task_cmd->require_subcommand(1);
    auto* tbegin = task_cmd->add_subcommand("begin", "start a task; prints its id, then its token");
    auto tb = std::make_shared<TaskBeginOptions>();
    tbegin->add_option("--agent", tb->agent, "agent")->required();
    tbegin->add_option("--grant", tb->grants, "widen: KIND=PATTERN (read, write, create, delete, exec, connect, tool, http)");
    tbegin->add_option("--confine", tb->confines, "narrow: KIND=PATTERN; the task may do KIND only there");
    tbegin->add_option("--ttl", tb->ttl, "grants expire after this long (30s, 5m, 1h); default: until ended");
    tbegin->add_option("--label", tb->label, "free text recorded with the task");
    out.emplace_back(tbegin, [tb, &g] { return cmd_task_begin(g.socket, *tb); });
    auto* tend = task_cmd->add_subcommand("end", "end a task: its grants close at once");
    auto tend_id = std::make_shared<std::string>();
    tend->add_option("id", *tend_id, "task id")->required();
    out.emplace_back(tend, [tend_id, &g] { return cmd_task_end(g.socket, *tend_id); });
    auto* tlist = task_cmd->add_subcommand("list", "tasks, their state and grants");
    out.emplace_back(tlist, [&g] { return cmd_task_list(g.socket); });
}

void add_approvals(CLI::App& app, const Globals& g, Commands& out) {
    auto* list = app.add_subcommand("approvals", "actions held for a person (on_violation: ask)");
    auto json = std::make_shared<bool>(false);
    list->add_flag("--json", *json, "the list as JSON");
    out.emplace_back(list, [json, &g] { return cmd_approvals(g.socket, *json); });
    for (bool approve : {true, false}) {
        auto* cmd = app.add_subcommand(approve ? "approve" : "deny",
                                       approve ? "release a held action: it completes"
                                               : "refuse a held action: a connect is refused, anything else killed");
        auto id = std::make_shared<uint64_t>(0);
        cmd->add_option("id", *id, "approval id (stockade approvals)")->required();
        out.emplace_back(cmd, [id, approve, &g] { return cmd_decide(g.socket, *id, approve); });
    }
}

void add_learn(CLI::App& app, const Globals& g, Commands& out) {
    auto* suggest = app.add_subcommand("suggest", "write a boundary that allows what the journal shows an agent did");
    auto so = std::make_shared<SuggestOptions>();
    suggest->add_option("--agent", so->agent, "agent whose records to learn from")->required();
    suggest->add_option("--since", so->since, "only records since: RFC 3339 time or a duration ago (10m, 2h, 1d)");
    suggest->add_option("--task", so->task, "only records of this task");
    suggest->add_option("--journal", so->journal, "journal file or directory (default: the global --journal)");
    suggest->add_option("--boundary", so->boundary, "the agent's current boundary: its match is copied");
    suggest->add_option("-o,--output", so->output, "write the boundary here (default: stdout)");
    out.emplace_back(suggest, [so, &g] {
        SuggestOptions o = *so;
        if (o.journal.empty()) o.journal = g.journal;
        return cmd_suggest(o);
    });

    auto* replay = app.add_subcommand("replay", "re-decide recorded actions with a candidate boundary; exit 1 if "
                                                "anything allowed would now be a violation");
    auto ro = std::make_shared<ReplayOptions>();
    replay->add_option("--boundary", ro->boundary, "candidate boundary file")->required();
    replay->add_option("--journal", ro->journal, "journal file or directory (default: the global --journal)");
    replay->add_option("--since", ro->since, "only records since: RFC 3339 time or a duration ago");
    replay->add_option("--agent", ro->agent, "agent whose records to replay (default: the boundary's)");
    out.emplace_back(replay, [ro, &g] {
        ReplayOptions o = *ro;
        if (o.journal.empty()) o.journal = g.journal;
        return cmd_replay(o);
    });
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"stockade: see and bound what AI agents do on this host"};
    app.require_subcommand(1);
    app.fallthrough();  // --socket and --journal also after the subcommand: `stockade tail --journal F`
    Globals g;
    app.add_option("--socket", g.socket, "stockaded's control socket")->capture_default_str();
    app.add_option("--journal", g.journal, "journal file or directory")->capture_default_str();
    Commands commands;
    add_check(app, commands);
    add_tail(app, g, commands);
    add_daemon_queries(app, g, commands);
    add_run(app, g, commands);
    add_task(app, g, commands);
    add_approvals(app, g, commands);
    add_learn(app, g, commands);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        int rc = app.exit(e);
        return rc == 0 ? 0 : kExitUsage;
    }
    try {
        for (auto& [sub, run] : commands)
            if (*sub) return run();
    } catch (const stockade::Error& e) {
        std::fprintf(stderr, "stockade: %s\n", e.what());
        return kExitNo;
    }
    return kExitUsage;
}
