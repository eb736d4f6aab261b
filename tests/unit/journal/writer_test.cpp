#include <sys/stat.h>

#include <catch2/catch.hpp>

#include <filesystem>
#include <thread>

#include "common/error.hpp"
#include "helpers.hpp"
#include "journal/files.hpp"
#include "journal/json.hpp"
#include "journal/reader.hpp"
#include "journal/timefmt.hpp"
#include "journal/verify.hpp"
#include "journal/writer.hpp"

using namespace stockade::journal;
using jtest::lines_of;
using jtest::read_file;
namespace fs = std::filesystem;

TEST_CASE("append fills the chain fields and writes one line per record", "[journal][writer]") {
    jtest::TempDir dir;
    std::string path = dir.file("journal.jsonl");
    Writer w(jtest::test_options(path));
    auto a = jtest::decision("a", "allow", "/1");
    auto b = jtest::decision("b", "deny", "/2");
    b.time = "2026-01-02T03:04:05.000006Z";
    CHECK(w.append(a) == 1);
    CHECK(w.append(b) == 2);
    CHECK(a.seq == 1);
    CHECK(a.prev.empty());
    CHECK(a.hash.size() == 64);
    CHECK(b.prev == a.hash);
    CHECK(parse_rfc3339(a.time).has_value());
    CHECK(b.time == "2026-01-02T03:04:05.000006Z");  // kept when given
    CHECK_FALSE(a.host.empty());
    CHECK(a.mono_ns > 0);
    CHECK(w.last_seq() == 2);
    CHECK(w.last_hash() == b.hash);

    std::string data = read_file(path);
    auto lines = lines_of(data);
    REQUIRE(lines.size() == 2);
    CHECK(data.back() == '\n');
    CHECK(lines[0] == to_json_line(a));
    CHECK(lines[1] == to_json_line(b));

    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0640);
}

TEST_CASE("a reopened writer continues seq and prev", "[journal][writer]") {
    jtest::TempDir dir;
    std::string path = dir.file("journal.jsonl");
    std::string last_hash;
    {
        Writer w(jtest::test_options(path));
        for (int i = 0; i < 3; ++i) {
            auto r = jtest::decision("a", "allow", "/x");
            w.append(r);
            last_hash = r.hash;
        }
    }
    Writer w(jtest::test_options(path));
    CHECK(w.last_seq() == 3);
    auto r = jtest::decision("a", "deny", "/y");
    CHECK(w.append(r) == 4);
    CHECK(r.prev == last_hash);
    CHECK(lines_of(read_file(path)).size() == 4);
    CHECK(verify(path).ok);
}

TEST_CASE("only one writer may hold a journal", "[journal][writer]") {
    jtest::TempDir dir;
    std::string path = dir.file("journal.jsonl");
    Writer w(jtest::test_options(path));
    CHECK_THROWS_AS(Writer(jtest::test_options(path)), stockade::Error);
}

TEST_CASE("a group that does not exist is a warning, not an error", "[journal][writer]") {
    jtest::TempDir dir;
    auto opt = jtest::test_options(dir.file("journal.jsonl"));
    opt.group = "no-such-group-stockade-test";
    Writer w(opt);
    auto r = jtest::decision("a", "allow", "/x");
    CHECK(w.append(r) == 1);
}

TEST_CASE("NUL bytes in strings are stored as U+FFFD so the line reads back", "[journal][writer]") {
    jtest::TempDir dir;
    std::string path = dir.file("journal.jsonl");
    Writer w(jtest::test_options(path));
    auto r = jtest::decision("a", "allow", std::string("/x\0y", 4));
    r.argv = {std::string("a\0", 2)};
    w.append(r);
    CHECK(r.path == "/x\xEF\xBF\xBDy");
    CHECK(from_json_line(lines_of(read_file(path)).at(0)).argv.at(0) == "a\xEF\xBF\xBD");
    CHECK(verify(path).ok);
}

