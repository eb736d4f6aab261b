// Model calls: an HTTP request to a model API (tools::parse_llm_request) is, at its response,
// also an `llm` record: provider, model, tokens, a digest of the prompt, the tools the model
// asked for. Those tool uses are the intents (judge/intent.hpp) that later actions of the agent
// are matched against.
#include "judge/pipeline.hpp"

namespace stockade::judge {

namespace {

std::string api_name(tools::LlmApi api) {
    switch (api) {
    case tools::LlmApi::AnthropicMessages: return "messages";
    case tools::LlmApi::OpenAiChat: return "chat.completions";
    case tools::LlmApi::OpenAiResponses: return "responses";
    }
    return "";
}

std::string truncation(bool request, bool response) {
    if (request && response) return "request+response";
    return request ? "request" : response ? "response" : "";
}

// One line for `stockade tail`: "claude-x: 100 tokens in, 20 out; tool uses: Bash (toolu_1)".
std::string describe(const journal::Record& r, const tools::LlmAnswer& a) {
    auto count = [](int64_t n) { return n < 0 ? std::string("?") : std::to_string(n); };
    std::string s = r.provider + " " + (r.model.empty() ? std::string("(model not seen)") : r.model) + ": " +
                    count(r.tokens_in) + " tokens in, " + count(r.tokens_out) + " out";
    if (!a.tool_uses.empty()) {
        s += "; tool uses:";
        for (auto& t : a.tool_uses) s += " " + t.name + " (" + t.id + ")";
    }
    if (!r.truncated.empty())
        s += "; " + r.truncated + " not seen whole: counts and tool uses are those seen (a count not seen is left out)";
    if (!a.complete && r.truncated.empty()) s += "; the answer did not end (no final event)";
    return s;
}

}  // namespace

void Pipeline::journal_llm(const identity::Process& p, const PendingHttp& pend,
                           const journal::Record& http, const tools::HttpResponse& resp) {
    const tools::LlmRequest& req = *pend.llm;
    tools::LlmAnswer a = tools::parse_llm_response(req.api, resp);
    journal::Record r = http;  // the process, the endpoint (address, path), the status
    r.type = journal::RecordType::Llm;
    r.action = api_name(req.api);
    r.verdict = journal::Verdict::None;
    r.rule.clear();
    r.resolved.clear();
    r.grant.clear();
    r.provider = req.provider;
    r.model = req.model.empty() ? a.model : req.model;
    r.tokens_in = a.tokens_in;
    r.tokens_out = a.tokens_out;
    r.prompt_sha256 = req.prompt_sha256;
    r.prompt = pend.prompt;
    r.truncated = truncation(req.truncated, a.truncated);
    for (auto& t : a.tool_uses) r.tool_uses.push_back({t.id, t.name, t.input_sha256, t.command});
    r.detail = describe(r, a);
    act_.journal(r);

    auto& c = counters_[p.agent];
    c.llm.add("model calls");
    c.llm.add("calls " + r.provider + " " + (r.model.empty() ? "?" : r.model));
    if (r.tokens_in >= 0) c.llm.add("tokens in", static_cast<uint64_t>(r.tokens_in));
    if (r.tokens_out >= 0) c.llm.add("tokens out", static_cast<uint64_t>(r.tokens_out));
    if (!r.truncated.empty()) c.llm.add("model calls not seen whole");
    c.llm.add("tool uses requested", a.tool_uses.size());
    intents_.requested(p.agent, r.seq, a.tool_uses);
}

void Pipeline::mark_intent(journal::Record& r, const std::optional<Intent>& i, AgentCounters& c) const {
    if (i) {
        r.intent = i->tool_use_id;
        r.intent_seq = i->llm_seq;
        c.llm.add("actions with intent");
    } else {
        r.intent = "none";
        c.llm.add("actions without intent");
    }
}

void Pipeline::count_intent_denied(const journal::Record& r, const Verdict& v, AgentCounters& c) const {
    if (v.inside() || r.intent.empty()) return;
    c.llm.add(r.intent == "none" ? "actions without intent denied" : "actions with intent denied");
}

}  // namespace stockade::judge
