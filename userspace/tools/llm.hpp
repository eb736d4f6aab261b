// Model API calls seen as HTTP: Anthropic Messages, OpenAI Chat Completions and Responses, and any
// OpenAI-compatible server (recognised by the request path). From the request: provider, model
// and a digest of the prompt; from the response (one JSON document, or server-sent events as the
// APIs stream them): the token counts of the usage fields and the tools the model asked for.
// Bodies may be cut (the probe keeps the first bytes of long writes and a few reads of a
// response): what was not seen is said, never guessed. Nothing here throws.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "tools/http.hpp"

namespace stockade::tools {

enum class LlmApi { AnthropicMessages, OpenAiChat, OpenAiResponses };

struct LlmRequest {
    LlmApi api = LlmApi::AnthropicMessages;
    std::string provider;       // "anthropic", "openai" (api.openai.com) or "openai-compatible"
    std::string model;          // "" when the captured bytes do not name it
    bool stream = false;        // the request asked for server-sent events
    std::string prompt_sha256;  // of the body as captured
    bool truncated = false;     // the body was not seen whole (the digest is of what was)
};

// A POST whose path ends in /v1/messages, /chat/completions or /responses; nullopt otherwise.
// The model and stream flag are read from the top level of the JSON body even when it is cut.
std::optional<LlmRequest> parse_llm_request(const HttpRequest& req);

struct LlmToolUse {
    std::string id, name;
    std::string input;         // compact JSON, keys sorted ("{}" when the model sent none)
    std::string input_sha256;  // of `input`
    std::string command;       // shell tools: the command line asked for; else ""
};

struct LlmAnswer {
    std::string model;          // as the response names it
    int64_t tokens_in = -1;     // -1: no usage field seen
    int64_t tokens_out = -1;
    std::vector<LlmToolUse> tool_uses;
    bool complete = false;      // the end of the message was seen (message_stop, [DONE], response.completed)
    bool truncated = false;     // part of the body was not seen or did not parse
};

// The shell command a tool input asks for, for the shell tools of Claude Code (`Bash`: input
// `command`) and Codex (`shell`, `local_shell`: an argv list; `shell_command`: a string;
// `exec_command`: `cmd`); "" for other tools. An argv of the form [sh, -c|-lc, SCRIPT] is SCRIPT.
std::string shell_command_of(const std::string& tool, const std::string& input_json);

// The answer to `api` in one response (JSON, or an event stream, as its content type says).
LlmAnswer parse_llm_response(LlmApi api, const HttpResponse& resp);

// An event stream fed as it arrives (bytes may split anywhere).
class LlmEventStream {
public:
    explicit LlmEventStream(LlmApi api) : api_(api) {}
    void feed(std::string_view bytes);
    // Ends the stream: a partial event left over, or `cut` (bytes were lost), marks it truncated.
    LlmAnswer finish(bool cut);

private:
    struct Partial {  // a tool use whose input arrives in pieces
        std::string id, name, input;
        bool input_done = false;  // `input` is whole JSON already
    };
    void line(std::string_view text);
    void event(const std::string& data);
    void anthropic(const nlohmann::json& j);
    void chat(const nlohmann::json& j);
    void responses(const nlohmann::json& j);
    void add_item(const nlohmann::json& item);
    void close_partial(int index);

    LlmApi api_;
    std::string line_;  // the current line so far
    std::string data_;  // the current event's data lines
    std::map<int, Partial> partial_;
    LlmAnswer answer_;
};

}  // namespace stockade::tools
