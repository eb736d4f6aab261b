// Model API requests, one-document responses, and the shape of a tool use (see llm.hpp). The
// event streams are in llm_stream.cpp.
#include "tools/llm.hpp"

#include <nlohmann/json.hpp>

#include "common/digest.hpp"
#include "tools/http_connection.hpp"
#include "tools/llm_json.hpp"

namespace stockade::tools {

namespace {

bool ends_with(std::string_view s, std::string_view tail) {
    return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// An argv as one command line: [sh, -c, SCRIPT] is SCRIPT; otherwise the words, each quoted for
// the shell when it needs it.
std::string command_line_of(const nlohmann::json& argv) {
    std::vector<std::string> words;
    for (auto& w : argv)
        if (w.is_string()) words.push_back(w.get<std::string>());
    if (words.size() >= 3) {
        std::string shell = words[0].substr(words[0].rfind('/') + 1);
        bool is_shell = shell == "bash" || shell == "sh" || shell == "zsh" || shell == "dash";
        const std::string& flag = words[words.size() - 2];
        if (is_shell && flag.size() >= 2 && flag[0] == '-' && flag.back() == 'c') return words.back();
    }
    std::string out;
    for (auto& w : words) {
        bool plain = !w.empty() && w.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                       "0123456789_./=:,@%+-") == std::string::npos;
        std::string quoted = "'";
        for (char c : w) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
        out += (out.empty() ? "" : " ") + (plain ? w : quoted + "'");
    }
    return out;
}

LlmToolUse tool_use_of(const nlohmann::json& block) {
    return make_tool_use(json_string(block, "id"), json_string(block, "name"),
                         block.contains("input") ? block["input"].dump() : "{}");
}

void read_usage(LlmAnswer& a, const nlohmann::json& j, const char* in, const char* out) {
    if (!j.is_object() || !j.contains("usage")) return;
    const auto& u = j["usage"];
    if (auto n = json_count(u, in)) a.tokens_in = *n;
    if (auto n = json_count(u, out)) a.tokens_out = *n;
}

}  // namespace

std::optional<LlmRequest> parse_llm_request(const HttpRequest& req) {
    if (req.method != "POST") return std::nullopt;
    std::string path = path_of(req.target);
    LlmRequest r;
    bool openai_host = req.host == "api.openai.com";
    if (ends_with(path, "/v1/messages")) {
        r.api = LlmApi::AnthropicMessages;
        r.provider = "anthropic";
    } else if (ends_with(path, "/chat/completions")) {
        r.api = LlmApi::OpenAiChat;
        r.provider = openai_host ? "openai" : "openai-compatible";
    } else if (ends_with(path, "/responses")) {
        r.api = LlmApi::OpenAiResponses;
        r.provider = openai_host ? "openai" : "openai-compatible";
    } else {
        return std::nullopt;
    }
    if (auto m = top_level_value(req.body, "model"); m && m->is_string()) r.model = m->get<std::string>();
    if (auto s = top_level_value(req.body, "stream"); s && s->is_boolean()) r.stream = s->get<bool>();
    r.prompt_sha256 = sha256_hex(req.body);
    r.truncated = req.body_truncated;
    return r;
}

LlmToolUse make_tool_use(std::string id, std::string name, const std::string& input_text) {
    LlmToolUse t;
    t.id = std::move(id);
    t.name = std::move(name);
    auto j = nlohmann::json::parse(input_text.empty() ? std::string("{}") : input_text, nullptr, false);
    t.input = j.is_discarded() ? input_text : j.dump();  // nlohmann's objects keep keys sorted
    t.input_sha256 = sha256_hex(t.input);
    t.command = shell_command_of(t.name, t.input);
    return t;
}

std::string shell_command_of(const std::string& tool, const std::string& input_json) {
    auto j = nlohmann::json::parse(input_json, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return "";
    const char* key = tool == "exec_command" ? "cmd" : "command";
    if (tool != "Bash" && tool != "shell" && tool != "shell_command" && tool != "local_shell" &&
        tool != "exec_command" && tool != "container.exec")
        return "";
    if (!j.contains(key)) return "";
    const auto& c = j[key];
    if (c.is_string()) return c.get<std::string>();
    if (c.is_array()) return command_line_of(c);
    return "";
}

LlmAnswer parse_llm_response(LlmApi api, const HttpResponse& resp) {
    if (resp.content_type == "text/event-stream") {
        LlmEventStream s(api);
        s.feed(resp.body);
        return s.finish(resp.body_truncated);
    }
    LlmAnswer a;
    a.truncated = resp.body_truncated;
    auto j = nlohmann::json::parse(resp.body, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
        a.truncated = a.truncated || !resp.body.empty();
        return a;
    }
    a.model = json_string(j, "model");
    a.complete = !resp.body_truncated;
    if (api == LlmApi::AnthropicMessages) {
        read_usage(a, j, "input_tokens", "output_tokens");
        if (j.contains("content") && j["content"].is_array())
            for (auto& b : j["content"])
                if (json_string(b, "type") == "tool_use") a.tool_uses.push_back(tool_use_of(b));
    } else if (api == LlmApi::OpenAiChat) {
        read_usage(a, j, "prompt_tokens", "completion_tokens");
        if (j.contains("choices") && j["choices"].is_array())
            for (auto& c : j["choices"]) {
                if (!c.is_object() || !c.contains("message") || !c["message"].is_object()) continue;
                const auto& m = c["message"];
                if (m.contains("tool_calls") && m["tool_calls"].is_array())
                    for (auto& call : m["tool_calls"]) a.tool_uses.push_back(chat_tool_call(call));
            }
    } else {
        read_usage(a, j, "input_tokens", "output_tokens");
        if (j.contains("output") && j["output"].is_array())
            for (auto& item : j["output"])
                if (auto t = responses_item(item)) a.tool_uses.push_back(*t);
    }
    return a;
}

}  // namespace stockade::tools
