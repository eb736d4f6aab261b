// Writing goes straight through rapidjson's compact Writer, field by field: one pass, no
// intermediate tree. A record is written compact: a field at its default value (empty string or
// list, 0, "decision" for type, -1 for latency_us and held_us) is left out, except seq, prev and hash. A
// record read from a full-form line (every field present: journals written before compact
// records) is written back in full, byte for byte as cereal wrote it, so old journals still
// verify (tests/unit/journal/json_compat_test.cpp compares the two).
// Reading walks a rapidjson document after an iterative syntax check; an absent field is its
// default.
#include "journal/json.hpp"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <limits>

#include "common/error.hpp"
#include "journal/fields.hpp"

namespace stockade::journal {
namespace {

// No record nests deeper than an object holding a list (argv); anything much deeper is not a
// record. rapidjson's default parser recurses once per level, so a line of a million '['
// (a torn or forged tail) would overflow the stack before any error could be reported.
constexpr unsigned kMaxDepth = 16;

// Syntax check only: counts nesting and stops the (iterative) parse beyond kMaxDepth.
struct DepthLimit : rapidjson::BaseReaderHandler<rapidjson::UTF8<>, DepthLimit> {
    unsigned depth = 0;
    bool too_deep = false;
    bool Default() { return true; }
    bool StartObject() { return enter(); }
    bool StartArray() { return enter(); }
    bool EndObject(rapidjson::SizeType) { return leave(); }
    bool EndArray(rapidjson::SizeType) { return leave(); }
    bool enter() {
        too_deep = ++depth > kMaxDepth;
        return !too_deep;
    }
    bool leave() {
        --depth;
        return true;
    }
};

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

void put(JsonWriter& w, const std::string& v) { w.String(v.data(), static_cast<rapidjson::SizeType>(v.size())); }
void put(JsonWriter& w, std::string_view v) { w.String(v.data(), static_cast<rapidjson::SizeType>(v.size())); }
void put(JsonWriter& w, RecordType v) { put(w, to_string(v)); }
void put(JsonWriter& w, Verdict v) { put(w, to_string(v)); }
void put(JsonWriter& w, const Enforcements& v) { put(w, to_string(v)); }
void put(JsonWriter& w, uint64_t v) { w.Uint64(v); }
void put(JsonWriter& w, int64_t v) { w.Int64(v); }
void put(JsonWriter& w, uint32_t v) { w.Uint(v); }
void put(JsonWriter& w, uint16_t v) { w.Uint(v); }
void put(JsonWriter& w, const std::vector<std::string>& v) {
    w.StartArray();
    for (auto& s : v) put(w, s);
    w.EndArray();
}
void put(JsonWriter& w, const std::vector<ToolUse>& v) {
    w.StartArray();
    for (auto& t : v) {
        w.StartObject();
        for (auto [key, value] : {std::pair{"id", &t.id}, {"name", &t.name}, {"input_sha256", &t.input_sha256},
                                  {"command", &t.command}}) {
            if (value->empty()) continue;
            w.Key(key);
            put(w, *value);
        }
        w.EndObject();
    }
    w.EndArray();
}

// The chain fields are always written: seal_to_line finds the empty "hash" to fill in.
bool always_written(std::string_view name) { return name == "seq" || name == "prev" || name == "hash"; }

[[noreturn]] void wrong_type(const char* name, const char* expected) {
    throw Error("journal line field \"" + std::string(name) + "\" has the wrong type (expected " + expected + ")");
}

void get(const rapidjson::Value& v, const char* name, std::string& out) {
    if (!v.IsString()) wrong_type(name, "a string");
    out.assign(v.GetString(), v.GetStringLength());
}
[[noreturn]] void unknown_value(const char* name, std::string_view text, const std::string& why = "") {
    throw Error("journal line field \"" + std::string(name) + "\" has a value no journal holds: \"" +
                std::string(text) + "\"" + (why.empty() ? "" : " (" + why + ")"));
}
void get(const rapidjson::Value& v, const char* name, RecordType& out) {
    std::string text;
    get(v, name, text);
    auto t = record_type_from(text);
    if (!t) unknown_value(name, text);
    out = *t;
}
void get(const rapidjson::Value& v, const char* name, Verdict& out) {
    std::string text;
    get(v, name, text);
    auto verdict = verdict_from(text);
    if (!verdict) unknown_value(name, text);
    out = *verdict;
}
void get(const rapidjson::Value& v, const char* name, Enforcements& out) {
    std::string text;
    get(v, name, text);
    try {
        out = enforcements_from(text);
    } catch (const Error& e) {
        unknown_value(name, text, e.what());
    }
}
void get(const rapidjson::Value& v, const char* name, uint64_t& out) {
    if (!v.IsUint64()) wrong_type(name, "an unsigned integer");
    out = v.GetUint64();
}
void get(const rapidjson::Value& v, const char* name, int64_t& out) {
    if (!v.IsInt64()) wrong_type(name, "an integer");
    out = v.GetInt64();
}
void get(const rapidjson::Value& v, const char* name, uint32_t& out) {
    if (!v.IsUint()) wrong_type(name, "an unsigned 32-bit integer");
    out = v.GetUint();
}
void get(const rapidjson::Value& v, const char* name, uint16_t& out) {
    if (!v.IsUint()) wrong_type(name, "an unsigned integer");
    if (v.GetUint() > std::numeric_limits<uint16_t>::max())
        throw Error("journal line field \"" + std::string(name) + "\" is out of range: " + std::to_string(v.GetUint()));
    out = static_cast<uint16_t>(v.GetUint());
}
void get(const rapidjson::Value& v, const char* name, std::vector<std::string>& out) {
    if (!v.IsArray()) wrong_type(name, "a list of strings");
    out.clear();
    for (auto& item : v.GetArray()) {
        if (!item.IsString()) wrong_type(name, "a list of strings");
        out.emplace_back(item.GetString(), item.GetStringLength());
    }
}

void get(const rapidjson::Value& v, const char* name, std::vector<ToolUse>& out) {
    if (!v.IsArray()) wrong_type(name, "a list of tool uses");
    out.clear();
    for (auto& item : v.GetArray()) {
        if (!item.IsObject()) wrong_type(name, "a list of objects");
        ToolUse t;
        for (auto [key, value] : {std::pair{"id", &t.id}, {"name", &t.name}, {"input_sha256", &t.input_sha256},
                                  {"command", &t.command}})
            if (auto it = item.FindMember(key); it != item.MemberEnd()) get(it->value, name, *value);
        out.push_back(std::move(t));
    }
}

}  // namespace

std::string to_json_line(const Record& r) {
    // One buffer per thread, reused: a record is serialised on every append.
    thread_local rapidjson::StringBuffer buf;
    buf.Clear();
    JsonWriter w(buf);
    w.StartObject();
    for_each_field(r, [&](const char* name, const auto& v) {
        if (r.full_form ? omitted(name, v) : !always_written(name) && is_default(name, v)) return;
        w.Key(name);
        put(w, v);
    });
    w.EndObject();
    return std::string(buf.GetString(), buf.GetSize());
}

Record from_json_line(std::string_view line) {
    if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
    if (line.empty()) throw Error("journal line is empty");

    // Validate the syntax first, iteratively and depth-limited, to name the problem and its
    // offset: the document below is only built for shallow, well-formed lines.
    {
        rapidjson::Reader reader;
        DepthLimit limit;
        rapidjson::MemoryStream ms(line.data(), line.size());
        auto res = reader.Parse<rapidjson::kParseIterativeFlag>(ms, limit);
        if (limit.too_deep)
            throw Error("journal line nests JSON deeper than " + std::to_string(kMaxDepth) + " levels at byte " +
                        std::to_string(res.Offset()));
        if (res.IsError()) {
            throw Error("journal line is not valid JSON at byte " + std::to_string(res.Offset()) +
                        ": " + rapidjson::GetParseError_En(res.Code()) +
                        (res.Offset() >= line.size() ? " (line truncated?)" : ""));
        }
        if (line.front() != '{') throw Error("journal line is not a JSON object");
    }

    rapidjson::Document doc;
    doc.Parse<rapidjson::kParseIterativeFlag>(line.data(), line.size());
    Record r;
    size_t present = 0, fields = 0;
    // By index, not by iterator: clang's C++20 mode rejects comparing rapidjson's member
    // iterators (-Wambiguous-reversed-operator). A written line holds its fields in this order,
    // so the search starts where the last field was found.
    const auto members = doc.MemberBegin();
    const rapidjson::SizeType count = doc.MemberCount();
    rapidjson::SizeType next = 0;
    auto find = [&](const char* name) {
        for (rapidjson::SizeType k = 0; k < count; ++k) {
            rapidjson::SizeType i = (next + k) % count;
            if (members[i].name == name) return i;
        }
        return count;
    };
    for_each_field(r, [&](const char* name, auto& v) {
        if (!is_optional_field(name)) ++fields;
        rapidjson::SizeType i = find(name);
        if (i == count) return;
        next = i + 1;
        if (!is_optional_field(name)) ++present;
        get(members[i].value, name, v);
    });
    r.full_form = present == fields;
    return r;
}

}  // namespace stockade::journal
