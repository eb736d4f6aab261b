// Model API calls: the request's provider, model and prompt digest (also from a cut body), and
// the answer's token counts and tool uses, from one JSON document or from server-sent events fed
// in pieces split anywhere (as the probe's reads split them), in the shapes the APIs send.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "common/digest.hpp"
#include "tools/http_connection.hpp"
#include "tools/llm.hpp"

using namespace stockade::tools;

namespace {

HttpRequest post(const std::string& target, const std::string& body, const std::string& host = "127.0.0.1") {
    HttpRequest r;
    r.method = "POST";
    r.target = target;
    r.host = host;
    r.content_type = "application/json";
    r.body = body;
    r.body_size = body.size();
    return r;
}

std::string sse(const std::string& event, const std::string& data) { return "event: " + event + "\ndata: " + data + "\n\n"; }

// An Anthropic stream as the API sends it (and fake_anthropic.py): a text block, then a Bash
// tool_use whose input arrives in two input_json_delta pieces.
std::string anthropic_stream() {
    return sse("message_start",
               R"({"type":"message_start","message":{"id":"msg_01","type":"message","role":"assistant",)"
               R"("model":"claude-sonnet-4-5","content":[],"stop_reason":null,"usage":{"input_tokens":1234,)"
               R"("cache_read_input_tokens":0,"output_tokens":1}}})") +
           sse("ping", R"({"type": "ping"})") +
           sse("content_block_start",
               R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})") +
           sse("content_block_delta",
               R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Let me run it."}})") +
           sse("content_block_stop", R"({"type":"content_block_stop","index":0})") +
           sse("content_block_start",
               R"({"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_01A",)"
               R"("name":"Bash","input":{}}})") +
           sse("content_block_delta",
               R"({"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta",)"
               R"("partial_json":"{\"command\": \"git commit -q -am 'Fix add'\", \"desc"}})") +
           sse("content_block_delta",
               R"({"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta",)"
               R"("partial_json":"ription\": \"commit\"}"}})") +
           sse("content_block_stop", R"({"type":"content_block_stop","index":1})") +
           sse("message_delta",
               R"({"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":87}})") +
           sse("message_stop", R"({"type":"message_stop"})");
}

LlmAnswer feed_in_pieces(LlmApi api, const std::string& text, size_t piece, bool cut = false) {
    LlmEventStream s(api);
    for (size_t at = 0; at < text.size(); at += piece) s.feed(std::string_view(text).substr(at, piece));
    return s.finish(cut);
}

}  // namespace

TEST_CASE("model API requests are recognised by path, with provider, model and prompt digest", "[llm]") {
    std::string body = R"({"model":"claude-sonnet-4-5","max_tokens":32000,"messages":[{"role":"user","content":"hi"}],"stream":true})";
    auto a = parse_llm_request(post("/v1/messages?beta=true", body));
    REQUIRE(a);
    CHECK(a->api == LlmApi::AnthropicMessages);
    CHECK(a->provider == "anthropic");
    CHECK(a->model == "claude-sonnet-4-5");
    CHECK(a->stream);
    CHECK(a->prompt_sha256 == stockade::sha256_hex(body));
    CHECK_FALSE(a->truncated);

    auto c = parse_llm_request(post("/v1/chat/completions", R"({"messages":[],"model":"gpt-4o"})", "api.openai.com"));
    REQUIRE(c);
    CHECK(c->api == LlmApi::OpenAiChat);
    CHECK(c->provider == "openai");
    CHECK(c->model == "gpt-4o");
    CHECK_FALSE(c->stream);

    auto r = parse_llm_request(post("/api/v1/responses", R"({"model":"qwen3","input":[]})", "llm.internal"));
    REQUIRE(r);
    CHECK(r->api == LlmApi::OpenAiResponses);
    CHECK(r->provider == "openai-compatible");

    CHECK_FALSE(parse_llm_request(post("/v1/messages/count_tokens", body)));
    CHECK_FALSE(parse_llm_request(post("/v1/items", body)));
    HttpRequest get = post("/v1/messages", "");
    get.method = "GET";
    CHECK_FALSE(parse_llm_request(get));
}

TEST_CASE("a cut request body still names its model; a key only inside the messages does not count", "[llm]") {
    std::string body = R"({"messages":[{"role":"user","content":"say \"model\": \"evil\", {"}],"model":"claude-haiku-4-5","system":"You are)";
    HttpRequest req = post("/v1/messages", body);
    req.body_truncated = true;
    auto a = parse_llm_request(req);
    REQUIRE(a);
    CHECK(a->model == "claude-haiku-4-5");
    CHECK(a->truncated);
    // Cut before the model's value ends: not named.
    HttpRequest cut = post("/v1/messages", R"({"messages":[],"model":"claude-hai)");
    CHECK(parse_llm_request(cut)->model.empty());
    // Nested "model" keys are not the request's.
    CHECK(parse_llm_request(post("/v1/messages", R"({"metadata":{"model":"x"},"messages":[]})"))->model.empty());
}