TEST_CASE("a torn last line is set aside, recorded and the chain still verifies", "[journal][writer][torn]") {
    jtest::TempDir dir;
    std::string path = dir.file("journal.jsonl");
    std::string good = jtest::write_records(path, 4);
    auto good_lines = lines_of(good);

    SECTION("a line without its newline") {
        const std::string torn = "{\"seq\":5,\"prev\":\"abc\",\"ti";
        jtest::write_file(path, good + torn);
        REQUIRE_FALSE(verify(path).ok);

        Writer w(jtest::test_options(path));
        CHECK(w.last_seq() == 5);
        auto lines = lines_of(read_file(path));
        REQUIRE(lines.size() == 5);
        for (int i = 0; i < 4; ++i) CHECK(lines[i] == good_lines[i]);  // untouched
        Record t = from_json_line(lines[4]);
        CHECK(t.type == RecordType::Torn);
        CHECK(t.seq == 5);
        CHECK(t.count == torn.size());
        CHECK(t.prev == from_json_line(good_lines[3]).hash);
        CHECK_THAT(t.detail, Catch::Matchers::Contains(std::to_string(torn.size()) + " bytes"));
        CHECK_THAT(t.detail, Catch::Matchers::Contains(t.path));
        REQUIRE(t.path.rfind(path + ".torn.", 0) == 0);
        CHECK(read_file(t.path) == torn);  // the exact bytes
        struct stat st {};
        REQUIRE(::stat(t.path.c_str(), &st) == 0);
        CHECK((st.st_mode & 0777) == 0640);

        auto next = jtest::decision("a", "allow", "/z");
        CHECK(w.append(next) == 6);
        auto res = verify(path);
        CHECK(res.ok);
        CHECK(res.records == 6);
    }
    SECTION("a complete last line that does not verify") {
        auto lines = good_lines;
        std::string edited = lines[3];
        edited.replace(edited.find("\"pid\":42"), 8, "\"pid\":43");
        lines[3] = edited;
        jtest::write_file(path, jtest::join_lines(lines));

        Writer w(jtest::test_options(path));
        auto now = lines_of(read_file(path));
        REQUIRE(now.size() == 4);
        Record t = from_json_line(now[3]);
        CHECK(t.type == RecordType::Torn);
        CHECK(t.seq == 4);  // continues from seq 3, the last good record
        CHECK(t.prev == from_json_line(good_lines[2]).hash);
        CHECK(read_file(t.path) == edited + "\n");
        CHECK(verify(path).ok);
    }
    SECTION("a journal that is only a torn line") {
        jtest::write_file(path, "{\"seq\":1,");
        Writer w(jtest::test_options(path));
        auto now = lines_of(read_file(path));
        REQUIRE(now.size() == 1);
        Record t = from_json_line(now[0]);
        CHECK(t.type == RecordType::Torn);
        CHECK(t.seq == 1);
        CHECK(t.prev.empty());
        CHECK(verify(path).ok);
    }
}

TEST_CASE("rotation by size links files and retention deletes the oldest", "[journal][writer][rotate]") {
    jtest::TempDir dir;
    std::string path = dir.file("journal.jsonl");
    auto opt = jtest::test_options(path);
    opt.max_bytes = 1000;  // a record is ~330 bytes: 3 per file
    opt.keep = 100;
    std::vector<Record> written;
    {
        Writer w(opt);
        for (int i = 0; i < 10; ++i) {
            auto r = jtest::decision("a", "allow", "/f" + std::to_string(i));
            w.append(r);
            written.push_back(r);
        }
    }
    auto rotated = rotated_files(path);
    REQUIRE(rotated.size() >= 2);
    for (auto& f : journal_files(path)) CHECK(fs::file_size(f) <= opt.max_bytes);
    // Names carry the seq of each file's first record, zero padded.
    CHECK(rotated[0] == path + ".00000000000000000001");
    auto second = lines_of(read_file(rotated[1]));
    auto first = lines_of(read_file(rotated[0]));
    Record first_of_second = from_json_line(second.front());
    CHECK(rotated[1] == rotated_name(path, first_of_second.seq));
    CHECK(first_of_second.prev == from_json_line(first.back()).hash);
    CHECK(first_of_second.seq == from_json_line(first.back()).seq + 1);
    // The live file's first record links to the last rotated one.
    Record live_first = from_json_line(lines_of(read_file(path)).front());
    CHECK(live_first.prev == from_json_line(lines_of(read_file(rotated.back())).back()).hash);

    auto res = verify(path);
    CHECK(res.ok);
    CHECK(res.records == 10);
    CHECK(res.files == rotated.size() + 1);
    CHECK(res.last_hash == written.back().hash);

    SECTION("a record removed across the file boundary is detected") {
        auto lines = lines_of(read_file(rotated.back()));
        lines.pop_back();  // the last record before the live file
        jtest::write_file(rotated.back(), jtest::join_lines(lines));
        auto bad = verify(path);
        REQUIRE(bad.broken);
        CHECK(bad.broken->file == path);
        CHECK(bad.broken->line == 1);
        CHECK(bad.broken->problem == Problem::BrokenLink);
    }
    SECTION("one rotated file verifies on its own") {
        auto one = verify(rotated[1]);
        CHECK(one.ok);
        CHECK(one.files == 1);
        CHECK(one.records == second.size());
    }
    SECTION("retention keeps only the newest rotated files") {
        std::string oldest = rotated[0];
        opt.keep = 1;
        {
            Writer w(opt);
            for (int i = 0; i < 4; ++i) {
                auto r = jtest::decision("a", "allow", "/g");
                w.append(r);
            }
        }
        auto now = rotated_files(path);
        CHECK(now.size() == 1);
        CHECK_FALSE(fs::exists(oldest));
        auto after = verify(path);
        CHECK(after.ok);  // what remains still chains
        CHECK(after.first_seq > 1);
        CHECK(after.last_seq == 14);
    }
}

