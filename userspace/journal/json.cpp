// Writing goes straight through rapidjson's compact Writer, field by field: one pass, no
// intermediate tree. It is the same rapidjson that cereal wraps, so every string is escaped as
// cereal escaped it, and journals written before this change re-serialise byte for byte (the
// verifier's canonical check; tests/unit/journal/json_compat_test.cpp compares the two).
// Reading goes through cereal's JSON archive, after an iterative syntax check.
#include "journal/json.hpp"

#include <cereal/archives/json.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>
#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <limits>
#include <sstream>

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
void put(JsonWriter& w, uint64_t v) { w.Uint64(v); }
void put(JsonWriter& w, int64_t v) { w.Int64(v); }
void put(JsonWriter& w, uint32_t v) { w.Uint(v); }
void put(JsonWriter& w, uint16_t v) { w.Uint(v); }
void put(JsonWriter& w, const std::vector<std::string>& v) {
    w.StartArray();
    for (auto& s : v) put(w, s);
    w.EndArray();
}

}  // namespace

std::string to_json_line(const Record& r) {
    // One buffer per thread, reused: a record is serialised on every append.
    thread_local rapidjson::StringBuffer buf;
    buf.Clear();
    JsonWriter w(buf);
    w.StartObject();
    for_each_field(r, [&](const char* name, const auto& v) {
        if (omitted(name, v)) return;
        w.Key(name);
        put(w, v);
    });
    w.EndObject();
    return std::string(buf.GetString(), buf.GetSize());
}

Record from_json_line(std::string_view line) {
    if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
    if (line.empty()) throw Error("journal line is empty");

    // cereal does not check rapidjson's parse result (a truncated line surfaces as an
    // internal assertion), so validate the syntax first to name the problem and its offset.
    // Iterative and depth-limited: cereal's own (recursive) parse then only sees shallow lines.
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

    Record r;
    std::istringstream is{std::string(line)};
    cereal::JSONInputArchive ar(is);
    for_each_field(r, [&](const char* name, auto& v) {
        try {
            if constexpr (std::is_same_v<std::decay_t<decltype(v)>, uint16_t>) {
                uint32_t wide = 0;
                ar(cereal::make_nvp(name, wide));
                if (wide > std::numeric_limits<uint16_t>::max())
                    throw Error("journal line field \"" + std::string(name) + "\" is out of range: " +
                                std::to_string(wide));
                v = static_cast<uint16_t>(wide);
            } else {
                ar(cereal::make_nvp(name, v));
            }
        } catch (const cereal::Exception& e) {
            std::string why = e.what();
            if (why.find("not found") != std::string::npos && is_optional_field(name)) return;
            if (why.find("not found") != std::string::npos)
                throw Error("journal line has no field \"" + std::string(name) + "\"");
            throw Error("journal line field \"" + std::string(name) + "\" has the wrong type (" + why +
                        ")");
        }
    });
    return r;
}

}  // namespace stockade::journal
