#include <signal.h>
#include <unistd.h>

#include <cstdio>

#include "cli/commands.hpp"
#include "common/error.hpp"
#include "journal/format.hpp"
#include "journal/json.hpp"
#include "journal/reader.hpp"
#include "journal/timefmt.hpp"

namespace stockade::cli {

namespace {
volatile sig_atomic_t g_stop = 0;
}

int cmd_tail(const TailOptions& o) {
    journal::Filter f;
    f.agent = o.agent;
    f.task = o.task;
    if (o.verdict) {
        f.verdict = journal::verdict_from(*o.verdict);
        if (!f.verdict || *f.verdict == journal::Verdict::None)
            throw Error("--verdict " + *o.verdict + ": not a verdict (allow, flag, deny, kill, would-deny, ask)");
    }
    if (o.since) f.since = journal::parse_since(*o.since);
    bool color = o.color.value_or(isatty(STDOUT_FILENO) != 0);
    auto print = [&](const journal::Record& r) {
        std::string line = o.json ? journal::to_json_line(r) : journal::format_text(r, color);
        std::fwrite(line.data(), 1, line.size(), stdout);
        std::fputc('\n', stdout);
        std::fflush(stdout);
        return true;
    };
    auto last = journal::read_last(o.journal, o.lines, f);
    for (auto& r : last) print(r);
    if (!o.follow) return kExitOk;
    signal(SIGINT, [](int) { g_stop = 1; });
    signal(SIGTERM, [](int) { g_stop = 1; });
    signal(SIGPIPE, [](int) { g_stop = 1; });
    // Continue after the newest record of the journal, whether or not it passed the filter.
    auto newest = journal::read_last(o.journal, 1, journal::Filter{});
    std::optional<uint64_t> after = newest.empty() ? 0 : newest.back().seq;
    journal::follow(o.journal, f, print, [] { return !g_stop; }, after);
    return kExitOk;
}

}  // namespace stockade::cli
