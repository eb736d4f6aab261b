// Model calls and intent through the judge: a streamed Anthropic answer read in pieces becomes
// one llm record (tokens, tool uses, prompt digest); the exec of the command the model asked for
// (as Claude Code runs it: bash -c "... eval 'CMD' ...") carries that intent, its children
// inherit it, and an exec nobody asked for is marked "none". And the matching itself.
#include "common/digest.hpp"
#include "harness.hpp"
#include "judge/intent.hpp"

namespace {

constexpr uint32_t kShell = kPid + 10, kChild = kPid + 11, kStray = kPid + 12;

std::string agent_boundary(const std::string& extra = "") {
    return boundary_yaml("enforce", "kill", "summary") + extra;
}

Event tls(bool write, const std::string& data) {
    Event e = base_event(Action::Tls);
    e.comm = "claude";
    e.io_write = write;
    e.io_inode = 0x7000;
    e.io_data = data;
    e.result = static_cast<int64_t>(data.size());
    return e;
}

const std::string kBody = R"({"model":"claude-sonnet-4-5","max_tokens":32000,"stream":true,"messages":[{"role":"user","content":"fix it"}]})";

std::string sse(const std::string& data) { return "event: x\ndata: " + data + "\n\n"; }

// The answer as chunked event-stream bytes, split into reads of at most `read` bytes.
std::vector<std::string> answer_reads(const std::string& command, size_t read) {
    std::string events =
        sse(R"({"type":"message_start","message":{"model":"claude-sonnet-4-5","usage":{"input_tokens":1007,"output_tokens":1}}})") +
        sse(R"({"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_fake0001","name":"Bash","input":{}}})") +
        sse(R"({"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\"command\": \")" +
            command + R"(\"}"}})") +
        sse(R"({"type":"content_block_stop","index":0})") +
        sse(R"({"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":21}})") +
        sse(R"({"type":"message_stop"})");
    std::string wire = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (size_t at = 0; at < events.size(); at += 200) {
        std::string part = events.substr(at, 200);
        char size[16];
        std::snprintf(size, sizeof size, "%zx\r\n", part.size());
        wire += size + part + "\r\n";
    }
    wire += "0\r\n\r\n";
    std::vector<std::string> reads;
    for (size_t at = 0; at < wire.size(); at += read) reads.push_back(wire.substr(at, read));
    return reads;
}

void model_call(Harness& h, const std::string& command) {
    h.pipe.on_event(tls(true, "POST /v1/messages?beta=true HTTP/1.1\r\nHost: api.anthropic.com\r\n"
                              "Content-Type: application/json\r\nContent-Length: " +
                                  std::to_string(kBody.size()) + "\r\n\r\n" + kBody));
    for (auto& r : answer_reads(command, 97)) h.pipe.on_event(tls(false, r));
}

Event exec(uint32_t pid, uint32_t ppid, const std::string& path, std::vector<std::string> argv) {
    Event e = base_event(Action::Exec);
    e.pid = e.tid = pid;
    e.ppid = ppid;
    e.start_ns = kStart + pid;
    e.path = path;
    e.argv = std::move(argv);
    return e;
}

const journal::Record* find(const Harness& h, journal::RecordType type, const std::string& exe_or_action) {
    for (auto& r : h.journal)
        if (r.type == type && (r.exe == exe_or_action || r.action == exe_or_action)) return &r;
    return nullptr;
}

}  // namespace

TEST_CASE("a streamed model call is one llm record; the command it asked for carries its intent", "[judge][llm]") {
    Harness h(agent_boundary());
    const std::string file = "/nonexistent-stockade/repo/main.c";
    // Before any model call an agent's execs are not marked (nor journaled under summary).
    h.pipe.on_event(exec(kStray, kPid, "/nonexistent-stockade/bin/early", {"early"}));
    CHECK(h.journal.empty());

    model_call(h, "cat " + file + " | head -1");
    const journal::Record* llm = find(h, journal::RecordType::Llm, "messages");
    REQUIRE(llm);
    CHECK(llm->provider == "anthropic");
    CHECK(llm->model == "claude-sonnet-4-5");
    CHECK(llm->address == "https://api.anthropic.com");
    CHECK(llm->path == "/v1/messages");
    CHECK(llm->tokens_in == 1007);
    CHECK(llm->tokens_out == 21);
    CHECK(llm->prompt_sha256 == sha256_hex(kBody));
    CHECK(llm->prompt.empty());  // model_prompts: digest (the default)
    CHECK(llm->truncated.empty());
    REQUIRE(llm->tool_uses.size() == 1);
    CHECK(llm->tool_uses[0].id == "toolu_fake0001");
    CHECK(llm->tool_uses[0].name == "Bash");
    CHECK(llm->tool_uses[0].command == "cat " + file + " | head -1");
    uint64_t llm_seq = llm->seq;

    // Claude Code's Bash tool: a login shell that evals the command.
    h.pipe.on_event(exec(kShell, kPid, "/usr/bin/bash",
                         {"/bin/bash", "-c", "-l", "source /tmp/snap.sh && eval 'cat " + file +
                                                       " | head -1' < /dev/null && pwd -P >| /tmp/cwd"}));
    Event fork = base_event(Action::Fork);
    fork.pid = fork.tid = kShell;
    fork.result = kChild;
    h.pipe.on_event(fork);
    h.pipe.on_event(exec(kChild, kShell, "/usr/bin/head", {"head", "-1"}));  // a child: inherits
    h.pipe.on_event(exec(kStray, kPid, "/nonexistent-stockade/bin/git", {"git", "status"}));  // nobody asked

    const journal::Record* shell = find(h, journal::RecordType::Decision, "/usr/bin/bash");
    REQUIRE(shell);
    CHECK(shell->intent == "toolu_fake0001");
    CHECK(shell->intent_seq == llm_seq);
    const journal::Record* child = find(h, journal::RecordType::Decision, "/usr/bin/head");
    REQUIRE(child);
    CHECK(child->intent == "toolu_fake0001");
    const journal::Record* stray = find(h, journal::RecordType::Decision, "/nonexistent-stockade/bin/git");
    REQUIRE(stray);
    CHECK(stray->intent == "none");
    CHECK(stray->intent_seq == 0);

    const auto& c = h.pipe.counters().at("coder").llm.counts;
    CHECK(c.at("model calls") == 1);
    CHECK(c.at("tokens in") == 1007);
    CHECK(c.at("tokens out") == 21);
    CHECK(c.at("tool uses requested") == 1);
    CHECK(c.at("actions with intent") == 2);
    CHECK(c.at("actions without intent") == 1);
    // bash and head are outside exec.allow: both killed, counted as denied with an intent.
    CHECK(c.at("actions with intent denied") == 2);
}

