// Typed reading of a YAML boundary file that records a located Diagnostic for every problem
// and carries on, so one `stockade check` run reports all mistakes in a file at once.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "policy/diagnostic.hpp"

namespace stockade::policy {

// The `what` of the top-level mapping: unknown keys there are reported without an "in ...".
inline constexpr std::string_view kTopLevel = "the boundary";

// One key: value pair of a mapping. A null value has no useful mark of its own (yaml-cpp puts
// it at the next token), so locations of null values point at the key.
struct Field {
    std::string key;
    YAML::Mark key_mark;
    YAML::Node value;
    YAML::Mark mark() const { return value.IsNull() ? key_mark : value.Mark(); }
};

class Reader {
public:
    Reader(std::string file, std::vector<Diagnostic>& out) : file_(std::move(file)), out_(out) {}

    const std::string& file() const { return file_; }
    void error(const YAML::Mark& at, std::string message) { add(at, std::move(message), true); }
    void warn(const YAML::Mark& at, std::string message) { add(at, std::move(message), false); }
    void warn(int line, int column, std::string message);
    bool failed() const { return errors_ > 0; }
    int error_count() const { return errors_; }

    // The fields of a mapping (first occurrence of each key). Reports keys not in `known`
    // (suggesting the closest known key) and duplicated keys. `what` names the mapping in
    // messages ("files"); an error is reported when `node` is not a mapping.
    std::map<std::string, Field> fields(const YAML::Node& node, const YAML::Mark& at, std::string_view what,
                                        std::initializer_list<std::string_view> known);

    std::optional<std::string> scalar(const Field& f);
    std::optional<bool> boolean(const Field& f);
    std::optional<int64_t> integer(const Field& f, int64_t min, int64_t max);
    // A single scalar/mapping or a sequence of them; null is the empty list.
    std::vector<YAML::Node> list(const Field& f);
    // One of a fixed set of words.
    template <typename T>
    std::optional<T> choice(const Field& f, std::initializer_list<std::pair<std::string_view, T>> words) {
        auto s = scalar(f);
        if (!s) return std::nullopt;
        std::string all;
        for (const auto& [w, v] : words) {
            if (*s == w) return v;
            all += (all.empty() ? "" : ", ") + std::string(w);
        }
        error(f.mark(), f.key + " must be one of " + all + ", not \"" + *s + "\"");
        return std::nullopt;
    }

private:
    void add(const YAML::Mark& at, std::string message, bool error);

    std::string file_;
    std::vector<Diagnostic>& out_;
    int errors_ = 0;
};

// YAML::LoadAll with a bound on the parser's work. yaml-cpp 0.7 (Debian 12) can loop on some
// malformed flow collections, making nodes until memory runs out (found by fuzzing: a 558-byte
// boundary file). A document has at most a few parser events per byte of text, so a first pass
// counts them and stops past that. Throws YAML::ParserException (with a mark) like LoadAll.
std::vector<YAML::Node> load_all_bounded(const std::string& text);

std::string_view type_name(const YAML::Node& n);  // "a string", "a list", "a mapping", "nothing"
// The closest of `candidates` to `word` when it is a likely typo, else "".
std::string suggest(std::string_view word, std::initializer_list<std::string_view> candidates);

}  // namespace stockade::policy
