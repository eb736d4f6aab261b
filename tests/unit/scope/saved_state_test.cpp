// What a restarted daemon restores (scope/saved_state.hpp): a saved state reads back the same, is
// replaced atomically, is refused with the file named when damaged (and set aside), and is
// ignored when it was saved in another boot.
#include "scope/saved_state.hpp"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "common/error.hpp"

using namespace stockade;
using namespace stockade::scope;
namespace fs = std::filesystem;

namespace {

struct TmpDir {
    std::string path = fs::temp_directory_path() / ("stockade-state-" + std::to_string(getpid()));
    TmpDir() { fs::remove_all(path); }
    ~TmpDir() { fs::remove_all(path); }
};

SavedState sample() {
    SavedState s;
    s.boot_id = current_boot_id();
    s.agent_ids = {{"coder", 1}, {"reviewer", 7}};
    s.rule_ids = {"builtin:self-protection", "builtin:http-unclear-path", "builtin:no-daemon", "coder:files.never[0]"};
    scope::SavedTask t;
    t.id = "t-0a1b2c3d";
    t.agent = "coder";
    t.label = "quarterly \"report\"";
    t.token = "ff00";
    t.kernel_id = 513;
    t.begun_ns = 123;
    t.expires_ns = 456;
    t.ended = true;
    t.grants = {{"read=/data/{a,b}/**", false, true}, {"read=/data/a/**", true, false}};
    s.tasks.push_back(t);
    return s;
}

}  // namespace

TEST_CASE("a saved state reads back field for field", "[state]") {
    TmpDir dir;
    save_state(dir.path, sample());
    auto back = load_state(dir.path);
    REQUIRE(back);
    CHECK(back->agent_ids == sample().agent_ids);
    CHECK(back->rule_ids == sample().rule_ids);
    REQUIRE(back->tasks.size() == 1);
    auto& t = back->tasks[0];
    CHECK(t.label == "quarterly \"report\"");
    CHECK(t.kernel_id == 513);
    CHECK(t.expires_ns == 456);
    CHECK(t.ended);
    CHECK_FALSE(t.expired);
    REQUIRE(t.grants.size() == 2);
    CHECK(t.grants[0].spec == "read=/data/{a,b}/**");
    CHECK(t.grants[0].used);
    CHECK(t.grants[1].confine);
    CHECK_FALSE(fs::exists(dir.path + "/daemon-state.json.tmp"));
}

TEST_CASE("a state from another boot is not restored", "[state]") {
    TmpDir dir;
    auto s = sample();
    s.boot_id = "00000000-0000-0000-0000-000000000000";
    save_state(dir.path, s);
    CHECK_FALSE(load_state(dir.path));
}

TEST_CASE("a damaged state names its file, is set aside, and never crashes the reader", "[state]") {
    CHECK_THROWS_WITH(decode_state("{\"version\": 1, \"boot_id\": 3}", "/x/daemon-state.json"),
                      Catch::Contains("/x/daemon-state.json"));
    CHECK_THROWS_WITH(decode_state(std::string(100000, '['), "/x/s.json"), Catch::Contains("nested deeper"));
    // Brackets inside strings are not nesting.
    auto s = sample();
    s.tasks[0].label = std::string(50, '[');
    CHECK(decode_state(encode_state(s), "f").tasks[0].label == std::string(50, '['));

    TmpDir dir;
    fs::create_directories(dir.path);
    std::ofstream(dir.path + "/daemon-state.json") << "{ torn";
    CHECK_FALSE(load_state(dir.path));
    CHECK(fs::exists(dir.path + "/daemon-state.json.bad"));
    CHECK_FALSE(fs::exists(dir.path + "/daemon-state.json"));
}

TEST_CASE("a state saved before rule numbers were kept restores with none", "[state]") {
    auto s = decode_state(R"({"version": 1, "boot_id": "b", "agent_ids": {"coder": 1}, "tasks": []})", "old.json");
    CHECK(s.agent_ids.at("coder") == 1);
    CHECK(s.rule_ids.empty());
}
