// The form every journal written before the rapidjson line writer is in: cereal's archive, with
// the whitespace it adds outside strings removed. Kept as the reference that the line writer is
// checked against (tests/unit/journal/json_compat_test.cpp) and measured against (bench
// "journal"); nothing in the daemon writes with it.
#include <cereal/archives/json.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>

#include <sstream>

#include "journal/fields.hpp"
#include "journal/json.hpp"

namespace stockade::journal {

// Never written by cereal in practice (a full-form line predates tool uses, see omitted()); here
// so that the reference writer covers every field type.
template <class A>
void serialize(A& a, ToolUse& t) {
    a(cereal::make_nvp("id", t.id), cereal::make_nvp("name", t.name), cereal::make_nvp("input_sha256", t.input_sha256),
      cereal::make_nvp("command", t.command));
}

// How lines were written before: cereal's pretty-printing archive, then every whitespace
// character outside strings removed.
std::string to_json_line_cereal(const Record& r) {
    std::ostringstream os;
    {
        cereal::JSONOutputArchive ar(os, cereal::JSONOutputArchive::Options::NoIndent());
        for_each_field(r, [&](const char* name, const auto& v) {
            if (omitted(name, v)) return;
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, uint16_t>) {
                uint32_t wide = v;
                ar(cereal::make_nvp(name, wide));
            } else if constexpr (std::is_enum_v<T> || std::is_same_v<T, Enforcements>) {
                std::string text(to_string(v));
                ar(cereal::make_nvp(name, text));
            } else {
                ar(cereal::make_nvp(name, v));
            }
        });
    }
    std::string out;
    bool in_string = false, escaped = false;
    for (char c : os.str()) {
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

}  // namespace stockade::journal
