// Deeply nested JSON, the line a forger or a torn write can leave at the end of a journal:
// every reader (parse, verify, tail, the writer's torn-tail recovery) reports or sets it aside
// instead of overflowing its stack.
#include <catch2/catch.hpp>

#include "common/error.hpp"
#include "helpers.hpp"
#include "journal/json.hpp"
#include "journal/reader.hpp"
#include "journal/verify.hpp"

using namespace stockade::journal;
using jtest::lines_of;
using jtest::read_file;

namespace {
const std::string kMillionBrackets(1'000'000, '[');  // the reported crash input
}

TEST_CASE("a line nested a million levels deep is an error naming the depth", "[journal][json][nesting]") {
    CHECK_THROWS_WITH(from_json_line(kMillionBrackets), Catch::Matchers::Contains("deeper than 16 levels"));
    CHECK_THROWS_WITH(from_json_line("{\"seq\":" + kMillionBrackets),
                      Catch::Matchers::Contains("deeper than 16 levels"));
    std::string closed = std::string(100'000, '[') + std::string(100'000, ']');
    CHECK_THROWS_WITH(from_json_line(closed), Catch::Matchers::Contains("deeper than 16 levels"));
    // Within the limit, the usual syntax/field errors still apply.
    CHECK_THROWS_WITH(from_json_line("[[[]]]"), Catch::Matchers::Contains("not a JSON object"));
    CHECK_THROWS_WITH(from_json_line("[[["), Catch::Matchers::Contains("not valid JSON"));
}

TEST_CASE("verify reports a deeply nested line as broken at its line number", "[journal][verify][nesting]") {
    jtest::TempDir dir;
    std::string path = dir.file("journal.jsonl");
    std::string good = jtest::write_records(path, 5);

    SECTION("as a complete last line") {
        jtest::write_file(path, good + kMillionBrackets + "\n");
        auto res = verify(path);
        CHECK_FALSE(res.ok);
        REQUIRE(res.broken);
        CHECK(res.broken->line == 6);
        CHECK(res.broken->problem == Problem::Unparsable);
        CHECK_THAT(res.broken->why, Catch::Matchers::Contains("deeper than"));
    }
    SECTION("as a torn last line (no newline)") {
        jtest::write_file(path, good + kMillionBrackets);
        auto res = verify(path);
        CHECK_FALSE(res.ok);
        REQUIRE(res.broken);
        CHECK(res.broken->line == 6);
        CHECK(res.broken->problem == Problem::TornTail);
    }
    SECTION("in the middle") {
        auto lines = lines_of(good);
        lines.insert(lines.begin() + 2, kMillionBrackets);
        jtest::write_file(path, jtest::join_lines(lines));
        auto res = verify(path);
        REQUIRE(res.broken);
        CHECK(res.broken->line == 3);
        CHECK(res.records == 5);  // the others still read
    }
}

TEST_CASE("tail skips a deeply nested line and shows the records around it", "[journal][reader][nesting]") {
    jtest::TempDir dir;
    std::string path = dir.file("journal.jsonl");
    auto lines = lines_of(jtest::write_records(path, 4));
    lines.insert(lines.begin() + 2, kMillionBrackets);
    jtest::write_file(path, jtest::join_lines(lines) + kMillionBrackets + "\n");
    auto got = read_last(path, 10, Filter{});
    REQUIRE(got.size() == 4);
    CHECK(got.front().seq == 1);
    CHECK(got.back().seq == 4);
}

TEST_CASE("a writer opening a journal whose last line is deeply nested sets it aside", "[journal][writer][nesting]") {
    jtest::TempDir dir;
    std::string path = dir.file("journal.jsonl");
    std::string good = jtest::write_records(path, 4);
    std::string bad = GENERATE(as<std::string>{}, kMillionBrackets, kMillionBrackets + "\n");
    jtest::write_file(path, good + bad);

    Writer w(jtest::test_options(path));
    CHECK(w.last_seq() == 5);  // 4 records and the torn record that names the bytes set aside
    auto now = lines_of(read_file(path));
    REQUIRE(now.size() == 5);
    Record t = from_json_line(now[4]);
    CHECK(t.type == RecordType::Torn);
    CHECK(read_file(t.path) == bad);
    CHECK(verify(path).ok);
}
