#include "journal/format.hpp"

#include <cstdio>

namespace stockade::journal {
namespace {

std::string hex_byte(unsigned char c) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\x%02x", c);
    return buf;
}

// Length of the valid UTF-8 sequence starting at s[i] and its code point; 0 if invalid.
size_t utf8_seq(std::string_view s, size_t i, char32_t& cp) {
    auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
    unsigned char c = b(0);
    size_t n;
    if (c < 0x80) { cp = c; return 1; }
    if (c >= 0xc2 && c <= 0xdf) { n = 2; cp = c & 0x1f; }
    else if (c >= 0xe0 && c <= 0xef) { n = 3; cp = c & 0x0f; }
    else if (c >= 0xf0 && c <= 0xf4) { n = 4; cp = c & 0x07; }
    else return 0;
    if (i + n > s.size()) return 0;
    for (size_t k = 1; k < n; ++k) {
        if ((b(k) & 0xc0) != 0x80) return 0;
        cp = (cp << 6) | (b(k) & 0x3f);
    }
    // Reject overlong forms, surrogates and values past U+10FFFF.
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

size_t display_width(std::string_view s) {
    size_t w = 0;
    for (unsigned char c : s) w += (c & 0xc0) != 0x80;  // count code points, not bytes
    return w;
}

void column(std::string& out, std::string_view text, size_t width) {
    out += text;
    size_t w = display_width(text);
    out.append(w < width ? width - w : 0, ' ');
    out += "  ";
}

std::string or_dash(const std::string& s) { return s.empty() ? "-" : terminal_safe(s); }

std::string object_of(const Record& r) {
    // An MCP call: the tool and its server (older tool records held the tool in path, the rest in detail).
    if (r.type == RecordType::Tool && !r.tool.empty())
        return terminal_safe(r.tool + (r.server.empty() ? "" : " on " + r.server));
    if (r.type != RecordType::Decision) return terminal_safe(r.detail.empty() ? r.path : r.detail);
    if (!r.address.empty()) {
        std::string a = terminal_safe(r.address);
        if (r.protocol == "unix" || r.port == 0) return a;
        if (a.find(':') != std::string::npos) a = "[" + a + "]";  // IPv6
        return a + ":" + std::to_string(r.port);
    }
    std::string o = terminal_safe(r.path);
    if (!r.path2.empty()) o += " -> " + terminal_safe(r.path2);
    return o;
}

const char* color_of(Verdict verdict) {
    switch (verdict) {
    case Verdict::Deny:
    case Verdict::Kill: return "\x1b[31m";
    case Verdict::Flag:
    case Verdict::WouldDeny: return "\x1b[33m";
    case Verdict::Allow: return "\x1b[32m";
    case Verdict::None:
    case Verdict::Ask: return nullptr;
    }
    return nullptr;
}

}  // namespace

std::string terminal_safe(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size();) {
        char32_t cp = 0;
        size_t n = utf8_seq(s, i, cp);
        if (n == 0) {
            out += hex_byte(static_cast<unsigned char>(s[i]));
            ++i;
            continue;
        }
        if (cp == '\n') out += "\\n";
        else if (cp == '\t') out += "\\t";
        else if (cp == '\r') out += "\\r";
        else if (cp < 0x20 || cp == 0x7f) out += hex_byte(static_cast<unsigned char>(cp));
        else if ((cp >= 0x80 && cp <= 0x9f) || (cp >= 0x202a && cp <= 0x202e) ||
                 (cp >= 0x2066 && cp <= 0x2069)) {
            char buf[16];
            std::snprintf(buf, sizeof buf, "\\u{%04x}", static_cast<unsigned>(cp));
            out += buf;
        } else {
            out.append(s.substr(i, n));
        }
        i += n;
    }
    return out;
}

std::string format_text(const Record& r, bool color) {
    std::string out;
    // Stored times are "YYYY-MM-DDTHH:MM:SS.ffffffZ": milliseconds are enough to read.
    std::string time = r.time.size() == 27 ? r.time.substr(0, 23) + "Z" : r.time;
    column(out, or_dash(time), 24);
    column(out, or_dash(r.agent), 12);
    column(out, or_dash(r.task), 12);

    std::string verdict = or_dash(std::string(to_string(r.verdict)));
    const char* c = color ? color_of(r.verdict) : nullptr;
    if (c) out += c + verdict + "\x1b[0m";
    else out += verdict;
    size_t w = display_width(verdict);
    out.append(w < 10 ? 10 - w : 0, ' ');
    out += "  ";

    column(out, or_dash(r.type == RecordType::Decision ? r.action : std::string(to_string(r.type))), 8);
    std::string object = object_of(r);
    column(out, object.empty() ? "-" : object, 40);
    column(out, or_dash(r.rule), 16);
    out += or_dash(to_string(r.enforcement));
    // Which model call asked for it (agents that call models): "intent toolu_01 (llm #41)" or "intent none".
    if (!r.intent.empty())
        out += "  intent " + terminal_safe(r.intent) +
               (r.intent_seq ? " (llm #" + std::to_string(r.intent_seq) + ")" : std::string());
    return out;
}

}  // namespace stockade::journal
