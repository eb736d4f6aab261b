// The journal line writer (rapidjson, one pass) against the form every journal was written in
// before compact records (cereal's archive, whitespace stripped): a record read from such a line
// is written back byte for byte the same, for records full of awkward strings and extreme
// numbers. If they ever differ, old journals stop verifying. And compact lines (fields at their
// default left out) read back to the same record and verify.
#include <catch2/catch.hpp>
#include <random>

#include "journal/hashchain.hpp"
#include "journal/json.hpp"

using namespace stockade::journal;

namespace {

std::string random_string(std::mt19937& rng) {
    static const std::vector<std::string> pieces = {
        "a", " ", "\"", "\\", "/", "\n", "\t", "\r", "\x01", "\x1f", "\x7f", "\xc3\xa9", "\xe2\x80\xa8",
        "\xf0\x9f\x94\x92", "\xff", "\xc3", "{", "}", "[", "]", ":", ",", "\"hash\":\"\"", "<", "&"};
    std::string s;
    int n = static_cast<int>(rng() % 12);
    for (int i = 0; i < n; ++i) s += pieces[rng() % pieces.size()];
    return s;
}

Record random_record(std::mt19937& rng) {
    Record r;
    r.seq = rng() % 3 == 0 ? UINT64_MAX : rng();
    r.prev = std::string(64, 'a');
    r.mono_ns = (uint64_t(rng()) << 32) | rng();
    r.pid = rng();
    r.port = static_cast<uint16_t>(rng());
    r.result = rng() % 2 ? -static_cast<int64_t>(rng()) : INT64_MIN;
    r.latency_us = rng() % 2 ? -1 : INT64_MAX;
    for (std::string* s :
         {&r.time, &r.host, &r.agent, &r.task, &r.exe, &r.path, &r.path2, &r.address, &r.rule, &r.resolved, &r.detail})
        *s = random_string(rng);
    r.type = static_cast<RecordType>(rng() % (size_t(RecordType::Approval) + 1));
    r.verdict = static_cast<Verdict>(rng() % (size_t(Verdict::Ask) + 1));
    for (unsigned i = rng() % 3; i > 0; --i)
        r.enforcement.add(static_cast<Enforcement>(1 + rng() % size_t(Enforcement::RefusedBeforeSyscall)));
    int args = static_cast<int>(rng() % 4);
    for (int i = 0; i < args; ++i) r.argv.push_back(random_string(rng));
    return r;
}

}  // namespace

TEST_CASE("a full-form line (written by cereal) is read and written back exactly, for any record") {
    std::mt19937 rng(20261130);
    Record empty;
    Record empty_back = from_json_line(to_json_line_cereal(empty));
    CHECK(empty_back.full_form);
    CHECK(to_json_line(empty_back) == to_json_line_cereal(empty));
    for (int i = 0; i < 5000; ++i) {
        Record r = random_record(rng);
        std::string old_line = to_json_line_cereal(r);
        Record back = from_json_line(old_line);
        REQUIRE(back.full_form);
        REQUIRE(to_json_line(back) == old_line);
        r.full_form = true;
        REQUIRE(to_json_line(r) == old_line);
        CHECK(old_line.find('\n') == std::string::npos);
    }
}

TEST_CASE("an old journal's sealed lines still verify, and so do compact ones in the same chain") {
    std::mt19937 rng(99);
    std::string prev;
    for (int i = 0; i < 500; ++i) {
        Record r = random_record(rng);
        r.full_form = i < 250;  // the first half as an old daemon wrote them
        std::string line = seal_to_line(r, prev);
        if (i < 250) {
            Record unsealed = r;
            unsealed.hash.clear();
            REQUIRE(line.size() == to_json_line_cereal(unsealed).size() + 64);
        }
        auto check = check_line(line);
        REQUIRE(check.status == LineStatus::Ok);
        CHECK(check.record.hash == r.hash);
        prev = r.hash;
    }
}

