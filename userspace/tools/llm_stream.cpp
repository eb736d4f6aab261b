// Server-sent events of the model APIs, as they stream an answer:
//   Anthropic Messages: message_start (model, input tokens), content_block_start (a tool_use
//     block: id, name), content_block_delta (input_json_delta: pieces of its input),
//     content_block_stop, message_delta (output tokens, final), message_stop.
//   Chat Completions: chunks whose choices[].delta.tool_calls[] carry an index, then id and
//     name once, and pieces of `arguments`; the last chunk's `usage` (with
//     stream_options.include_usage); "[DONE]".
//   Responses: response.output_item.done (a whole tool-call item), response.completed (the
//     response with its usage and output).
#include <nlohmann/json.hpp>

#include "tools/llm.hpp"
#include "tools/llm_json.hpp"

namespace stockade::tools {

void LlmEventStream::feed(std::string_view bytes) {
    for (size_t nl; (nl = bytes.find('\n')) != std::string_view::npos; bytes.remove_prefix(nl + 1)) {
        line_.append(bytes.substr(0, nl));
        if (!line_.empty() && line_.back() == '\r') line_.pop_back();
        line(line_);
        line_.clear();
    }
    line_.append(bytes);
    if (line_.size() > kHttpBodyMax) {  // no event is this long: not an event stream
        line_.clear();
        answer_.truncated = true;
    }
}

// One line: "data: X" adds to the event, a blank line ends it; "event:", "id:" and comments
// (": ping") are not needed (the data says its type).
void LlmEventStream::line(std::string_view text) {
    if (text.empty()) {
        if (!data_.empty()) event(data_);
        data_.clear();
        return;
    }
    if (text.substr(0, 5) != "data:") return;
    text.remove_prefix(5);
    if (!text.empty() && text[0] == ' ') text.remove_prefix(1);
    if (!data_.empty()) data_ += '\n';
    data_.append(text);
}

void LlmEventStream::event(const std::string& data) {
    if (data == "[DONE]") {
        answer_.complete = true;
        return;
    }
    auto j = nlohmann::json::parse(data, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
        answer_.truncated = true;  // a cut event (bytes lost between reads)
        return;
    }
    switch (api_) {
    case LlmApi::AnthropicMessages: anthropic(j); break;
    case LlmApi::OpenAiChat: chat(j); break;
    case LlmApi::OpenAiResponses: responses(j); break;
    }
}

void LlmEventStream::anthropic(const nlohmann::json& j) {
    std::string type = json_string(j, "type");
    int index = json_count(j, "index").value_or(0);
    if (type == "message_start" && j.contains("message")) {
        const auto& m = j["message"];
        answer_.model = json_string(m, "model");
        // Its output_tokens is a placeholder (1): the count is message_delta's.
        if (m.contains("usage")) answer_.tokens_in = json_count(m["usage"], "input_tokens").value_or(-1);
    } else if (type == "content_block_start" && j.contains("content_block")) {
        const auto& b = j["content_block"];
        if (json_string(b, "type") != "tool_use") return;
        Partial p{json_string(b, "id"), json_string(b, "name"), "", false};
        if (b.contains("input") && b["input"].is_object() && !b["input"].empty()) {
            p.input = b["input"].dump();
            p.input_done = true;
        }
        partial_[index] = std::move(p);
    } else if (type == "content_block_delta" && j.contains("delta")) {
        auto it = partial_.find(index);
        if (it == partial_.end() || json_string(j["delta"], "type") != "input_json_delta") return;
        if (it->second.input_done) it->second.input.clear();
        it->second.input_done = false;
        it->second.input += json_string(j["delta"], "partial_json");
    } else if (type == "content_block_stop") {
        close_partial(index);
    } else if (type == "message_delta" && j.contains("usage")) {
        if (auto n = json_count(j["usage"], "input_tokens")) answer_.tokens_in = *n;
        if (auto n = json_count(j["usage"], "output_tokens")) answer_.tokens_out = *n;
    } else if (type == "message_stop") {
        answer_.complete = true;
    }
}

void LlmEventStream::chat(const nlohmann::json& j) {
    if (answer_.model.empty()) answer_.model = json_string(j, "model");
    if (j.contains("usage") && j["usage"].is_object()) {
        if (auto n = json_count(j["usage"], "prompt_tokens")) answer_.tokens_in = *n;
        if (auto n = json_count(j["usage"], "completion_tokens")) answer_.tokens_out = *n;
    }
    if (!j.contains("choices") || !j["choices"].is_array()) return;
    for (auto& c : j["choices"]) {
        if (!c.is_object() || !c.contains("delta") || !c["delta"].contains("tool_calls")) continue;
        int choice = json_count(c, "index").value_or(0);
        for (auto& call : c["delta"]["tool_calls"]) {
            // One key per (choice, call): calls stream interleaved by index.
            Partial& p = partial_[choice * 1024 + json_count(call, "index").value_or(0)];
            if (auto id = json_string(call, "id"); !id.empty()) p.id = id;
            if (!call.contains("function")) continue;
            if (auto name = json_string(call["function"], "name"); !name.empty()) p.name = name;
            p.input += json_string(call["function"], "arguments");
        }
    }
}

void LlmEventStream::responses(const nlohmann::json& j) {
    std::string type = json_string(j, "type");
    if (type == "response.output_item.done" && j.contains("item")) {
        add_item(j["item"]);
        return;
    }
    if (!j.contains("response") || !j["response"].is_object()) return;
    const auto& r = j["response"];
    if (auto m = json_string(r, "model"); !m.empty()) answer_.model = m;
    if (type != "response.completed" && type != "response.incomplete" && type != "response.failed") return;
    answer_.complete = true;
    if (r.contains("usage") && r["usage"].is_object()) {
        if (auto n = json_count(r["usage"], "input_tokens")) answer_.tokens_in = *n;
        if (auto n = json_count(r["usage"], "output_tokens")) answer_.tokens_out = *n;
    }
    if (r.contains("output") && r["output"].is_array())
        for (auto& item : r["output"]) add_item(item);  // those whose output_item.done was lost
}

// A tool call, unless one with its id is there already.
void LlmEventStream::add_item(const nlohmann::json& item) {
    auto t = responses_item(item);
    if (!t) return;
    for (auto& have : answer_.tool_uses)
        if (have.id == t->id) return;
    answer_.tool_uses.push_back(std::move(*t));
}

void LlmEventStream::close_partial(int index) {
    auto it = partial_.find(index);
    if (it == partial_.end()) return;
    LlmToolUse t = make_tool_use(it->second.id, it->second.name, it->second.input);
    if (!it->second.input.empty() && nlohmann::json::parse(it->second.input, nullptr, false).is_discarded())
        answer_.truncated = true;  // its input was cut
    answer_.tool_uses.push_back(std::move(t));
    partial_.erase(it);
}

LlmAnswer LlmEventStream::finish(bool cut) {
    if (!line_.empty()) line(line_);
    line_.clear();
    if (!data_.empty()) event(data_);  // the last event without its blank line
    data_.clear();
    while (!partial_.empty()) close_partial(partial_.begin()->first);  // Chat's calls; cut Anthropic blocks
    if (cut) answer_.truncated = true;
    return std::move(answer_);
}

}  // namespace stockade::tools
