#include "tools/mcp.hpp"

#include <nlohmann/json.hpp>

#include "common/digest.hpp"

namespace stockade::tools {

std::optional<McpMessage> parse_jsonrpc(const std::string& text) {
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object() || j.value("jsonrpc", "") != "2.0") return std::nullopt;
    McpMessage m;
    if (j.contains("id")) m.id = j["id"].dump();
    if (j.contains("method") && j["method"].is_string()) {
        m.method = j["method"].get<std::string>();
        if (m.method == "tools/call" && j.contains("params") && j["params"].is_object()) {
            const auto& p = j["params"];
            if (p.contains("name") && p["name"].is_string()) m.tool = p["name"].get<std::string>();
            std::string args = p.contains("arguments") ? p["arguments"].dump() : "null";
            m.args_sha256 = sha256_hex(args);
            m.args_json = args.size() > McpMessage::kMaxArgs ? args.substr(0, McpMessage::kMaxArgs) + "...(cut)" : args;
        }
        return m;
    }
    if (j.contains("result") || j.contains("error")) {
        m.is_response = true;
        if (j.contains("error")) {
            const auto& e = j["error"];
            m.outcome = "error " + (e.is_object() && e.contains("code") ? e["code"].dump() : std::string("?")) + ": " +
                        (e.is_object() && e.contains("message") && e["message"].is_string()
                             ? e["message"].get<std::string>()
                             : std::string());
        } else {
            m.outcome = "result";
            const auto& r = j["result"];
            if (r.is_object() && r.contains("tools") && r["tools"].is_array())
                for (auto& t : r["tools"])
                    if (t.is_object() && t.contains("name") && t["name"].is_string())
                        m.tools_listed.push_back(t["name"].get<std::string>());
        }
        return m;
    }
    return std::nullopt;
}

std::vector<McpMessage> McpStreams::feed(const Event& e, std::vector<std::string>& truncated) {
    std::vector<McpMessage> out;
    if (!e.io_write) return out;
    auto key = std::make_tuple(e.pid, e.fd, e.io_inode);
    if (e.io_more && !buffers_.count(key)) return out;  // the rest of a write whose start was used up
    std::string& buf = buffers_[key];
    buf += e.io_data;
    // The reader's end: a pipe has one inode; a socket pair's other end has its own.
    uint64_t reader = e.io_peer_inode ? e.io_peer_inode : e.io_inode;
    if (e.truncated) {
        // The kernel kept SK_IO_MAX bytes of a longer write: the rest of this stream is lost.
        truncated.push_back("a write of " + std::to_string(e.result) + " bytes by pid " + std::to_string(e.pid) +
                            " was cut to " + std::to_string(e.io_data.size()) + " bytes");
        buffers_.erase(key);
        return out;
    }
    while (true) {
        size_t start = buf.find_first_not_of(" \t\r\n");
        if (start == std::string::npos) {
            buf.clear();
            break;
        }
        std::string body;
        size_t consumed = 0;
        if (buf.compare(start, 15, "Content-Length:") == 0) {
            size_t hdr_end = buf.find("\r\n\r\n", start);
            if (hdr_end == std::string::npos) break;  // header not complete yet
            size_t len = std::strtoull(buf.c_str() + start + 15, nullptr, 10);
            if (len > kMaxMessage) {
                truncated.push_back("a Content-Length of " + std::to_string(len) + " bytes by pid " + std::to_string(e.pid));
                buffers_.erase(key);
                return out;
            }
            if (buf.size() < hdr_end + 4 + len) break;  // body not complete yet
            body = buf.substr(hdr_end + 4, len);
            consumed = hdr_end + 4 + len;
        } else {
            size_t nl = buf.find('\n', start);
            if (nl == std::string::npos) {
                if (buf.size() > kMaxMessage) {
                    truncated.push_back("a message over " + std::to_string(kMaxMessage) + " bytes by pid " +
                                        std::to_string(e.pid));
                    buffers_.erase(key);
                    return out;
                }
                // A write without a newline may still be one whole message: try it.
                if (auto m = parse_jsonrpc(buf.substr(start))) {
                    m->pid = e.pid;
                    m->inode = reader;
                    out.push_back(std::move(*m));
                    buf.clear();
                }
                break;
            }
            body = buf.substr(start, nl - start);
            consumed = nl + 1;
        }
        if (auto m = parse_jsonrpc(body)) {
            m->pid = e.pid;
            m->inode = reader;
            out.push_back(std::move(*m));
        }
        buf.erase(0, consumed);
    }
    if (buf.empty()) buffers_.erase(key);
    return out;
}

std::string tool_name_in(const std::string& bytes) {
    size_t at = bytes.find("\"name\"");
    if (at == std::string::npos) return "";
    size_t q1 = bytes.find('"', at + 6), q2 = q1 == std::string::npos ? q1 : bytes.find('"', q1 + 1);
    return q2 == std::string::npos ? "" : bytes.substr(q1 + 1, q2 - q1 - 1);
}

void McpStreams::forget(uint32_t pid) {
    for (auto it = buffers_.begin(); it != buffers_.end();)
        it = std::get<0>(it->first) == pid ? buffers_.erase(it) : std::next(it);
}

}  // namespace stockade::tools
