// The sequences: section of a boundary file (docs/boundary.md, "Sequences").
#include <algorithm>
#include <iterator>
#include <string_view>
#include <utility>

#include "policy/parse.hpp"

namespace stockade::policy {

namespace {

// "10s", "5m", "1h", "500ms" -> milliseconds; 0 on error.
uint64_t parse_window(const std::string& s) {
    size_t i = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
    if (i == 0) return 0;
    uint64_t n = std::stoull(s.substr(0, i));
    std::string unit = s.substr(i);
    if (unit == "ms") return n;
    if (unit == "s" || unit.empty()) return n * 1000;
    if (unit == "m") return n * 60'000;
    if (unit == "h") return n * 3'600'000;
    return 0;
}

// `through: [process, pipe, socket, file]`: what the label passes through. The process line is
// not optional (a child is the same actor), so it must be listed: a list without it would read
// as "not even fork", which the kernel cannot do.
void parse_through(Reader& r, const Field& f, const std::string& where, SequenceRule& s) {
    static constexpr std::pair<std::string_view, uint32_t> kWords[] = {
        {"process", 0}, {"pipe", SK_THROUGH_PIPE}, {"socket", SK_THROUGH_SOCKET}, {"file", SK_THROUGH_FILE}};
    auto items = r.list(f);
    bool process = false, ok = true;
    uint32_t through = 0;
    for (auto& item : items) {
        std::string word = item.IsScalar() ? item.Scalar() : "";
        auto w = std::find_if(std::begin(kWords), std::end(kWords), [&](auto& k) { return k.first == word; });
        if (w == std::end(kWords)) {
            r.error(item.Mark(), where + ".through: \"" + word + "\" is not one of process, pipe, socket, file");
            ok = false;
            continue;
        }
        process |= w->first == "process";
        through |= w->second;
    }
    if (ok && !process) {
        r.error(f.mark(), where + ".through must list process (a label always passes to the children a labelled "
                                  "process forks), e.g. [process] or [process, pipe, file]");
        return;
    }
    if (ok) s.through = through;
}

void parse_after_forbid(ParseContext& c, std::map<std::string, Field>& fs, const std::string& where, SequenceRule& s) {
    Reader& r = c.reader;
    auto& a = fs.at("after");
    auto as = r.fields(a.value, a.mark(), where + ".after", {"read", "write", "exec", "connect"});
    if (auto x = as.find("read"); x != as.end()) parse_path_rules(c, x->second, where + ".after.read", s.after_read);
    if (auto x = as.find("write"); x != as.end()) parse_path_rules(c, x->second, where + ".after.write", s.after_write);
    if (auto x = as.find("exec"); x != as.end()) parse_path_rules(c, x->second, where + ".after.exec", s.after_exec);
    if (auto x = as.find("connect"); x != as.end())
        parse_net_rule_list(c, x->second, where + ".after.connect", s.after_connect);
    auto& fb = fs.at("forbid");
    auto ff = r.fields(fb.value, fb.mark(), where + ".forbid",
                       {"read", "write", "exec", "write_except", "connect", "connect_except"});
    if (auto x = ff.find("read"); x != ff.end()) parse_path_rules(c, x->second, where + ".forbid.read", s.forbid_read);
    if (auto x = ff.find("write"); x != ff.end()) parse_path_rules(c, x->second, where + ".forbid.write", s.forbid_write);
    if (auto x = ff.find("exec"); x != ff.end()) parse_path_rules(c, x->second, where + ".forbid.exec", s.forbid_exec);
    if (auto x = ff.find("write_except"); x != ff.end())
        parse_path_rules(c, x->second, where + ".forbid.write_except", s.write_except);
    if (auto x = ff.find("connect"); x != ff.end()) {
        auto any = r.scalar(x->second);
        if (any && *any == "any") s.forbid_connect = true;
        else if (any) r.error(x->second.mark(), where + ".forbid.connect must be \"any\" (use connect_except for a list)");
    }
    if (auto x = ff.find("connect_except"); x != ff.end()) {
        s.forbid_connect = true;
        parse_net_rule_list(c, x->second, where + ".forbid.connect_except", s.connect_except);
    }
    if (auto x = fs.find("through"); x != fs.end()) parse_through(r, x->second, where, s);
}

void parse_count(ParseContext& c, const Field& cn, const std::string& where, SequenceRule& s) {
    Reader& r = c.reader;
    auto cs = r.fields(cn.value, cn.mark(), where + ".count", {"read", "distinct", "within"});
    if (auto x = cs.find("read"); x != cs.end()) parse_path_rules(c, x->second, where + ".count.read", s.count_read);
    else r.error(cn.mark(), where + ".count needs read:");
    if (auto x = cs.find("distinct"); x != cs.end()) {
        if (auto n = r.integer(x->second, 1, 1'000'000)) s.distinct = static_cast<uint32_t>(*n);
    } else {
        r.error(cn.mark(), where + ".count needs distinct:");
    }
    if (auto x = cs.find("within"); x != cs.end()) {
        if (auto w = r.scalar(x->second)) {
            s.within_ms = parse_window(*w);
            if (!s.within_ms) r.error(x->second.mark(), "within \"" + *w + "\": expected e.g. 10s, 5m, 1h, 500ms");
        }
    } else {
        r.error(cn.mark(), where + ".count needs within:");
    }
}

}  // namespace

void parse_sequences(ParseContext& c, const Field& f) {
    Reader& r = c.reader;
    auto items = r.list(f);
    for (size_t i = 0; i < items.size(); ++i) {
        const YAML::Node& item = items[i];
        std::string where = "sequences[" + std::to_string(i) + "]";
        if (!item.IsMap()) {
            r.error(item.IsNull() ? f.mark() : item.Mark(), where + " must be a mapping with name:, after:/forbid: or count:");
            continue;
        }
        auto fs = r.fields(item, item.Mark(), where, {"name", "after", "forbid", "through", "count"});
        SequenceRule s;
        if (!set_origin(c, s, "sequences", i, item.Mark(), fs)) continue;
        s.name = s.id.substr(c.boundary.file_name.size() + 1);
        bool has_after = fs.count("after"), has_forbid = fs.count("forbid"), has_count = fs.count("count");
        if (has_count && (has_after || has_forbid)) {
            r.error(item.Mark(), where + ": a sequence is either after:/forbid: or count:, not both");
            continue;
        }
        if (!has_count && !(has_after && has_forbid)) {
            r.error(item.Mark(), where + " needs both after: and forbid: (or count:)");
            continue;
        }
        if (has_count && fs.count("through")) {
            r.error(fs.at("through").key_mark, where + ".through: a count sequence attaches no label to pass on");
            continue;
        }
        if (has_after) parse_after_forbid(c, fs, where, s);
        else parse_count(c, fs.at("count"), where, s);
        c.boundary.sequences.push_back(std::move(s));
    }
}

}  // namespace stockade::policy