TEST_CASE("rotation by age", "[journal][writer][rotate]") {
    jtest::TempDir dir;
    std::string path = dir.file("journal.jsonl");
    auto opt = jtest::test_options(path);
    {
        Writer w(opt);
        auto r = jtest::decision("a", "allow", "/old");
        r.time = "2020-01-01T00:00:00.000000Z";  // the first record dates the file
        w.append(r);
    }
    opt.max_age = std::chrono::seconds(3600);
    Writer w(opt);
    auto r = jtest::decision("a", "allow", "/new");
    w.append(r);
    CHECK(rotated_files(path) == std::vector<std::string>{rotated_name(path, 1)});
    CHECK(lines_of(read_file(path)).size() == 1);
    CHECK(verify(path).ok);
}

TEST_CASE("appends from several threads under each fsync policy form one chain", "[journal][writer]") {
    jtest::TempDir dir;
    std::string path = dir.file("journal.jsonl");
    auto opt = jtest::test_options(path);
    opt.fsync = GENERATE(FsyncPolicy::Interval, FsyncPolicy::EveryRecord);
    opt.fsync_interval = std::chrono::milliseconds(20);
    opt.max_bytes = 20000;  // rotate while the threads write
    {
        Writer w(opt);
        std::vector<std::thread> threads;
        for (int t = 0; t < 4; ++t)
            threads.emplace_back([&w, t] {
                for (int i = 0; i < 50; ++i) {
                    auto r = jtest::decision("t" + std::to_string(t), i % 10 ? "allow" : "deny", "/p");
                    w.append(r);
                }
            });
        for (auto& th : threads) th.join();
        std::this_thread::sleep_for(std::chrono::milliseconds(50));  // let the flusher run
        CHECK(w.last_seq() == 200);
    }
    auto res = verify(path);
    CHECK(res.ok);
    CHECK(res.records == 200);
    CHECK(res.files > 1);
}

TEST_CASE("an allowed decision carries its process's context only the first time in a file", "[journal][writer]") {
    jtest::TempDir dir;
    std::string path = dir.file("journal.jsonl");
    auto opts = jtest::test_options(path);
    opts.max_bytes = 2000;  // a few records a file: rotation starts the context again
    Writer w(opts);
    auto record = [](const std::string& verdict, const std::string& file) {
        auto r = jtest::decision("coder", verdict, file);
        r.exec_id = "b00t-42-7-1";
        r.exe = "/usr/bin/python3";
        r.argv = {"python3", "agent.py", "--long-option-that-repeats"};
        r.cgroup = "/stockade/coder/run-41";
        r.ppid = 41;
        r.uid = 1000;
        r.resolved = "files.read[0] /srv/** matched " + file;
        return r;
    };
    std::vector<std::string> verdicts{"allow", "allow", "kill", "allow", "allow", "allow", "allow", "allow"};
    for (size_t i = 0; i < verdicts.size(); ++i) {
        auto r = record(verdicts[i], "/srv/f" + std::to_string(i));
        w.append(r);
        CHECK(r.exe == "/usr/bin/python3");  // the caller's record keeps everything
        CHECK(r.resolved == "files.read[0] /srv/** matched /srv/f" + std::to_string(i));
    }
    auto files = journal_files(path);
    REQUIRE(files.size() >= 2);
    size_t records = 0;
    for (auto& f : files) {
        auto lines = lines_of(read_file(f));
        REQUIRE(!lines.empty());
        for (size_t i = 0; i < lines.size(); ++i) {
            Record r = from_json_line(lines[i]);
            ++records;
            INFO(f << " line " << i << ": " << lines[i]);
            // The first record of the process in each file, and every violation, hold the context.
            bool full = i == 0 || r.verdict != Verdict::Allow;
            CHECK((r.exe == "/usr/bin/python3") == full);
            CHECK((r.argv.size() == 3) == full);
            CHECK((r.cgroup == "/stockade/coder/run-41") == full);
            CHECK((r.uid == 1000) == full);
            CHECK(r.exec_id == "b00t-42-7-1");
            CHECK(r.path.rfind("/srv/f", 0) == 0);
            CHECK(r.resolved.empty() == (r.verdict == Verdict::Allow));
        }
    }
    CHECK(records == verdicts.size());
    CHECK(verify(path).ok);

    // Readers put the context back, also when the record that holds it is not among those asked.
    for (size_t n : {size_t(1), size_t(2), verdicts.size()}) {
        auto back = read_last(path, n, Filter{});
        REQUIRE(back.size() == n);
        for (auto& r : back) {
            CHECK(r.exe == "/usr/bin/python3");
            CHECK(r.argv.size() == 3);
            CHECK(r.uid == 1000);
        }
    }
}
