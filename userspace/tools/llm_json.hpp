// Helpers shared by the model API decoders (llm.cpp, llm_stream.cpp): tolerant reads of JSON
// values, and the tool-use shapes the APIs have in common.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "tools/llm.hpp"

namespace stockade::tools {

// j[key] when j is an object holding a string there, else "".
std::string json_string(const nlohmann::json& j, const char* key);
// j[key] when it is a non-negative integer, else nullopt.
std::optional<int64_t> json_count(const nlohmann::json& j, const char* key);
// The value of a top-level key of a JSON object whose text may be cut anywhere after that value
// (a request body the probe kept the first bytes of). nullopt when not found whole.
std::optional<nlohmann::json> top_level_value(std::string_view text, std::string_view key);

// A tool use from its parts; `input_text` is JSON (a cut one is kept as it is).
LlmToolUse make_tool_use(std::string id, std::string name, const std::string& input_text);
// Chat Completions: {"id", "function": {"name", "arguments": "<JSON text>"}}.
LlmToolUse chat_tool_call(const nlohmann::json& call);
// Responses: an output item that calls a tool (function_call, custom_tool_call,
// local_shell_call), else nullopt.
std::optional<LlmToolUse> responses_item(const nlohmann::json& item);

}  // namespace stockade::tools
