#include <catch2/catch.hpp>

#include "common/error.hpp"
#include "helpers.hpp"
#include "journal/hashchain.hpp"
#include "journal/json.hpp"
#include "journal/verify.hpp"

using namespace stockade::journal;
using jtest::lines_of;

TEST_CASE("sha256_hex matches the FIPS 180-2 test vector", "[journal][chain]") {
    CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST_CASE("the hash is SHA-256 of prev followed by the canonical body", "[journal][chain]") {
    Record r = jtest::decision("a", "deny", "/x");
    r.seq = 5;
    seal(r, std::string(64, 'c'));
    CHECK(r.prev == std::string(64, 'c'));
    Record body = r;
    body.hash = "";
    CHECK(r.hash == sha256_hex(r.prev + to_json_line(body)));
    CHECK(canonical_body(r) == to_json_line(body));
}

TEST_CASE("an untouched journal verifies", "[journal][verify]") {
    jtest::TempDir dir;
    std::string path = dir.file("journal.jsonl");
    jtest::write_records(path, 10);
    auto res = verify(path);
    CHECK(res.ok);
    CHECK(res.records == 10);
    CHECK(res.first_seq == 1);
    CHECK(res.last_seq == 10);
    CHECK(res.last_hash == from_json_line(lines_of(jtest::read_file(path)).back()).hash);
    CHECK_FALSE(res.broken);
    CHECK(verify(dir.path()).ok);  // a directory means its journal
}

namespace {

// Rewrites the journal with `lines` and verifies it.
VerifyResult verify_lines(const std::string& path, const std::vector<std::string>& lines) {
    jtest::write_file(path, jtest::join_lines(lines));
    return verify(path);
}

}  // namespace

TEST_CASE("verify names the first broken record", "[journal][verify]") {
    jtest::TempDir dir;
    std::string path = dir.file("journal.jsonl");
    auto lines = lines_of(jtest::write_records(path, 10));
    REQUIRE(lines.size() == 10);

    SECTION("an edited field") {
        auto l = lines;
        auto pos = l[4].find("\"verdict\":\"allow\"");
        REQUIRE(pos != std::string::npos);
        l[4].replace(pos, 17, "\"verdict\":\"kill\"");
        auto res = verify_lines(path, l);
        REQUIRE_FALSE(res.ok);
        REQUIRE(res.broken);
        CHECK(res.broken->line == 5);
        CHECK(res.broken->seq == 5);
        CHECK(res.broken->problem == Problem::Edited);
        CHECK(res.broken->file == path);
        CHECK(res.records == 10);
    }
    SECTION("an edit that keeps the JSON equivalent but not canonical") {
        auto l = lines;
        l[2].insert(1, " ");
        auto res = verify_lines(path, l);
        REQUIRE(res.broken);
        CHECK(res.broken->line == 3);
        CHECK(res.broken->problem == Problem::Edited);
    }
    SECTION("a removed record") {
        auto l = lines;
        l.erase(l.begin() + 6);  // seq 7
        auto res = verify_lines(path, l);
        REQUIRE(res.broken);
        CHECK(res.broken->line == 7);
        CHECK(res.broken->seq == 8);
        CHECK(res.broken->problem == Problem::BrokenLink);
        CHECK_THAT(res.broken->why, Catch::Matchers::Contains("7..7 were removed"));
    }
    SECTION("two records swapped") {
        auto l = lines;
        std::swap(l[3], l[4]);
        auto res = verify_lines(path, l);
        REQUIRE(res.broken);
        CHECK(res.broken->line == 4);
        CHECK(res.broken->seq == 5);
        CHECK(res.broken->problem == Problem::BrokenLink);
    }
    SECTION("an inserted record with a made-up hash") {
        auto l = lines;
        Record forged = from_json_line(l[2]);
        forged.verdict = Verdict::Allow;
        forged.hash = std::string(64, '0');
        l.insert(l.begin() + 3, to_json_line(forged));
        auto res = verify_lines(path, l);
        REQUIRE(res.broken);
        CHECK(res.broken->line == 4);
        CHECK(res.broken->problem == Problem::Edited);
    }
    SECTION("an inserted record hashed correctly, without re-chaining what follows") {
        auto l = lines;
        Record prev = from_json_line(l[2]);
        Record forged = jtest::decision("intruder", "allow", "/etc/shadow");
        forged.seq = prev.seq + 1;
        forged.time = prev.time;
        seal(forged, prev.hash);
        l.insert(l.begin() + 3, to_json_line(forged));
        auto res = verify_lines(path, l);
        REQUIRE(res.broken);
        // The forgery itself links; the record after it no longer does.
        CHECK(res.broken->line == 5);
        CHECK(res.broken->seq == 4);
        CHECK(res.broken->problem == Problem::BrokenLink);
    }
    SECTION("an unparsable line") {
        auto l = lines;
        l[8] = "garbage";
        auto res = verify_lines(path, l);
        REQUIRE(res.broken);
        CHECK(res.broken->line == 9);
        CHECK(res.broken->seq == 0);
        CHECK(res.broken->problem == Problem::Unparsable);
        CHECK(res.records == 9);
    }
    SECTION("a torn last line") {
        std::string data = jtest::join_lines(lines) + lines[0].substr(0, 40);
        jtest::write_file(path, data);
        auto res = verify(path);
        REQUIRE(res.broken);
        CHECK(res.broken->line == 11);
        CHECK(res.broken->problem == Problem::TornTail);
        CHECK(res.records == 10);
    }
    SECTION("the first record's prev changed") {
        auto l = lines;
        Record first = from_json_line(l[0]);
        seal(first, std::string(64, 'f'));
        l[0] = to_json_line(first);
        auto res = verify_lines(path, l);
        REQUIRE(res.broken);
        CHECK(res.broken->line == 1);
        CHECK(res.broken->problem == Problem::BrokenLink);
    }
    SECTION("records removed from the front are not a failure but a note") {
        auto l = lines;
        l.erase(l.begin(), l.begin() + 3);
        auto res = verify_lines(path, l);
        CHECK(res.ok);
        CHECK(res.first_seq == 4);
        REQUIRE(res.notes.size() == 1);
        CHECK_THAT(res.notes[0], Catch::Matchers::Contains("starts at seq 4"));
    }
}

TEST_CASE("verify of a missing journal throws", "[journal][verify]") {
    jtest::TempDir dir;
    CHECK_THROWS_AS(verify(dir.file("nope.jsonl")), stockade::Error);
    CHECK_THROWS_AS(verify(dir.path()), stockade::Error);
}
