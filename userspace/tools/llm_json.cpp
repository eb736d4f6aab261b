#include "tools/llm_json.hpp"

namespace stockade::tools {

std::string json_string(const nlohmann::json& j, const char* key) {
    if (!j.is_object()) return "";
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

std::optional<int64_t> json_count(const nlohmann::json& j, const char* key) {
    if (!j.is_object()) return std::nullopt;
    auto it = j.find(key);
    if (it == j.end() || !it->is_number_integer()) return std::nullopt;
    int64_t n = it->get<int64_t>();
    return n >= 0 ? std::optional<int64_t>(n) : std::nullopt;
}

namespace {

// The end of the JSON string starting at text[at] == '"': the offset of its closing quote.
size_t string_end(std::string_view text, size_t at) {
    for (size_t i = at + 1; i < text.size(); ++i) {
        if (text[i] == '\\') ++i;
        else if (text[i] == '"') return i;
    }
    return std::string_view::npos;
}

size_t skip_space(std::string_view text, size_t i) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' || text[i] == '\n')) ++i;
    return i;
}

// The scalar value (string, number, true/false/null) at text[at], parsed; nullopt when cut.
std::optional<nlohmann::json> scalar_at(std::string_view text, size_t at) {
    size_t end;
    if (at >= text.size()) return std::nullopt;
    if (text[at] == '"') {
        end = string_end(text, at);
        if (end == std::string_view::npos) return std::nullopt;
        ++end;
    } else {
        end = text.find_first_of(",}] \t\r\n", at);
        if (end == std::string_view::npos) return std::nullopt;  // a number may go on
    }
    auto v = nlohmann::json::parse(text.substr(at, end - at), nullptr, false);
    if (v.is_discarded()) return std::nullopt;
    return v;
}

}  // namespace

// A walk over the text that tracks only strings and nesting: the keys of the outermost object are
// the strings met at depth 1 after '{' or ','.
std::optional<nlohmann::json> top_level_value(std::string_view text, std::string_view key) {
    size_t i = skip_space(text, 0);
    if (i >= text.size() || text[i] != '{') return std::nullopt;
    int depth = 0;
    bool expect_key = false;
    for (; i < text.size(); ++i) {
        char c = text[i];
        if (c == '"') {
            size_t end = string_end(text, i);
            if (end == std::string_view::npos) return std::nullopt;
            if (depth == 1 && expect_key) {
                expect_key = false;
                size_t colon = skip_space(text, end + 1);
                if (colon >= text.size() || text[colon] != ':') return std::nullopt;
                if (text.substr(i + 1, end - i - 1) == key) return scalar_at(text, skip_space(text, colon + 1));
                i = colon;
                continue;
            }
            i = end;
        } else if (c == '{' || c == '[') {
            ++depth;
            expect_key = depth == 1;
        } else if (c == '}' || c == ']') {
            if (--depth == 0) return std::nullopt;  // the object ended without the key
        } else if (c == ',' && depth == 1) {
            expect_key = true;
        }
    }
    return std::nullopt;
}

LlmToolUse chat_tool_call(const nlohmann::json& call) {
    std::string name, args;
    if (call.is_object() && call.contains("function")) {
        name = json_string(call["function"], "name");
        args = json_string(call["function"], "arguments");
    }
    return make_tool_use(json_string(call, "id"), name, args);
}

std::optional<LlmToolUse> responses_item(const nlohmann::json& item) {
    std::string type = json_string(item, "type");
    std::string id = json_string(item, "call_id");
    if (type == "function_call") return make_tool_use(id, json_string(item, "name"), json_string(item, "arguments"));
    if (type == "custom_tool_call") {
        nlohmann::json input = json_string(item, "input");  // free text: kept as a JSON string
        return make_tool_use(id, json_string(item, "name"), input.dump());
    }
    if (type == "local_shell_call" && item.contains("action"))
        return make_tool_use(id, "local_shell", item["action"].dump());
    return std::nullopt;
}

}  // namespace stockade::tools
