// MCP (JSON-RPC 2.0) over stdio, reassembled from the bytes of each write: newline-delimited and
// Content-Length framed messages, split across writes or several in one, cut writes, over-long
// messages, and what one decoded message carries.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "common/digest.hpp"
#include "tools/mcp.hpp"

using namespace stockade;
using namespace stockade::tools;

namespace {

Event write_of(const std::string& bytes, uint32_t pid = 10, uint64_t inode = 77, bool truncated = false) {
    Event e;
    e.action = Action::Io;
    e.pid = pid;
    e.fd = 1;
    e.io_write = true;
    e.io_inode = inode;
    e.io_data = bytes;
    e.truncated = truncated;
    e.result = static_cast<int64_t>(bytes.size()) + (truncated ? 1000 : 0);
    return e;
}

const std::string kCall =
    R"({"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"delete_all","arguments":{"dir":"/"}}})";

}  // namespace

TEST_CASE("a tools/call split across writes is decoded once, when its newline arrives", "[mcp]") {
    McpStreams s;
    std::vector<std::string> cut;
    CHECK(s.feed(write_of(kCall.substr(0, 30)), cut).empty());
    CHECK(s.feed(write_of(kCall.substr(30, 40)), cut).empty());
    auto msgs = s.feed(write_of(kCall.substr(70) + "\n"), cut);
    REQUIRE(msgs.size() == 1);
    CHECK(cut.empty());
    const McpMessage& m = msgs[0];
    CHECK(m.method == "tools/call");
    CHECK(m.id == "7");
    CHECK(m.tool == "delete_all");
    CHECK(m.args_json == R"({"dir":"/"})");
    CHECK(m.args_sha256 == sha256_hex(R"({"dir":"/"})"));
    CHECK(m.pid == 10);
    CHECK(m.inode == 77);
    CHECK_FALSE(m.is_response);
}

TEST_CASE("Content-Length framing: two messages in one write, and a body split from its header", "[mcp]") {
    McpStreams s;
    std::vector<std::string> cut;
    std::string list = R"({"jsonrpc":"2.0","id":1,"method":"tools/list"})";
    auto framed = [](const std::string& body) {
        return "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    };
    auto both = s.feed(write_of(framed(list) + framed(kCall)), cut);
    REQUIRE(both.size() == 2);
    CHECK(both[0].method == "tools/list");
    CHECK(both[1].tool == "delete_all");
    std::string f = framed(kCall);
    CHECK(s.feed(write_of(f.substr(0, 25)), cut).empty());
    auto last = s.feed(write_of(f.substr(25)), cut);
    REQUIRE(last.size() == 1);
    CHECK(last[0].id == "7");
}

TEST_CASE("streams are kept apart by writer and pipe, and forgotten when the writer exits", "[mcp]") {
    McpStreams s;
    std::vector<std::string> cut;
    CHECK(s.feed(write_of(kCall.substr(0, 40), 10, 77), cut).empty());
    CHECK(s.feed(write_of(kCall.substr(0, 40), 11, 77), cut).empty());  // another writer
    auto a = s.feed(write_of(kCall.substr(40) + "\n", 10, 77), cut);
    CHECK(a.size() == 1);
    s.forget(11);
    // pid 11's first half is gone: its second half alone is no message.
    CHECK(s.feed(write_of(kCall.substr(40) + "\n", 11, 77), cut).empty());
}

TEST_CASE("a cut write and an over-long message are reported, not decoded", "[mcp]") {
    McpStreams s;
    std::vector<std::string> cut;
    CHECK(s.feed(write_of(kCall, 10, 77, true), cut).empty());
    REQUIRE(cut.size() == 1);
    CHECK(cut[0].find("was cut to") != std::string::npos);
    // The stream resumes with the next whole message.
    CHECK(s.feed(write_of(kCall + "\n"), cut).size() == 1);
    std::string huge = "Content-Length: " + std::to_string(McpStreams::kMaxMessage + 1) + "\r\n\r\n{";
    CHECK(s.feed(write_of(huge), cut).empty());
    REQUIRE(cut.size() == 2);
    CHECK(cut[1].find("Content-Length") != std::string::npos);
}

TEST_CASE("responses carry their outcome and the tools a server offers", "[mcp]") {
    auto ok = parse_jsonrpc(R"({"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"read"},{"name":"write"}]}})");
    REQUIRE(ok);
    CHECK(ok->is_response);
    CHECK(ok->outcome == "result");
    CHECK(ok->tools_listed == std::vector<std::string>{"read", "write"});
    auto err = parse_jsonrpc(R"({"jsonrpc":"2.0","id":2,"error":{"code":-32601,"message":"no such tool"}})");
    REQUIRE(err);
    CHECK(err->outcome == "error -32601: no such tool");
    CHECK_FALSE(parse_jsonrpc(R"({"jsonrpc":"1.0","id":1,"result":{}})"));
    CHECK_FALSE(parse_jsonrpc("not json"));
}

