#include "tools/http.hpp"

#include <algorithm>
#include <optional>

namespace stockade::tools {

namespace {

constexpr size_t kMethodMax = 20;      // longer than any registered method ("UPDATEREDIRECTREF")
constexpr size_t kLineMax = 4 * 1024;  // a chunk-size or trailer line (chunk extensions included)

// Whether bytes so far start a message: Maybe while too few have arrived to tell.
enum class Verdict { No, Maybe, Yes };

char lower(char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string lowered(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), lower);
    return out;
}

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return lower(x) == lower(y); });
}

bool istarts_with(std::string_view s, std::string_view prefix) {
    return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

std::string_view trim(std::string_view s) {
    size_t b = s.find_first_not_of(" \t\r\n");
    if (b == std::string_view::npos) return {};
    return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

// `s` against a fixed (case-insensitive) prefix, when `s` may still be short of it.
Verdict prefix_verdict(std::string_view s, std::string_view prefix) {
    size_t n = std::min(s.size(), prefix.size());
    if (!iequals(s.substr(0, n), prefix.substr(0, n))) return Verdict::No;
    return n == prefix.size() ? Verdict::Yes : Verdict::Maybe;
}

Verdict request_verdict(std::string_view s) {
    size_t i = 0;
    while (i < s.size() && ((s[i] >= 'A' && s[i] <= 'Z') || s[i] == '-'))
        if (++i > kMethodMax) return Verdict::No;
    if (i == s.size()) return Verdict::Maybe;
    if (i == 0 || s[i] != ' ') return Verdict::No;
    std::string_view target = s.substr(i + 1);
    if (s.substr(0, i) == "PRI") return prefix_verdict(target, "* HTTP/2.0");
    if (!target.empty() && target[0] == '/') return Verdict::Yes;
    return prefix_verdict(target, "http");
}

Verdict response_verdict(std::string_view s) {
    return prefix_verdict(s, "HTTP/1.");
}

// Content-Length: decimal; a list of equal values ("5, 5") counts as one (RFC 9110 8.6).
std::optional<uint64_t> parse_length(std::string_view v) {
    std::optional<uint64_t> out;
    while (true) {
        size_t comma = v.find(',');
        std::string_view item = trim(v.substr(0, comma));
        if (item.empty() || item.size() > 18) return std::nullopt;  // 18 digits cannot overflow
        uint64_t n = 0;
        for (char c : item) {
            if (c < '0' || c > '9') return std::nullopt;
            n = n * 10 + static_cast<uint64_t>(c - '0');
        }
        if (out && *out != n) return std::nullopt;
        out = n;
        if (comma == std::string_view::npos) return out;
        v.remove_prefix(comma + 1);
    }
}

// A chunk-size line: hex digits, then maybe ";extensions" to ignore.
std::optional<uint64_t> parse_chunk_size(std::string_view line) {
    line = trim(line.substr(0, line.find(';')));
    if (line.empty() || line.size() > 15) return std::nullopt;  // 15 hex digits cannot overflow
    uint64_t n = 0;
    for (char c : line) {
        char l = lower(c);
        int d = l >= '0' && l <= '9' ? l - '0' : l >= 'a' && l <= 'f' ? l - 'a' + 10 : -1;
        if (d < 0) return std::nullopt;
        n = n * 16 + static_cast<uint64_t>(d);
    }
    return n;
}

// Lower case, port removed; a bracketed IPv6 literal keeps its brackets, a bare one is left whole.
std::string normalize_host(std::string_view v) {
    v = trim(v);
    if (!v.empty() && v[0] == '[') {
        size_t close = v.find(']');
        if (close != std::string_view::npos) v = v.substr(0, close + 1);
    } else if (size_t colon = v.find(':'); colon != std::string_view::npos && v.find(':', colon + 1) == v.npos) {
        v = v.substr(0, colon);
    }
    return lowered(v);
}

// Offset just past the blank line ending a head, searching from `from`; npos when not there yet.
size_t head_end(std::string_view h, size_t from) {
    for (size_t i = h.find('\n', from); i != std::string_view::npos; i = h.find('\n', i + 1)) {
        if (i + 1 < h.size() && h[i + 1] == '\n') return i + 2;
        if (i + 2 < h.size() && h[i + 1] == '\r' && h[i + 2] == '\n') return i + 3;
    }
    return std::string_view::npos;
}

}  // namespace

bool looks_like_http_request(std::string_view first) {
    return request_verdict(first) == Verdict::Yes;
}

bool looks_like_http_response(std::string_view first) {
    return response_verdict(first) == Verdict::Yes;
}

struct HttpStream::Fields {
    std::string host;
    std::string content_type;
    bool has_length = false;
    std::string lengths;  // every Content-Length value, comma-joined
    bool has_coding = false;
    std::string codings;  // every Transfer-Encoding value, comma-joined
};

void HttpStream::feed(std::string_view bytes, bool truncated, std::vector<HttpRequest>& out_req,
                      std::vector<HttpResponse>& out_resp) {
    Sink out{out_req, out_resp};
    if (state_ == State::Lost) {
        // The bytes before were lost: only an I/O that starts a message puts us back in step,
        // anything else is the rest of a message we cannot frame.
        bool starts = dir_ == Direction::Requests ? looks_like_http_request(bytes) : looks_like_http_response(bytes);
        if (!starts) return;
        state_ = State::Head;
    }
    while (!bytes.empty() && (state_ == State::Head || state_ == State::Body)) {
        if (state_ == State::Head)
            take_head(bytes, out);
        else
            take_body(bytes, out);
    }
    if (truncated && (state_ == State::Head || state_ == State::Body)) {
        abandon(out, false);
        state_ = State::Lost;
    }
}

void HttpStream::flush(std::vector<HttpRequest>& out_req, std::vector<HttpResponse>& out_resp) {
    if (state_ == State::Head || state_ == State::Body) abandon(Sink{out_req, out_resp}, true);
}

void HttpStream::take_head(std::string_view& bytes, Sink out) {
    if (head_.empty()) {
        // Stray CRLFs between messages are allowed (RFC 9112 2.2).
        size_t start = bytes.find_first_not_of("\r\n");
        bytes.remove_prefix(start == std::string_view::npos ? bytes.size() : start);
        if (bytes.empty()) return;
    }
    size_t old = head_.size();
    size_t take = std::min(bytes.size(), kHttpHeadMax - old);
    head_.append(bytes.substr(0, take));
    if (!start_ok_) {
        Verdict v = dir_ == Direction::Requests ? request_verdict(head_) : response_verdict(head_);
        if (v == Verdict::No) {  // not a message start: we are out of step with the stream
            reset();
            state_ = State::Lost;
            bytes = {};
            return;
        }
        start_ok_ = v == Verdict::Yes;
    }
    size_t end = head_end(head_, scanned_);
    if (end == std::string::npos) {
        bytes.remove_prefix(take);
        scanned_ = head_.size() > 2 ? head_.size() - 2 : 0;  // a '\n' here may yet end the head
        if (head_.size() >= kHttpHeadMax) {
            abandon(out, false);
            state_ = State::Lost;
            bytes = {};
        }
        return;
    }
    bytes.remove_prefix(end - old);  // the rest is body or the next message
    head_.resize(end);
    start_body(out);
}

bool HttpStream::parse_head(Fields& f) {
    std::string_view h = head_;
    size_t nl = h.find('\n');
    std::string_view start = trim(h.substr(0, nl));
    if (dir_ == Direction::Requests) {
        req_ = {};
        size_t sp1 = start.find(' ');
        if (sp1 == std::string_view::npos) return false;
        size_t sp2 = start.find(' ', sp1 + 1);
        req_.method = start.substr(0, sp1);
        req_.target = start.substr(sp1 + 1, sp2 == std::string_view::npos ? sp2 : sp2 - sp1 - 1);
        if (sp2 != std::string_view::npos) req_.version = trim(start.substr(sp2 + 1));
        if (req_.target.empty()) return false;
    } else {
        resp_ = {};
        size_t sp = start.find(' ');
        std::string_view code = sp == std::string_view::npos ? std::string_view{} : start.substr(sp + 1, 3);
        if (code.size() != 3 || !std::all_of(code.begin(), code.end(), [](char c) { return c >= '0' && c <= '9'; }))
            return false;
        if (start.size() > sp + 4 && start[sp + 4] != ' ') return false;  // "HTTP/1.1 2000"
        resp_.status = (code[0] - '0') * 100 + (code[1] - '0') * 10 + (code[2] - '0');
        if (start.size() > sp + 5) resp_.reason = start.substr(sp + 5);
    }
    // Header fields; when the head was cut, its last, unfinished line says nothing reliable.
    while (nl != std::string_view::npos) {
        h.remove_prefix(nl + 1);
        nl = h.find('\n');
        if (nl == std::string_view::npos) break;
        std::string_view line = h.substr(0, nl);
        size_t colon = line.find(':');
        if (line.empty() || line[0] == ' ' || line[0] == '\t' || colon == std::string_view::npos) continue;
        std::string_view name = line.substr(0, colon);
        std::string_view value = trim(line.substr(colon + 1));
        if (iequals(name, "host") && f.host.empty()) {
            f.host = value;
        } else if (iequals(name, "content-type") && f.content_type.empty()) {
            f.content_type = value;
        } else if (iequals(name, "content-length")) {
            f.lengths += (f.has_length ? "," : "") + std::string(value);
            f.has_length = true;
        } else if (iequals(name, "transfer-encoding")) {
            f.codings += (f.has_coding ? "," : "") + std::string(value);
            f.has_coding = true;
        }
    }
    std::string type = lowered(trim(std::string_view(f.content_type).substr(0, f.content_type.find(';'))));
    if (dir_ == Direction::Responses) {
        resp_.content_type = std::move(type);
        return true;
    }
    req_.content_type = std::move(type);
    req_.host = normalize_host(f.host);
    std::string_view t = req_.target;
    if (istarts_with(t, "http://") || istarts_with(t, "https://")) {
        // Absolute-form (to a proxy): the authority in it overrides Host (RFC 9112 3.2.2).
        t.remove_prefix(t.find("//") + 2);
        size_t path = t.find_first_of("/?#");
        std::string_view authority = t.substr(0, path);
        if (size_t at = authority.rfind('@'); at != std::string_view::npos) authority.remove_prefix(at + 1);
        req_.host = normalize_host(authority);
        std::string rest(path == std::string_view::npos ? std::string_view{} : t.substr(path));
        req_.target = rest.empty() || rest[0] != '/' ? "/" + rest : rest;
    }
    return true;
}

void HttpStream::start_body(Sink out) {
    Fields f;
    if (!start_ok_ || !parse_head(f)) {  // a start line we cannot read: drop it and resync
        reset();
        state_ = State::Lost;
        return;
    }
    state_ = State::Body;
    if (dir_ == Direction::Requests && req_.method == "PRI" && req_.target == "*" && req_.version == "HTTP/2.0") {
        req_.http2 = true;
        emit(out);
        state_ = State::Http2;
        return;
    }
    bool chunked = false;
    if (f.has_coding) {
        std::string_view codings = f.codings;
        size_t comma = codings.rfind(',');
        chunked = iequals(trim(comma == std::string_view::npos ? codings : codings.substr(comma + 1)), "chunked");
    }
    if (dir_ == Direction::Responses &&
        ((resp_.status >= 100 && resp_.status < 200) || resp_.status == 204 || resp_.status == 304)) {
        emit(out);  // never a body, whatever the fields say
    } else if (chunked) {
        framing_ = Framing::ChunkSize;  // chunked wins over Content-Length (RFC 9112 6.3)
    } else if (f.has_coding && dir_ == Direction::Requests) {
        abandon(out, false);  // a request body with no length we can know
        state_ = State::Lost;
    } else if (f.has_length && !f.has_coding) {
        std::optional<uint64_t> n = parse_length(f.lengths);
        if (!n) {
            abandon(out, false);
            state_ = State::Lost;
        } else if (*n == 0) {
            emit(out);
        } else {
            framing_ = Framing::Length;
            remaining_ = *n;
        }
    } else if (dir_ == Direction::Responses) {
        framing_ = Framing::UntilClose;
    } else {
        emit(out);  // a request without Content-Length or Transfer-Encoding has no body
    }
}

HttpStream::Line HttpStream::take_line(std::string_view& bytes) {
    size_t nl = bytes.find('\n');
    line_.append(bytes.substr(0, std::min(nl, bytes.size())));
    bytes.remove_prefix(nl == std::string_view::npos ? bytes.size() : nl + 1);
    if (line_.size() > kLineMax) return Line::Overflow;
    if (nl == std::string_view::npos) return Line::Partial;
    if (!line_.empty() && line_.back() == '\r') line_.pop_back();
    return Line::Done;
}

void HttpStream::take_body(std::string_view& bytes, Sink out) {
    if (framing_ == Framing::UntilClose) {
        add_body(bytes);
        bytes = {};
        return;
    }
    if (framing_ == Framing::Length || framing_ == Framing::ChunkData) {
        size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, bytes.size()));
        add_body(bytes.substr(0, n));
        bytes.remove_prefix(n);
        remaining_ -= n;
        if (remaining_ > 0) return;
        if (framing_ == Framing::Length)
            emit(out);
        else
            framing_ = Framing::ChunkDataEnd;
        return;
    }
    Line l = take_line(bytes);
    if (l == Line::Partial) return;
    std::string line = std::move(line_);
    line_.clear();
    std::optional<uint64_t> size = framing_ == Framing::ChunkSize ? parse_chunk_size(line) : std::nullopt;
    bool bad = l == Line::Overflow || (framing_ == Framing::ChunkSize && !size) ||
               (framing_ == Framing::ChunkDataEnd && !line.empty());
    if (bad) {  // lost our place in the chunks
        abandon(out, false);
        state_ = State::Lost;
        bytes = {};
    } else if (framing_ == Framing::ChunkSize) {
        remaining_ = *size;
        framing_ = *size == 0 ? Framing::Trailer : Framing::ChunkData;
    } else if (framing_ == Framing::ChunkDataEnd) {
        framing_ = Framing::ChunkSize;
    } else if (line.empty()) {  // the blank line after the trailer fields
        emit(out);
    }
}

