#include <cstdio>

#include "cli/commands.hpp"
#include "enforce/kernel_plan.hpp"
#include "enforce/stop_timing.hpp"
#include "journal/verify.hpp"
#include "policy/policy.hpp"

namespace stockade::cli {
namespace {

// The kernel plan of a loaded set, as the daemon would make it (on this host's files): its
// problems are what the daemon would refuse the set for; each agent's stop timing is printed.
bool check_kernel_plan(const policy::PolicySet& set, bool quiet) {
    enforce::PlanInput in;
    in.set = &set;
    uint32_t id = 1;
    for (auto& b : set.agents()) in.ids[b->name] = id++;
    enforce::RuleNumbers rules;
    auto plan = enforce::plan_kernel_tables(in, rules);
    enforce::check_capacity(plan, enforce::KernelCapacity{});
    for (auto& problem : plan.problems) std::fprintf(stderr, "error: the kernel tables cannot hold this: %s\n", problem.c_str());
    if (!plan.problems.empty() || quiet) return plan.problems.empty();
    for (auto& b : set.agents())
        for (auto& k : plan.agents)
            if (k.agent == b->name && k.agent_id == in.ids[b->name])
                std::printf("%s: a violation is stopped\n%s", b->name.c_str(),
                            enforce::format_stop_timing(enforce::stop_timing(*b, k), "  ").c_str());
    return true;
}

}  // namespace

int cmd_check(const std::vector<std::string>& paths, bool quiet) {
    auto res = policy::load_boundaries(paths);
    auto text = policy::format_diagnostics(res.diagnostics, res.files);
    if (!quiet || !res.ok()) std::fputs(text.c_str(), res.ok() ? stdout : stderr);
    if (!text.empty() && text.back() != '\n') std::fputc('\n', res.ok() ? stdout : stderr);
    if (!res.ok()) return kExitNo;
    return check_kernel_plan(*res.set, quiet) ? kExitOk : kExitNo;
}

int cmd_verify(const std::string& journal) {
    auto r = journal::verify(journal);
    for (auto& n : r.notes) std::printf("note: %s\n", n.c_str());
    if (r.ok) {
        std::printf("ok: %llu records in %llu file(s), seq %llu..%llu, chain head %s\n",
                    (unsigned long long)r.records, (unsigned long long)r.files, (unsigned long long)r.first_seq,
                    (unsigned long long)r.last_seq, r.last_hash.c_str());
        return kExitOk;
    }
    const auto& b = *r.broken;
    std::fprintf(stderr, "BROKEN: %s:%llu (seq %llu): %s\n", b.file.c_str(), (unsigned long long)b.line,
                 (unsigned long long)b.seq, b.why.c_str());
    return kExitNo;
}

}  // namespace stockade::cli