TEST_CASE("long arguments are journaled cut, their digest over all of them", "[mcp]") {
    std::string big(McpMessage::kMaxArgs * 2, 'x');
    auto m = parse_jsonrpc(R"({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"t","arguments":")" + big +
                           R"("}})");
    REQUIRE(m);
    CHECK(m->args_json.size() == McpMessage::kMaxArgs + 8);
    CHECK(m->args_json.substr(m->args_json.size() - 8) == "...(cut)");
    CHECK(m->args_sha256 == sha256_hex("\"" + big + "\""));
}

TEST_CASE("the tool a server read is found in bytes cut short", "[mcp]") {
    CHECK(tool_name_in(kCall) == "delete_all");
    CHECK(tool_name_in(kCall.substr(0, 75)) == "delete_all");
    CHECK(tool_name_in(kCall.substr(0, 68)) == "");  // the name not whole yet
    CHECK(tool_name_in(R"({"jsonrpc":"2.0","id":1,"method":"tools/list"})") == "");
}

TEST_CASE("a long write arrives in several records and is decoded whole", "[mcp]") {
    McpStreams s;
    std::vector<std::string> cut;
    std::string list = R"({"jsonrpc":"2.0","id":2,"result":{"tools":[)";
    for (int i = 0; i < 30; ++i)
        list += std::string(i ? "," : "") + R"({"name":"t)" + std::to_string(i) + R"(","description":")" +
                std::string(400, 'x') + R"("})";
    list += "]}}\n";
    std::vector<McpMessage> got;
    for (size_t off = 0; off < list.size(); off += 2048) {
        Event e = write_of(list.substr(off, 2048));
        e.io_more = off > 0;
        e.io_offset = off;
        e.result = static_cast<int64_t>(list.size());
        auto msgs = s.feed(e, cut);
        got.insert(got.end(), msgs.begin(), msgs.end());
    }
    CHECK(cut.empty());
    REQUIRE(got.size() == 1);
    CHECK(got[0].tools_listed.size() == 30);
    // The rest of a write whose start is gone (its stream given up) is not decoded as a start.
    Event orphan = write_of(R"({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"x"}})" "\n", 10, 99);
    orphan.io_more = true;
    CHECK(s.feed(orphan, cut).empty());
}

TEST_CASE("a write on a socket pair names the reader's end: the peer's inode", "[mcp]") {
    McpStreams s;
    std::vector<std::string> cut;
    Event e = write_of(kCall + "\n", 10, 71);
    e.io_peer_inode = 72;
    auto msgs = s.feed(e, cut);
    REQUIRE(msgs.size() == 1);
    CHECK(msgs[0].inode == 72);
    auto piped = s.feed(write_of(kCall + "\n", 10, 55), cut);  // a pipe: both ends one inode
    REQUIRE(piped.size() == 1);
    CHECK(piped[0].inode == 55);
}
