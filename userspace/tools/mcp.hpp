// Tool calls over stdio: JSON-RPC 2.0 messages (MCP) that tracked processes write to pipes and
// sockets, reassembled from the probe's io events (newline-delimited or Content-Length framed,
// split across several writes or not) and paired request -> response by JSON-RPC id.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "common/event.hpp"

namespace stockade::tools {

struct McpMessage {
    uint32_t pid = 0;          // the writer
    uint64_t inode = 0;        // the pipe or socket its reader reads from (a socket pair: the peer's end)
    std::string method;        // requests and notifications
    std::string id;            // requests and responses ("" for notifications), as JSON text
    std::string tool;          // tools/call: params.name
    std::string args_sha256;   // tools/call: digest of params.arguments
    std::string args_json;     // tools/call: params.arguments as JSON, at most kMaxArgs bytes; journaled
                               // only for servers whose rule says `arguments: full`
    static constexpr size_t kMaxArgs = 4096;
    bool is_response = false;
    std::string outcome;       // responses: "result" or "error <code>: <message>"
    std::vector<std::string> tools_listed;  // a tools/list result: the tool names offered
};

class McpStreams {
public:
    static constexpr size_t kMaxMessage = 1 << 20;  // a longer message is reported as truncated

    // Feeds one io event (writes only: each message is seen once, at its writer; a write longer
    // than one record arrives as several, the later ones `io_more`). Returns the
    // complete messages it finished; `truncated` collects streams given up as over-long or cut.
    std::vector<McpMessage> feed(const Event& e, std::vector<std::string>& truncated);
    void forget(uint32_t pid);  // the process exited

private:
    std::map<std::tuple<uint32_t, int, uint64_t>, std::string> buffers_;
};

// Parses one JSON-RPC message; nullopt when it is not JSON-RPC 2.0.
std::optional<McpMessage> parse_jsonrpc(const std::string& text);

// The tool a tools/call names, found by its first "name" string even in bytes cut short or not
// yet whole (what a server read when the kernel stopped it); "" when none is seen.
std::string tool_name_in(const std::string& bytes);

}  // namespace stockade::tools
