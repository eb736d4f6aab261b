// HTTP/1.x over TCP or TLS: requests and responses that tracked processes send and receive,
// reassembled from the probe's io events (the first bytes of each write/read, maybe cut), one
// direction of one connection at a time. Bodies are kept up to a cap; nothing here throws.
//
// Out of scope: responses to HEAD (the response direction never sees the method, so one with a
// Content-Length waits for a body that never comes; the next status line then resyncs only after
// lost bytes), CONNECT tunnels and protocol upgrades (the bytes after them do not look like HTTP
// and are skipped), HTTP/0.9, and HTTP/2 beyond noticing its connection preface.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace stockade::tools {

struct HttpRequest {
    std::string method;           // "GET"
    std::string target;           // as sent ("/v1/items?x=1"); absolute-form "http://h/p" becomes "/p"
    std::string host;             // Host header (or the absolute-form authority): lower case, no port
    std::string version;          // "HTTP/1.1"
    std::string content_type;     // lower case, parameters removed ("application/json")
    std::string body;             // up to kHttpBodyMax bytes of the (de-chunked) body
    uint64_t body_size = 0;       // body bytes seen, kept or not (a lower bound when bytes were lost)
    bool body_truncated = false;  // body longer than kept, or bytes were missing
    bool http2 = false;           // the connection preface "PRI * HTTP/2.0": not decoded further
    bool operator==(const HttpRequest&) const = default;
};

struct HttpResponse {
    int status = 0;  // 200
    std::string reason;
    std::string content_type;
    std::string body;  // up to kHttpBodyMax bytes (de-chunked; for text/event-stream the raw event text)
    uint64_t body_size = 0;
    bool body_truncated = false;
    bool operator==(const HttpResponse&) const = default;
};

constexpr size_t kHttpBodyMax = 64 * 1024;
constexpr size_t kHttpHeadMax = 16 * 1024;  // a longer head is emitted as far as known, cut

// True when `first` (the first bytes of a write/read) starts an HTTP/1.x request line (an
// upper-case method token, a space, and a target starting with '/' or "http", or the HTTP/2
// preface "PRI * HTTP/2.0") or a status line ("HTTP/1.").
bool looks_like_http_request(std::string_view first);
bool looks_like_http_response(std::string_view first);

// One direction of one connection. Feed the captured bytes of each I/O in order.
class HttpStream {
public:
    enum class Direction { Requests, Responses };
    explicit HttpStream(Direction d) : dir_(d) {}

    // `truncated`: the kernel kept only the first bytes of this I/O (the rest is lost): a message
    // still incomplete is emitted cut, and feeds are skipped until one starts a new message.
    // Completed messages are appended to `out_req` / `out_resp`.
    void feed(std::string_view bytes, bool truncated, std::vector<HttpRequest>& out_req,
              std::vector<HttpResponse>& out_resp);
    // The message in progress, if any, emitted as-is (body_truncated, except a response whose
    // body runs to connection close) – used when the connection/process ends.
    void flush(std::vector<HttpRequest>& out_req, std::vector<HttpResponse>& out_resp);

private:
    enum class State { Head, Body, Lost, Http2 };
    enum class Framing { Length, ChunkSize, ChunkData, ChunkDataEnd, Trailer, UntilClose };
    enum class Line { Partial, Done, Overflow };
    struct Fields;  // the header fields that frame the body
    struct Sink {
        std::vector<HttpRequest>& req;
        std::vector<HttpResponse>& resp;
    };

    void take_head(std::string_view& bytes, Sink out);
    void take_body(std::string_view& bytes, Sink out);
    bool parse_head(Fields& f);
    void start_body(Sink out);
    Line take_line(std::string_view& bytes);
    void add_body(std::string_view data);
    void set_truncated();
    void emit(Sink out);
    void abandon(Sink out, bool closed);
    void reset();

    Direction dir_;
    State state_ = State::Head;
    std::string head_;       // the head so far (at most kHttpHeadMax bytes)
    size_t scanned_ = 0;     // head_ holds no end of head before this offset
    bool start_ok_ = false;  // head_ begins with a whole-enough request/status line
    Framing framing_ = Framing::Length;
    uint64_t remaining_ = 0;  // body or chunk bytes still to come
    std::string line_;        // a chunk-size or trailer line so far
    HttpRequest req_;
    HttpResponse resp_;
};

}  // namespace stockade::tools