void HttpStream::add_body(std::string_view data) {
    std::string& body = dir_ == Direction::Requests ? req_.body : resp_.body;
    (dir_ == Direction::Requests ? req_.body_size : resp_.body_size) += data.size();
    size_t room = kHttpBodyMax - body.size();
    if (data.size() > room) {
        set_truncated();
        data = data.substr(0, room);
    }
    body.append(data);
}

void HttpStream::set_truncated() {
    (dir_ == Direction::Requests ? req_.body_truncated : resp_.body_truncated) = true;
}

void HttpStream::emit(Sink out) {
    if (dir_ == Direction::Requests)
        out.req.push_back(std::move(req_));
    else
        out.resp.push_back(std::move(resp_));
    reset();
}

// Ends the message in progress: emitted cut if at least its start line is known. `closed`: the
// connection ended, which is where a response without a length legitimately ends.
void HttpStream::abandon(Sink out, bool closed) {
    bool known = state_ == State::Body;
    if (state_ == State::Head && start_ok_) {
        Fields f;
        known = parse_head(f);
    }
    if (!known) return reset();
    if (!(closed && state_ == State::Body && framing_ == Framing::UntilClose)) set_truncated();
    emit(out);
}

void HttpStream::reset() {
    req_ = {};
    resp_ = {};
    head_.clear();
    scanned_ = 0;
    start_ok_ = false;
    line_.clear();
    remaining_ = 0;
    state_ = State::Head;
}

}  // namespace stockade::tools
