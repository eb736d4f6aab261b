// The closed lists a journal record's `type`, `verdict` and `enforcement` hold. They are enums in
// memory and text only in a stored line (json.cpp, format.cpp, journald.cpp): the text of each
// value is what journals have always held, so old journals read back and verify unchanged. A
// line naming a value not listed here does not parse (from_string throws, naming the field).
// docs/journal-format.md lists the same values.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

namespace stockade {
enum class Decision : uint8_t;  // common/verdict.hpp
}

namespace stockade::journal {

enum class RecordType : uint8_t {
    Decision,  // an action judged (the default)
    Tool,      // an MCP tool call or an HTTP request judged
    Label,     // an allowed action that began a sequence
    Repeat,    // violations past the repeat limit, counted
    Lost,      // kernel events lost
    Torn,      // a torn journal tail set aside
    Summary,   // allowed actions counted
    Grant,     // a task begun or expired, a grant first used
    Daemon,    // start, stop, reload
    Llm,       // a model API call
    Approval,  // on_violation: ask: a held action approved, denied, or moot
};

enum class Verdict : uint8_t {
    None,  // no verdict: journal facts (lost, torn, daemon, llm ...); stored as ""
    Allow,
    Flag,
    Deny,
    Kill,
    WouldDeny,  // monitor mode: what enforce would have done
    Ask,        // held, waiting for a person (on_violation: ask)
};

// One step of what was done about a violation. A record's enforcement is a short list of steps
// (Enforcements), e.g. the kernel killed the process, then the daemon killed its agent.
enum class Enforcement : uint8_t {
    None,  // never in a list; not stored
    DeniedInKernel,
    RefusedInKernel,
    KilledInKernel,
    KilledByDaemon,
    KilledWhileHeld,
    AgentKilledByDaemon,
    AgentKilledWhileHeld,
    AlreadyKilled,     // an earlier violation's kill of the process was under way or done
    ExitedBeforeKill,  // the process was gone when the daemon's kill came
    KillFailed,
    HeldForApproval,
    RefusedWhileHeld,
    RefusedByDaemon,
    ReleasedByApprover,
    Approved,        // approved, but the process could not be released (see detail)
    EndedWhileHeld,  // the process ended while its action waited for approval
    ServerKilledInKernel,
    ServerStoppedInKernel,
    ServerKilledWhileHeld,
    ServerKilledByDaemon,
    RefusedBeforeSyscall,  // a launched agent's syscall failed at the daemon's word before it ran (seccomp)
};

// The enforcement of one record: its steps in the order they were taken, stored joined by ", "
// ("killed-in-kernel, agent-killed-by-daemon"). Empty: nothing enforced.
class Enforcements {
public:
    static constexpr size_t kMaxSteps = 4;
    Enforcements() = default;
    Enforcements(Enforcement step) { add(step); }  // NOLINT: one step is an enforcement
    Enforcements(std::initializer_list<Enforcement> steps) {
        for (Enforcement s : steps) add(s);
    }
    void add(Enforcement step);  // ignores None; throws stockade::Error past kMaxSteps
    void clear() { *this = Enforcements(); }
    bool empty() const { return size_ == 0; }
    size_t size() const { return size_; }
    bool has(Enforcement step) const;
    const Enforcement* begin() const { return steps_.data(); }
    const Enforcement* end() const { return steps_.data() + size_; }
    bool operator==(const Enforcements&) const = default;

private:
    std::array<Enforcement, kMaxSteps> steps_{};
    uint8_t size_ = 0;
};

// The verdict a policy decision is journaled as.
Verdict verdict_of(Decision d);

std::string_view to_string(RecordType t);
std::string_view to_string(Verdict v);
std::string_view to_string(Enforcement e);
std::string to_string(const Enforcements& e);

// The value a stored text names; std::nullopt for text no journal has held.
std::optional<RecordType> record_type_from(std::string_view text);
std::optional<Verdict> verdict_from(std::string_view text);
std::optional<Enforcement> enforcement_from(std::string_view text);
// Throws stockade::Error naming the step that is not known.
Enforcements enforcements_from(std::string_view text);

}  // namespace stockade::journal
