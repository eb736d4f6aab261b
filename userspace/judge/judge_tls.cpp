// TLS beyond the plaintext: which TLS stacks stockade saw each agent use, and a ClientHello the
// kernel reported because none of the process's TLS stacks is probed (tools.http_unseen_tls,
// "builtin:unseen-tls"): the requests over that connection cannot be judged.
#include "judge/pipeline.hpp"
#include "tools/tls_hello.hpp"

namespace stockade::judge {

namespace {

std::string stack_name(uint32_t stack) {
    switch (stack) {
    case SK_STACK_OPENSSL: return "openssl";
    case SK_STACK_GO: return "go crypto/tls";
    default: return "stack " + std::to_string(stack);
    }
}

}  // namespace

void Pipeline::count_tls_stack(const Event& e, AgentCounters& c) {
    if (e.tls_stack) c.tls_stacks.add(stack_name(e.tls_stack));
}

void Pipeline::judge_unseen_tls(const Event& e, const identity::Process& p, const policy::Boundary& b) {
    auto& c = counters_[p.agent];
    c.tls_stacks.add(kUnseenTls);
    if (b.http_tools.empty() || b.unseen_tls == policy::UnseenTls::Allow) return;  // reloaded since
    journal::Record r = record_for(e, p);
    r.type = journal::RecordType::Tool;
    r.action = "tls-handshake";
    r.hostname = tools::tls_server_name(e.io_data);
    r.path = "";
    r.access = "";
    r.detail = "TLS ClientHello" + (r.hostname.empty() ? std::string() : " for " + r.hostname) +
               " from a TLS stack stockade does not probe: requests over this connection are not seen";
    Verdict v;
    v.rule_id = "builtin:unseen-tls";
    v.on_violation = b.on_violation;
    if (b.unseen_tls == policy::UnseenTls::Deny) {
        v.decision = policy::violation_for(b);
        v.resolved = "tools.http_unseen_tls: deny";
    } else {
        v.decision = Decision::Flag;
        v.resolved = "tools.http_unseen_tls: flag";
    }
    if (e.kernel_action == KernelAction::Killed) {
        v.decision = Decision::Kill;
        r.detail += "; killed at the exit of the write: the hello left, the handshake never completed";
    }
    Judged j{e, p, b, v, std::move(r)};
    conclusion_.conclude(j);
}

}  // namespace stockade::judge