TEST_CASE("an Anthropic stream split anywhere gives the same tokens and tool use", "[llm][sse]") {
    std::string text = anthropic_stream();
    for (size_t piece : {size_t(1), size_t(7), size_t(100), size_t(2048), text.size()}) {
        INFO("pieces of " << piece << " bytes");
        LlmAnswer a = feed_in_pieces(LlmApi::AnthropicMessages, text, piece);
        CHECK(a.complete);
        CHECK_FALSE(a.truncated);
        CHECK(a.model == "claude-sonnet-4-5");
        CHECK(a.tokens_in == 1234);
        CHECK(a.tokens_out == 87);  // message_delta's, not message_start's placeholder
        REQUIRE(a.tool_uses.size() == 1);
        CHECK(a.tool_uses[0].id == "toolu_01A");
        CHECK(a.tool_uses[0].name == "Bash");
        CHECK(a.tool_uses[0].command == "git commit -q -am 'Fix add'");
        CHECK(a.tool_uses[0].input == R"({"command":"git commit -q -am 'Fix add'","description":"commit"})");
        CHECK(a.tool_uses[0].input_sha256 == stockade::sha256_hex(a.tool_uses[0].input));
    }
}

TEST_CASE("an Anthropic stream whose end was lost has no output count, and says it was cut", "[llm][sse]") {
    std::string text = anthropic_stream();
    std::string head = text.substr(0, text.find("event: message_delta") + 30);  // in the middle of message_delta
    LlmAnswer a = feed_in_pieces(LlmApi::AnthropicMessages, head, 512, true);
    CHECK(a.truncated);
    CHECK_FALSE(a.complete);
    CHECK(a.tokens_in == 1234);
    CHECK(a.tokens_out == -1);  // the placeholder of message_start is not a count
    REQUIRE(a.tool_uses.size() == 1);
    CHECK(a.tool_uses[0].command == "git commit -q -am 'Fix add'");
    // Cut inside the tool's input: the tool use is kept with what there is, marked cut.
    std::string mid = text.substr(0, text.find("ription"));
    LlmAnswer b = feed_in_pieces(LlmApi::AnthropicMessages, mid, 3, true);
    CHECK(b.truncated);
    REQUIRE(b.tool_uses.size() == 1);
    CHECK(b.tool_uses[0].id == "toolu_01A");
    CHECK(b.tool_uses[0].command.empty());  // never a guess
}

TEST_CASE("a Responses stream (as Codex reads it) gives usage from response.completed and shell calls", "[llm][sse]") {
    std::string item = R"({"type":"function_call","id":"fc_1","call_id":"call_7","name":"shell",)"
                       R"("arguments":"{\"command\":[\"bash\",\"-lc\",\"ls -la\"],\"workdir\":\"/w\"}","status":"completed"})";
    std::string local = R"({"type":"local_shell_call","call_id":"call_8","action":{"type":"exec","command":["git","commit","-m","a b"]}})";
    std::string text =
        sse("response.created", R"({"type":"response.created","response":{"id":"resp_1","model":"gpt-5-codex","output":[]}})") +
        sse("response.output_item.added", R"({"type":"response.output_item.added","output_index":0,"item":{"type":"function_call","call_id":"call_7","name":"shell","arguments":""}})") +
        sse("response.output_item.done", R"({"type":"response.output_item.done","output_index":0,"item":)" + item + "}") +
        sse("response.completed", R"({"type":"response.completed","response":{"id":"resp_1","model":"gpt-5-codex","output":[)" +
                                      item + "," + local + R"(],"usage":{"input_tokens":5000,"input_tokens_details":{"cached_tokens":4000},"output_tokens":42,"total_tokens":5042}}})");
    for (size_t piece : {size_t(5), size_t(333), text.size()}) {
        LlmAnswer a = feed_in_pieces(LlmApi::OpenAiResponses, text, piece);
        CHECK(a.complete);
        CHECK(a.model == "gpt-5-codex");
        CHECK(a.tokens_in == 5000);
        CHECK(a.tokens_out == 42);
        REQUIRE(a.tool_uses.size() == 2);  // the shell call once, though named twice
        CHECK(a.tool_uses[0].id == "call_7");
        CHECK(a.tool_uses[0].command == "ls -la");
        CHECK(a.tool_uses[1].name == "local_shell");
        CHECK(a.tool_uses[1].command == "git commit -m 'a b'");
    }
}

