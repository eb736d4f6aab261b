// Folding used paths into rules: only directories the agent used several files of, never "/**"
// nor a top-level directory.
#include <catch2/catch.hpp>

#include "cli/learn.hpp"
#include "policy/policy.hpp"

using namespace stockade::cli::learn;

namespace {

std::map<std::string, Seen> used(const std::vector<std::string>& paths) {
    std::map<std::string, Seen> m;
    int i = 0;
    for (auto& p : paths) m[p].add("2026-11-25T09:00:0" + std::to_string(i++ % 10) + ".000000Z");
    return m;
}

std::vector<std::string> patterns(const std::map<std::string, Seen>& m, size_t min_files = 3) {
    std::vector<std::string> out;
    for (auto& r : fold(m, fold_dirs(m, min_files))) out.push_back(r.pattern);
    return out;
}

using V = std::vector<std::string>;

}  // namespace

TEST_CASE("several files used in one directory fold into dir/**, with counts and times merged", "[learn]") {
    auto m = used({"/srv/repo/a.c", "/srv/repo/b.c", "/srv/repo/c.c", "/srv/repo/sub/d.c"});
    m["/srv/repo/a.c"].add("2026-11-25T10:00:00.000000Z", 4);
    auto rules = fold(m, fold_dirs(m));
    REQUIRE(rules.size() == 1);
    CHECK(rules[0].pattern == "/srv/repo/**");
    CHECK(rules[0].paths == 4);
    CHECK(rules[0].seen.count == 8);
    CHECK(rules[0].seen.first == "2026-11-25T09:00:00.000000Z");
    CHECK(rules[0].seen.last == "2026-11-25T10:00:00.000000Z");
}

TEST_CASE("two files of a directory stay exact paths", "[learn]") {
    CHECK(patterns(used({"/srv/repo/a.c", "/srv/repo/b.c"})) == V{"/srv/repo/a.c", "/srv/repo/b.c"});
}

TEST_CASE("never /** nor a top-level directory, however many files", "[learn]") {
    auto m = used({"/a", "/b", "/c", "/d", "/etc/x", "/etc/y", "/etc/z", "/tmp/1", "/tmp/2", "/tmp/3"});
    CHECK(fold_dirs(m).empty());
    auto p = patterns(m);
    CHECK(p.size() == m.size());
    for (auto& s : p) CHECK(s.find("**") == std::string::npos);
}

TEST_CASE("never wider than a directory that was used: siblings fold separately", "[learn]") {
    auto m = used({"/srv/p/x/1", "/srv/p/x/2", "/srv/p/x/3", "/srv/p/y/1", "/srv/p/y/2", "/srv/p/y/3", "/srv/p/z/1"});
    CHECK(patterns(m) == V{"/srv/p/x/**", "/srv/p/y/**", "/srv/p/z/1"});
}

TEST_CASE("the highest folded directory wins, and a directory path itself folds into it", "[learn]") {
    auto m = used({"/srv/r/a", "/srv/r/b", "/srv/r/c", "/srv/r/s/1", "/srv/r/s/2", "/srv/r/s/3"});
    m["/srv/r"].add("2026-11-25T09:00:00.000000Z");  // mkdir of the directory itself
    CHECK(patterns(m) == V{"/srv/r/**"});
}

TEST_CASE("pseudo filesystems never fold", "[learn]") {
    auto m = used({"/proc/77/a", "/proc/77/b", "/proc/77/c", "/dev/shm/a", "/dev/shm/b", "/dev/shm/c"});
    CHECK(fold_dirs(m).empty());
}

TEST_CASE("wildcard characters in a path are escaped so the rule matches only that path", "[learn]") {
    std::string p = "/srv/we*ird[1]?";
    std::string e = escape_pattern(p);
    CHECK(e == "/srv/we[*]ird[[]1][?]");
    stockade::policy::Glob g(e);
    CHECK(g.matches(p));
    CHECK_FALSE(g.matches("/srv/weXird[1]?"));
    CHECK_FALSE(g.matches("/srv/we*ird11"));
}
