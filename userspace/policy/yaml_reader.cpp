#include "policy/yaml_reader.hpp"

#include <yaml-cpp/eventhandler.h>

#include <algorithm>
#include <charconv>
#include <sstream>

namespace stockade::policy {

void Reader::add(const YAML::Mark& at, std::string message, bool error) {
    // yaml-cpp marks are 0-based; an empty document has no mark at all (-1).
    int line = at.line >= 0 ? at.line + 1 : 1;
    int column = at.column >= 0 ? at.column + 1 : 1;
    out_.push_back({file_, line, column, std::move(message), error});
    errors_ += error;
}

void Reader::warn(int line, int column, std::string message) {
    out_.push_back({file_, line, column, std::move(message), false});
}

std::string_view type_name(const YAML::Node& n) {
    switch (n.Type()) {
    case YAML::NodeType::Scalar: return "a scalar";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Map: return "a mapping";
    default: return "nothing";
    }
}

namespace {

size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<size_t> row(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= b.size(); ++j) {
            size_t up = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] != b[j - 1])});
            diag = up;
        }
    }
    return row[b.size()];
}

}  // namespace

std::string suggest(std::string_view word, std::initializer_list<std::string_view> candidates) {
    std::string best;
    size_t best_d = std::max<size_t>(2, word.size() / 3) + 1;  // more than that is not a typo
    for (auto c : candidates) {
        size_t d = edit_distance(word, c);
        if (d < best_d) best_d = d, best = c;
    }
    return best;
}

std::map<std::string, Field> Reader::fields(const YAML::Node& node, const YAML::Mark& at, std::string_view what,
                                            std::initializer_list<std::string_view> known) {
    std::map<std::string, Field> out;
    if (node.IsNull()) return out;
    if (!node.IsMap()) {
        error(at, std::string(what) + " must be a mapping, not " + std::string(type_name(node)));
        return out;
    }
    // By value: yaml-cpp's iterator hands out temporaries, so references into `it->` dangle.
    for (const auto& kv : node) {
        YAML::Node k = kv.first;
        if (!k.IsScalar()) {
            error(k.Mark(), "keys of " + std::string(what) + " must be plain words");
            continue;
        }
        std::string key = k.Scalar();
        if (std::find(known.begin(), known.end(), key) == known.end()) {
            std::string msg = "unknown key \"" + key + "\"";
            if (what != kTopLevel) msg += " in " + std::string(what);
            if (auto s = suggest(key, known); !s.empty()) msg += " (did you mean \"" + s + "\"?)";
            error(k.Mark(), msg);
            continue;
        }
        if (auto prev = out.find(key); prev != out.end()) {
            error(k.Mark(), "duplicate key \"" + key + "\" (first at line " +
                                std::to_string(prev->second.key_mark.line + 1) + ")");
            continue;
        }
        out.emplace(key, Field{key, k.Mark(), kv.second});
    }
    return out;
}

std::optional<std::string> Reader::scalar(const Field& f) {
    if (!f.value.IsScalar()) {
        error(f.mark(), f.key + " must be a string, not " + std::string(type_name(f.value)));
        return std::nullopt;
    }
    return f.value.Scalar();
}

std::optional<bool> Reader::boolean(const Field& f) {
    bool v = false;
    if (f.value.IsScalar() && YAML::convert<bool>::decode(f.value, v)) return v;
    error(f.mark(), f.key + " must be true or false");
    return std::nullopt;
}

std::optional<int64_t> Reader::integer(const Field& f, int64_t min, int64_t max) {
    if (f.value.IsScalar()) {
        const std::string& s = f.value.Scalar();
        int64_t v = 0;
        auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        if (ec == std::errc() && p == s.data() + s.size() && v >= min && v <= max) return v;
    }
    error(f.mark(), f.key + " must be an integer in " + std::to_string(min) + "-" + std::to_string(max));
    return std::nullopt;
}

std::vector<YAML::Node> Reader::list(const Field& f) {
    std::vector<YAML::Node> out;
    if (f.value.IsNull()) return out;
    if (f.value.IsSequence()) {
        for (const auto& item : f.value) out.push_back(item);
    } else {
        out.push_back(f.value);
    }
    return out;
}

namespace {

// Counts the parser's events and throws once there are more than the text can hold.
class EventBudget : public YAML::EventHandler {
public:
    explicit EventBudget(size_t limit) : limit_(limit) {}
    void OnDocumentStart(const YAML::Mark& m) override { spend(m); }
    void OnDocumentEnd() override { spend(last_); }
    void OnNull(const YAML::Mark& m, YAML::anchor_t) override { spend(m); }
    void OnAlias(const YAML::Mark& m, YAML::anchor_t) override { spend(m); }
    void OnScalar(const YAML::Mark& m, const std::string&, YAML::anchor_t, const std::string&) override { spend(m); }
    void OnSequenceStart(const YAML::Mark& m, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
        spend(m);
    }
    void OnSequenceEnd() override { spend(last_); }
    void OnMapStart(const YAML::Mark& m, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
        spend(m);
    }
    void OnMapEnd() override { spend(last_); }

private:
    void spend(const YAML::Mark& m) {
        last_ = m;
        if (++used_ > limit_)
            throw YAML::ParserException(m, "the YAML parser made more than " + std::to_string(limit_) +
                                               " nodes from this text and was stopped (a malformed flow "
                                               "collection such as an unclosed [ or { near here?)");
    }
    size_t limit_, used_ = 0;
    YAML::Mark last_;
};

}  // namespace

std::vector<YAML::Node> load_all_bounded(const std::string& text) {
    std::istringstream in(text);
    YAML::Parser parser(in);
    EventBudget budget(4 * text.size() + 64);
    while (parser.HandleNextDocument(budget)) {
    }
    return YAML::LoadAll(text);
}

}  // namespace stockade::policy