TEST_CASE("compact lines read back to the record they were written from") {
    std::mt19937 rng(31337);
    for (int i = 0; i < 2000; ++i) {
        Record r = random_record(rng);
        if (rng() % 2) r.type = RecordType::Decision;  // at its default: left out
        if (rng() % 2) r.latency_us = -1;
        std::string line = to_json_line(r);
        REQUIRE(line.size() <= to_json_line_cereal(r).size());
        Record back = from_json_line(line);
        REQUIRE(to_json_line(back) == line);
        CHECK(back.type == r.type);
        CHECK(back.latency_us == r.latency_us);
        CHECK(back.argv == r.argv);
        CHECK(back.detail == r.detail);
        CHECK(back.path == r.path);
        CHECK(back.result == r.result);
    }
}

TEST_CASE("seal_to_line serialises once and yields the sealed record's canonical line") {
    std::mt19937 rng(7);
    for (int i = 0; i < 500; ++i) {
        Record a = random_record(rng);
        Record b = a;
        std::string prev(64, "0123456789abcdef"[i % 16]);
        std::string line = seal_to_line(a, prev);
        seal(b, prev);
        REQUIRE(a.hash == b.hash);
        REQUIRE(line == to_json_line(b));
        CHECK(check_line(line).status == LineStatus::Ok);
    }
}

TEST_CASE("llm records and intents: stored only when set, read back whole, verified in the chain", "[llm]") {
    Record llm;
    llm.type = RecordType::Llm;
    llm.agent = "claude-code";
    llm.action = "messages";
    llm.provider = "anthropic";
    llm.model = "claude-sonnet-4-5";
    llm.tokens_in = 0;  // a count of 0 is a count: written
    llm.tokens_out = 87;
    llm.prompt_sha256 = std::string(64, 'c');
    llm.truncated = "request";
    llm.tool_uses = {{"toolu_01", "Bash", std::string(64, 'd'), "git commit -am 'x \"y\"'"},
                     {"toolu_02", "Read", std::string(64, 'e'), ""}};
    std::string line = to_json_line(llm);
    CHECK(line.find("\"tokens_in\":0") != std::string::npos);
    CHECK(line.find("\"prompt\":") == std::string::npos);  // not set: left out
    CHECK(line.find("\"intent\"") == std::string::npos);
    CHECK(line.find("{\"id\":\"toolu_02\",\"name\":\"Read\",\"input_sha256\":\"" + std::string(64, 'e') + "\"}") !=
          std::string::npos);  // an empty command is left out
    Record back = from_json_line(line);
    CHECK_FALSE(back.full_form);
    CHECK(back.tool_uses == llm.tool_uses);
    CHECK(back.tokens_in == 0);
    CHECK(back.tokens_out == 87);
    CHECK(to_json_line(back) == line);

    Record action;
    action.action = "exec";
    action.intent = "toolu_01";
    action.intent_seq = 41;
    Record none;
    none.action = "exec";
    none.intent = "none";
    std::string prev;
    for (Record* r : {&llm, &action, &none}) {
        std::string sealed = seal_to_line(*r, prev);
        auto check = check_line(sealed);
        REQUIRE(check.status == LineStatus::Ok);
        CHECK(check.record.intent == r->intent);
        CHECK(check.record.intent_seq == r->intent_seq);
        prev = r->hash;
    }
    // A full-form line (an old journal) has none of these fields and stays byte for byte the same.
    Record old;
    old.full_form = true;
    CHECK(to_json_line(old) == to_json_line_cereal(old));
    CHECK(to_json_line_cereal(old).find("tokens_in") == std::string::npos);
    // A wrong type is an error naming the field.
    CHECK_THROWS_WITH(from_json_line(R"({"seq":1,"prev":"","hash":"","tool_uses":[1]})"),
                      Catch::Contains("tool_uses"));
}
