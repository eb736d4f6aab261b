// Serialisation goes through cereal's JSON archives. cereal always pretty-prints (its
// NoIndent option still puts a newline before every member and a space after every colon),
// so compact() strips the whitespace outside strings afterwards. That is safe because JSON
// escapes every control character inside strings: a raw space or newline in the output can
// only be insignificant whitespace between tokens.
#include "journal/json.hpp"

#include <cereal/archives/json.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>
#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

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

std::string compact(const std::string& pretty) {
    std::string out;
    out.reserve(pretty.size());
    bool in_string = false, escaped = false;
    for (char c : pretty) {
        if (in_string) {
            out += c;
            if (escaped) escaped = false;
            else if (c == '\\') escaped = true;
            else if (c == '"') in_string = false;
        } else if (c == '"') {
            in_string = true;
            out += c;
        } else if (c != ' ' && c != '\n' && c != '\r' && c != '\t') {
            out += c;
        }
    }
    return out;
}

}  // namespace

std::string to_json_line(const Record& r) {
    std::ostringstream os;
    {
        cereal::JSONOutputArchive ar(os, cereal::JSONOutputArchive::Options::NoIndent());
        for_each_field(r, [&](const char* name, const auto& v) {
            if constexpr (std::is_same_v<std::decay_t<decltype(v)>, uint16_t>) {
                // cereal has no 16-bit JSON overload; widen it (and range-check on load).
                uint32_t wide = v;
                ar(cereal::make_nvp(name, wide));
            } else {
                ar(cereal::make_nvp(name, v));
            }
        });
    }  // the archive closes the object in its destructor
    return compact(os.str());
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
            if (why.find("not found") != std::string::npos)
                throw Error("journal line has no field \"" + std::string(name) + "\"");
            throw Error("journal line field \"" + std::string(name) + "\" has the wrong type (" + why +
                        ")");
        }
    });
    return r;
}

}  // namespace stockade::journal
