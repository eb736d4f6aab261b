#include <catch2/catch.hpp>

#include "policy/glob.hpp"

using stockade::policy::component_match;
using stockade::policy::Glob;
using stockade::policy::glob_syntax_error;
using stockade::policy::PatternKind;

TEST_CASE("exact patterns match only the same path", "[glob]") {
    Glob g("/etc/passwd");
    CHECK(g.matches("/etc/passwd"));
    CHECK_FALSE(g.matches("/etc/passwd2"));
    CHECK_FALSE(g.matches("/etc/passwd/x"));
    CHECK_FALSE(g.matches("/etc"));
    CHECK(g.kind() == PatternKind::Exact);
    CHECK(g.dir() == "/etc/passwd");
}

TEST_CASE("* matches within one component and never across /", "[glob]") {
    Glob g("/notes/*.md");
    CHECK(g.matches("/notes/a.md"));
    CHECK(g.matches("/notes/.md"));
    CHECK_FALSE(g.matches("/notes/sub/a.md"));
    CHECK_FALSE(g.matches("/notes/a.mdx"));
    CHECK_FALSE(g.matches("/notes"));
    CHECK(Glob("/usr/bin/python3*").matches("/usr/bin/python3.11"));
    CHECK_FALSE(Glob("/usr/bin/python3*").matches("/usr/bin/python2"));
    CHECK(Glob("/a/*/c").matches("/a/b/c"));
    CHECK_FALSE(Glob("/a/*/c").matches("/a/b/x/c"));
    CHECK(Glob("/a/*x*y").matches("/a/1x2x3y"));
    CHECK_FALSE(Glob("/a/*x*y").matches("/a/1x2x3y4"));
}

TEST_CASE("** at the start matches any leading components, including none", "[glob]") {
    Glob g("**/.env");
    CHECK(g.matches("/a/b/.env"));
    CHECK(g.matches("/.env"));
    CHECK_FALSE(g.matches("/a/b/.envrc"));
    CHECK_FALSE(g.matches("/a/.env/x"));
    CHECK(g.kind() == PatternKind::Glob);
}

TEST_CASE("** in the middle matches zero or more components", "[glob]") {
    Glob g("/a/**/z");
    CHECK(g.matches("/a/z"));
    CHECK(g.matches("/a/b/z"));
    CHECK(g.matches("/a/b/c/d/z"));
    CHECK_FALSE(g.matches("/a/b/c"));
    CHECK_FALSE(g.matches("/b/z"));
    Glob two("/**/x/**/y");
    CHECK(two.matches("/x/y"));
    CHECK(two.matches("/p/x/q/r/y"));
    CHECK_FALSE(two.matches("/p/x/q/r/yz"));
}

TEST_CASE("dir/** at the end is the directory and everything below it", "[glob]") {
    Glob g("/repo/**");
    CHECK(g.matches("/repo"));
    CHECK(g.matches("/repo/a"));
    CHECK(g.matches("/repo/a/b/c"));
    CHECK_FALSE(g.matches("/repository"));
    CHECK_FALSE(g.matches("/rep"));
    CHECK_FALSE(g.matches("relative/repo/a"));
    CHECK(g.kind() == PatternKind::Subtree);
    CHECK(g.dir() == "/repo");
    CHECK(Glob("/**").kind() == PatternKind::Subtree);
    CHECK(Glob("/**").dir() == "/");
    CHECK(Glob("/**").matches("/anything/at/all"));
    CHECK(Glob("/repo/*/**").kind() == PatternKind::Glob);
    CHECK(Glob("/repo/*/**").dir() == "/repo");
}

TEST_CASE("? and character classes", "[glob]") {
    CHECK(Glob("/a/?.c").matches("/a/x.c"));
    CHECK_FALSE(Glob("/a/?.c").matches("/a/xy.c"));
    CHECK_FALSE(Glob("/a/?.c").matches("/a/.c"));
    CHECK(Glob("/a/[abc].txt").matches("/a/b.txt"));
    CHECK_FALSE(Glob("/a/[abc].txt").matches("/a/d.txt"));
    CHECK(Glob("/a/[a-c]x").matches("/a/cx"));
    CHECK_FALSE(Glob("/a/[a-c]x").matches("/a/dx"));
    CHECK(Glob("/a/[!a-c]x").matches("/a/dx"));
    CHECK_FALSE(Glob("/a/[!a-c]x").matches("/a/ax"));
    CHECK(Glob("/a/[^a]x").matches("/a/bx"));
    CHECK(component_match("[]]", "]"));
    CHECK_FALSE(component_match("[]]", "a"));
}

TEST_CASE("glob syntax errors", "[glob]") {
    CHECK(glob_syntax_error("/a/[bc") != "");
    CHECK(glob_syntax_error("/a/[b/c]") != "");
    CHECK(glob_syntax_error("/a/[bc]/**") == "");
    CHECK_THROWS(Glob("relative/x"));
}

TEST_CASE("covered_by is sound for the cases boundaries use", "[glob]") {
    CHECK(Glob("/home/u/.ssh/id_rsa").covered_by(Glob("/home/u/.ssh/**")));
    CHECK(Glob("/home/u/.ssh/**").covered_by(Glob("/home/u/.ssh/**")));
    CHECK(Glob("/home/u/.ssh/*.pub").covered_by(Glob("/home/u/**")));
    CHECK(Glob("/home/u/.ssh/keys/**").covered_by(Glob("**/.ssh/**")));
    CHECK(Glob("/repo/.env").covered_by(Glob("**/.env")));
    CHECK(Glob("/x/**").covered_by(Glob("/**")));
    CHECK_FALSE(Glob("/home/u/**").covered_by(Glob("/home/u/.ssh/**")));
    CHECK_FALSE(Glob("/repo/**").covered_by(Glob("**/.env")));
    CHECK_FALSE(Glob("/repo/*.env").covered_by(Glob("**/.env")));
}
