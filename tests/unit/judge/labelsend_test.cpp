// A labelled process's send on a socket connected before its label (bpf/labelsend.bpf.h): the
// kernel's record (SK_SEND, no descriptor, the sequence's rule) journaled with the label's chain.
#include "harness.hpp"

namespace {

const std::string kSequence =
    "sequences:\n  - name: creds-then-net\n    after: { read: [\"/nonexistent-stockade/repo/creds.txt\"] }\n"
    "    forbid:\n      connect: any\n";
constexpr uint32_t kSeqRule = 77;

// The label the kernel passed through a pipe (SK_LABEL), as probe/record.cpp decodes it.
Event pipe_label() {
    Event e = base_event(Action::Label);
    e.path = "pipe:[81234]";
    e.target_pid = 4242;
    e.kernel_rule = kSeqRule;
    return e;
}

// The kernel's record of the send: to a destination network.connect allows, on no descriptor.
Event send_on_connected(bool killed) {
    Event e = connect_event("127.0.0.1", 8000);
    e.action = Action::Send;
    e.fd = -1;
    e.kernel_rule = kSeqRule;
    if (killed) e.kernel_action = KernelAction::Killed;
    return e;
}

}  // namespace

TEST_CASE("a labelled send the kernel killed is journaled with its sequence and chain", "[pipeline][labelsend]") {
    Harness h(boundary_yaml("enforce", "kill", "summary") + kSequence);
    h.kernel_rules[kSeqRule] = "coder.yaml:creds-then-net";
    h.pipe.on_event(pipe_label());
    REQUIRE(h.journal.size() == 1);
    CHECK(h.journal[0].type == journal::RecordType::Label);

    h.pipe.on_event(send_on_connected(true));
    REQUIRE(h.journal.size() == 2);
    const auto& r = h.journal[1];
    CHECK(r.action == "send");
    CHECK(r.verdict == journal::Verdict::Kill);
    CHECK(r.enforcement == journal::Enforcement::KilledInKernel);
    CHECK(r.rule == "coder.yaml:creds-then-net");
    CHECK(r.address == "127.0.0.1");
    CHECK(r.port == 8000);
    CHECK(r.detail.rfind("chain: 1) label via pipe:[81234] written by pid 4242 at ", 0) == 0);
    CHECK(r.detail.find("(journal seq 1, hash ") != std::string::npos);
    CHECK(h.kills.empty());  // the kernel killed it: the daemon does not kill again
}

TEST_CASE("a labelled send in monitor mode is journaled would-deny, nothing killed", "[pipeline][labelsend]") {
    Harness h(boundary_yaml("monitor", "kill", "summary") + kSequence);
    h.kernel_rules[kSeqRule] = "coder.yaml:creds-then-net";
    h.pipe.on_event(pipe_label());
    h.pipe.on_event(send_on_connected(false));
    REQUIRE(h.journal.size() == 2);
    CHECK(h.journal[1].verdict == journal::Verdict::WouldDeny);
    CHECK(h.journal[1].rule == "coder.yaml:creds-then-net");
    CHECK(h.journal[1].detail.find("chain: 1) label via pipe:[81234]") == 0);
    CHECK(h.kills.empty());
}

TEST_CASE("an unlabelled process's send is no sequence violation", "[pipeline][labelsend]") {
    Harness h(boundary_yaml("enforce", "kill", "summary") + kSequence);
    h.kernel_rules[kSeqRule] = "coder.yaml:creds-then-net";
    h.pipe.on_event(send_on_connected(false));
    CHECK(h.journal.empty());  // allowed by network.connect, summarised
    CHECK(h.kills.empty());
}
