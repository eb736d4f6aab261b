#include "journal/kinds.hpp"

#include "common/error.hpp"
#include "common/verdict.hpp"

namespace stockade::journal {

namespace {

// Each value's stored text, indexed by the enum. These strings are in journals on disk: never
// change one (a line would no longer verify); add new values at the end.
constexpr std::string_view kTypes[] = {"decision", "tool",    "label",  "repeat", "lost",    "torn",
                                       "summary",  "grant",   "daemon", "llm",    "approval"};
constexpr std::string_view kVerdicts[] = {"", "allow", "flag", "deny", "kill", "would-deny", "ask"};
constexpr std::string_view kEnforcements[] = {
    "",
    "denied-in-kernel",
    "refused-in-kernel",
    "killed-in-kernel",
    "killed-by-daemon",
    "killed-while-held",
    "agent-killed-by-daemon",
    "agent-killed-while-held",
    "already-killed",
    "exited-before-kill",
    "kill-failed",
    "held-for-approval",
    "refused-while-held",
    "refused-by-daemon",
    "released-by-approver",
    "approved",
    "ended-while-held",
    "server-killed-in-kernel",
    "server-stopped-in-kernel",
    "server-killed-while-held",
    "server-killed-by-daemon",
    "refused-before-syscall",
};
static_assert(std::size(kTypes) == size_t(RecordType::Approval) + 1);
static_assert(std::size(kVerdicts) == size_t(Verdict::Ask) + 1);
static_assert(std::size(kEnforcements) == size_t(Enforcement::RefusedBeforeSyscall) + 1);

template <class E, size_t N>
std::optional<E> find(const std::string_view (&names)[N], std::string_view text) {
    for (size_t i = 0; i < N; ++i)
        if (names[i] == text) return static_cast<E>(i);
    return std::nullopt;
}

constexpr std::string_view kSeparator = ", ";

}  // namespace

void Enforcements::add(Enforcement step) {
    if (step == Enforcement::None) return;
    if (size_ == kMaxSteps) throw Error("an enforcement holds at most " + std::to_string(kMaxSteps) + " steps");
    steps_[size_++] = step;
}

bool Enforcements::has(Enforcement step) const {
    for (Enforcement s : *this)
        if (s == step) return true;
    return false;
}

Verdict verdict_of(Decision d) {
    switch (d) {
    case Decision::Allow: return Verdict::Allow;
    case Decision::Flag: return Verdict::Flag;
    case Decision::Deny: return Verdict::Deny;
    case Decision::Kill: return Verdict::Kill;
    case Decision::WouldDeny: return Verdict::WouldDeny;
    }
    throw Error("no journal verdict for decision " + std::to_string(static_cast<int>(d)));
}

std::string_view to_string(RecordType t) { return kTypes[static_cast<size_t>(t)]; }
std::string_view to_string(Verdict v) { return kVerdicts[static_cast<size_t>(v)]; }
std::string_view to_string(Enforcement e) { return kEnforcements[static_cast<size_t>(e)]; }

std::string to_string(const Enforcements& e) {
    std::string out;
    for (Enforcement s : e) {
        if (!out.empty()) out += kSeparator;
        out += to_string(s);
    }
    return out;
}

std::optional<RecordType> record_type_from(std::string_view text) { return find<RecordType>(kTypes, text); }
std::optional<Verdict> verdict_from(std::string_view text) { return find<Verdict>(kVerdicts, text); }

std::optional<Enforcement> enforcement_from(std::string_view text) {
    if (text.empty()) return std::nullopt;  // None is no step
    return find<Enforcement>(kEnforcements, text);
}

Enforcements enforcements_from(std::string_view text) {
    Enforcements out;
    while (!text.empty()) {
        size_t sep = text.find(kSeparator);
        std::string_view step = text.substr(0, sep);
        auto e = enforcement_from(step);
        if (!e) throw Error("unknown enforcement step \"" + std::string(step) + "\"");
        out.add(*e);
        text = sep == std::string_view::npos ? std::string_view() : text.substr(sep + kSeparator.size());
        if (sep != std::string_view::npos && text.empty()) throw Error("enforcement ends with \", \"");
    }
    return out;
}

}  // namespace stockade::journal