TEST_CASE("a Chat Completions stream joins tool-call arguments by index and takes the last chunk's usage", "[llm][sse]") {
    auto chunk = [](const std::string& delta, const std::string& usage = "null") {
        return "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o-2024-08-06\",\"choices\":[" +
               delta + "],\"usage\":" + usage + "}\n\n";
    };
    std::string text =
        chunk(R"({"index":0,"delta":{"role":"assistant","tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"exec_command","arguments":""}}]}})") +
        chunk(R"({"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_b","type":"function","function":{"name":"read_file","arguments":"{\"path\":"}}]}})") +
        chunk(R"({"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"cmd\":\"make te"}}]}})") +
        chunk(R"({"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"st\"}"}}]}})") +
        chunk(R"({"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"\"a.txt\"}"}}]}})") +
        chunk(R"({"index":0,"delta":{},"finish_reason":"tool_calls"})") +
        "data: {\"id\":\"c1\",\"choices\":[],\"usage\":{\"prompt_tokens\":900,\"completion_tokens\":31,\"total_tokens\":931}}\n\n"
        "data: [DONE]\n\n";
    LlmAnswer a = feed_in_pieces(LlmApi::OpenAiChat, text, 64);
    CHECK(a.complete);
    CHECK(a.tokens_in == 900);
    CHECK(a.tokens_out == 31);
    REQUIRE(a.tool_uses.size() == 2);
    CHECK(a.tool_uses[0].id == "call_a");
    CHECK(a.tool_uses[0].command == "make test");
    CHECK(a.tool_uses[1].name == "read_file");
    CHECK(a.tool_uses[1].input == R"({"path":"a.txt"})");
    CHECK(a.tool_uses[1].command.empty());
}

TEST_CASE("one-document answers: Anthropic and Chat JSON; a cut one has no counts", "[llm]") {
    HttpResponse resp;
    resp.status = 200;
    resp.content_type = "application/json";
    resp.body = R"({"id":"msg_1","type":"message","model":"claude-fake","content":[{"type":"text","text":"x"},)"
                R"({"type":"tool_use","id":"toolu_9","name":"mcp__files__read","input":{"path":"/etc/hosts"}}],)"
                R"("usage":{"input_tokens":100,"output_tokens":20}})";
    LlmAnswer a = parse_llm_response(LlmApi::AnthropicMessages, resp);
    CHECK(a.tokens_in == 100);
    CHECK(a.tokens_out == 20);
    REQUIRE(a.tool_uses.size() == 1);
    CHECK(a.tool_uses[0].name == "mcp__files__read");
    CHECK(a.tool_uses[0].command.empty());

    resp.body = R"({"model":"m","choices":[{"message":{"role":"assistant","tool_calls":[{"id":"call_1","type":"function",)"
                R"("function":{"name":"shell","arguments":"{\"command\":[\"rm\",\"-rf\",\"build dir\"]}"}}]}}],)"
                R"("usage":{"prompt_tokens":7,"completion_tokens":3}})";
    LlmAnswer c = parse_llm_response(LlmApi::OpenAiChat, resp);
    CHECK(c.tokens_in == 7);
    REQUIRE(c.tool_uses.size() == 1);
    CHECK(c.tool_uses[0].command == "rm -rf 'build dir'");

    resp.body = resp.body.substr(0, 60);
    resp.body_truncated = true;
    LlmAnswer cut = parse_llm_response(LlmApi::OpenAiChat, resp);
    CHECK(cut.truncated);
    CHECK(cut.tokens_in == -1);
    CHECK(cut.tokens_out == -1);
    CHECK(cut.tool_uses.empty());
}

TEST_CASE("an event stream arrives through HttpConnection in chunked reads and decodes whole", "[llm][sse]") {
    std::string events = anthropic_stream();
    std::string wire = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (size_t at = 0; at < events.size(); at += 300) {
        std::string part = events.substr(at, 300);
        char size[16];
        std::snprintf(size, sizeof size, "%zx\r\n", part.size());
        wire += size + part + "\r\n";
    }
    wire += "0\r\n\r\n";
    HttpConnection conn;
    std::vector<HttpRequest> reqs;
    std::vector<HttpResponse> resps;
    for (size_t at = 0; at < wire.size(); at += 1000) conn.feed(wire.substr(at, 1000), false, false, false, reqs, resps);
    REQUIRE(resps.size() == 1);
    LlmAnswer a = parse_llm_response(LlmApi::AnthropicMessages, resps[0]);
    CHECK(a.complete);
    CHECK(a.tokens_out == 87);
    CHECK(a.tool_uses.size() == 1);
}

TEST_CASE("shell commands of the shell tools; other tools have none", "[llm]") {
    CHECK(shell_command_of("Bash", R"({"command":"ls","description":"x"})") == "ls");
    CHECK(shell_command_of("shell", R"({"command":["bash","-lc","echo hi && ls"]})") == "echo hi && ls");
    CHECK(shell_command_of("shell", R"({"command":["echo","it's"]})") == "echo 'it'\\''s'");
    CHECK(shell_command_of("shell_command", R"({"command":"pwd"})") == "pwd");
    CHECK(shell_command_of("exec_command", R"({"cmd":"make"})") == "make");
    CHECK(shell_command_of("Read", R"({"command":"ls"})").empty());
    CHECK(shell_command_of("Bash", "not json").empty());
}