TEST_CASE("model_prompts: full keeps the prompt; a cut answer says so and has no invented counts", "[judge][llm]") {
    Harness h(agent_boundary("model_prompts: full\n"));
    h.pipe.on_event(tls(true, "POST /v1/messages HTTP/1.1\r\nHost: api.anthropic.com\r\nContent-Type: application/json\r\n"
                              "Content-Length: " + std::to_string(kBody.size()) + "\r\n\r\n" + kBody));
    auto reads = answer_reads("ls", 150);
    for (size_t i = 0; i + 3 < reads.size(); ++i) {  // the last reads never come
        Event e = tls(false, reads[i]);
        h.pipe.on_event(e);
    }
    Event exit = base_event(Action::Exit);
    h.pipe.on_event(exit);  // the process exits: what there is of the answer is decoded
    const journal::Record* llm = find(h, journal::RecordType::Llm, "messages");
    REQUIRE(llm);
    CHECK(llm->prompt == kBody);
    CHECK(llm->truncated == "response");
    CHECK(llm->tokens_in == 1007);
    CHECK(llm->tokens_out == -1);
}

TEST_CASE("exec_runs_command: the command's simple commands, or a shell that runs it", "[judge][llm]") {
    const std::string cmd = "git commit -q -am 'Fix add' && git log --oneline | head -1";
    CHECK(judge::exec_runs_command({"git", "commit", "-q", "-am", "Fix add"}, cmd));
    CHECK(judge::exec_runs_command({"/usr/bin/head", "-1"}, cmd));
    CHECK(judge::exec_runs_command({"git", "log", "--oneline"}, cmd));
    CHECK_FALSE(judge::exec_runs_command({"git", "push"}, cmd));
    CHECK_FALSE(judge::exec_runs_command({"-1"}, cmd));  // not where a command starts
    // Claude Code quotes the command for eval; Codex runs [bash, -lc, CMD].
    CHECK(judge::exec_runs_command(
        {"/bin/bash", "-c", "-l", "eval 'git commit -q -am '\"'\"'Fix add'\"'\"' && git log --oneline | head -1'"}, cmd));
    CHECK(judge::exec_runs_command({"bash", "-lc", cmd}, cmd));
    CHECK_FALSE(judge::exec_runs_command({"bash", "-lc", "git status"}, cmd));
    CHECK(judge::exec_runs_command({"env", "FOO=1", "make"}, "FOO=1 make") == false);  // env is the program run
    CHECK(judge::exec_runs_command({"make", "test"}, "FOO=1 make test"));
    CHECK(judge::shell_words("a 'b c' \"d\\\"e\" f\\ g;h&&i") ==
          std::vector<std::string>{"a", "b c", "d\"e", "f g", ";", "h", "&&", "i"});
}

TEST_CASE("IntentBook: MCP tools by name (also mcp__server__tool), HTTP by the URL a tool named", "[judge][llm]") {
    judge::IntentBook book;
    CHECK_FALSE(book.calls_models("a"));
    tools::LlmToolUse fetch{"toolu_2", "WebFetch", R"({"url":"http://127.0.0.1:8080/docs/x"})", "", ""};
    tools::LlmToolUse mcp{"toolu_3", "mcp__files__read_file", R"({"path":"/x"})", "", ""};
    book.requested("a", 7, {fetch, mcp});
    CHECK(book.calls_models("a"));
    auto t = book.for_tool("a", 1, "read_file");
    REQUIRE(t);
    CHECK(t->tool_use_id == "toolu_3");
    CHECK(t->llm_seq == 7);
    CHECK_FALSE(book.for_tool("a", 1, "write_file"));
    CHECK_FALSE(book.for_tool("b", 1, "read_file"));  // another agent's model asked for nothing
    auto u = book.for_http("a", 1, "127.0.0.1", "/docs/x");
    REQUIRE(u);
    CHECK(u->tool_use_id == "toolu_2");
    CHECK_FALSE(book.for_http("a", 1, "127.0.0.1", "/admin"));
}
