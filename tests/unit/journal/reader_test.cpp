#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include "helpers.hpp"
#include "journal/files.hpp"
#include "journal/reader.hpp"
#include "journal/timefmt.hpp"
#include "journal/writer.hpp"

using namespace stockade::journal;
using namespace std::chrono_literals;

namespace {

// 12 records: agents a/b/c in turn, verdict deny every 4th, times one minute apart.
void populate(const std::string& path, uint64_t max_bytes) {
    auto opt = jtest::test_options(path);
    opt.max_bytes = max_bytes;
    Writer w(opt);
    for (int i = 0; i < 12; ++i) {
        auto r = jtest::decision(std::string(1, static_cast<char>('a' + i % 3)),
                                 i % 4 == 3 ? "deny" : "allow", "/f" + std::to_string(i));
        r.time = format_rfc3339(*parse_rfc3339("2026-11-25T09:00:00Z") + std::chrono::minutes(i));
        w.append(r);
    }
}

std::vector<uint64_t> seqs(const std::vector<Record>& rs) {
    std::vector<uint64_t> out;
    for (auto& r : rs) out.push_back(r.seq);
    return out;
}

}  // namespace

TEST_CASE("read_last returns the newest matching records oldest first", "[journal][reader]") {
    jtest::TempDir dir;
    std::string path = dir.file("journal.jsonl");
    // Across rotated files (small max_bytes) and within one file.
    auto max_bytes = GENERATE(uint64_t{1000}, uint64_t{0});
    populate(path, max_bytes);
    if (max_bytes) REQUIRE(rotated_files(path).size() >= 3);

    Filter all;
    CHECK(seqs(read_last(path, 3, all)) == std::vector<uint64_t>{10, 11, 12});
    CHECK(read_last(path, 100, all).size() == 12);
    CHECK(read_last(path, 0, all).empty());

    Filter agent_b;
    agent_b.agent = "b";
    CHECK(seqs(read_last(path, 3, agent_b)) == std::vector<uint64_t>{5, 8, 11});

    Filter denied;
    denied.verdict = Verdict::Deny;
    CHECK(seqs(read_last(path, 10, denied)) == std::vector<uint64_t>{4, 8, 12});

    Filter since;
    since.since = parse_since("2026-11-25T09:09:00Z");
    CHECK(seqs(read_last(path, 10, since)) == std::vector<uint64_t>{10, 11, 12});

    Filter combined;
    combined.agent = "c";
    combined.verdict = Verdict::Deny;
    combined.since = parse_since("2026-11-25T09:05:00Z");
    CHECK(seqs(read_last(path, 10, combined)) == std::vector<uint64_t>{12});

    Filter task;
    task.task = "other";
    CHECK(read_last(path, 10, task).empty());

    // The directory works as the path too, and a torn last line is skipped.
    {
        std::ofstream out(path, std::ios::app);
        out << "{\"seq\":13,";
    }
    CHECK(seqs(read_last(dir.path(), 2, all)) == std::vector<uint64_t>{11, 12});
}

TEST_CASE("follow delivers new records and follows rotation", "[journal][reader]") {
    jtest::TempDir dir;
    std::string path = dir.file("journal.jsonl");
    auto opt = jtest::test_options(path);
    opt.max_bytes = 1500;
    Writer w(opt);
    for (int i = 0; i < 2; ++i) {  // already there: not delivered without after_seq
        auto r = jtest::decision("old", "allow", "/old");
        w.append(r);
    }

    std::atomic<size_t> seen{0};
    std::vector<Record> got;
    std::mutex mu;
    std::atomic<bool> stop{false};
    Filter only_x;
    only_x.agent = "x";
    std::thread reader([&] {
        follow(
            path, only_x,
            [&](const Record& r) {
                std::lock_guard lk(mu);
                got.push_back(r);
                ++seen;
                return true;
            },
            [&] { return !stop.load(); });
    });
    std::this_thread::sleep_for(300ms);  // let follow() open the file at its end
    for (int i = 0; i < 12; ++i) {
        auto r = jtest::decision(i % 2 ? "x" : "y", "allow", "/n" + std::to_string(i));
        w.append(r);
        if (i % 3 == 0) std::this_thread::sleep_for(150ms);  // let some rotations be seen live
    }
    for (int i = 0; i < 50 && seen < 6; ++i) std::this_thread::sleep_for(50ms);
    stop = true;
    reader.join();

    REQUIRE(rotated_files(path).size() >= 3);
    std::lock_guard lk(mu);
    std::vector<uint64_t> expect{4, 6, 8, 10, 12, 14};
    CHECK(seqs(got) == expect);
}

TEST_CASE("follow with after_seq catches up first, then stops when told", "[journal][reader]") {
    jtest::TempDir dir;
    std::string path = dir.file("journal.jsonl");
    populate(path, 1500);
    std::vector<uint64_t> got;
    follow(
        path, Filter{},
        [&](const Record& r) {
            got.push_back(r.seq);
            return got.size() < 4;  // stop after four
        },
        [] { return true; }, uint64_t{6});
    CHECK(got == std::vector<uint64_t>{7, 8, 9, 10});
}
