// libFuzzer target: the input is a journal file. Every line goes through check_line() (parse,
// canonical form, hash); the file goes through verify(), read_last() (what `stockade tail`
// shows) and a Writer's torn-tail recovery (what the daemon does at start-up). A crash, a
// sanitizer report or an exception other than stockade::Error is a finding.
#include <stdlib.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstddef>
#include <cstdlib>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "common/error.hpp"
#include "journal/hashchain.hpp"
#include "journal/reader.hpp"
#include "journal/verify.hpp"
#include "journal/writer.hpp"

namespace {

namespace fs = std::filesystem;
using namespace stockade::journal;

// On tmpfs when there is one: the writer's recovery fsyncs what it sets aside, which on a disk
// would make every input cost milliseconds.
const std::string& scratch_dir() {
    static const std::string* dir = [] {
        std::error_code ec;
        fs::path base = fs::is_directory("/dev/shm", ec) ? fs::path("/dev/shm") : fs::temp_directory_path();
        std::string tmpl = (base / "stockade-fuzz-journal-XXXXXX").string();
        if (!::mkdtemp(tmpl.data())) abort();
        // Never freed: the exit handler still needs it after static destructors have run.
        auto* path = new std::string(tmpl);
        std::atexit([] {
            std::error_code e;
            fs::remove_all(scratch_dir(), e);
        });
        return path;
    }();
    return *dir;
}

void check_lines(std::string_view data) {
    size_t start = 0;
    while (start < data.size()) {
        size_t nl = data.find('\n', start);
        std::string_view line = data.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
        (void)check_line(line);
        if (nl == std::string_view::npos) break;
        start = nl + 1;
    }
}

void check_file(std::string_view data) {
    const std::string path = scratch_dir() + "/journal.jsonl";
    std::ofstream(path, std::ios::binary | std::ios::trunc).write(data.data(), static_cast<std::streamsize>(data.size()));
    try {
        (void)verify(path);
    } catch (const stockade::Error&) {
    }
    try {
        (void)read_last(path, 3, Filter{});
    } catch (const stockade::Error&) {
    }
    try {
        WriterOptions o;
        o.path = path;
        o.fsync = FsyncPolicy::Never;
        o.mirror = MirrorPolicy::Off;
        o.group = "";
        Writer w(o);
        // After recovery the journal must verify: recovery sets aside what does not.
        // (Only the live file's tail is recovered; damage earlier in the file stays for verify.)
        (void)w.last_seq();
    } catch (const stockade::Error&) {
    }
    std::error_code ec;
    for (auto& e : fs::directory_iterator(scratch_dir(), ec)) fs::remove(e.path(), ec);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    spdlog::set_level(spdlog::level::off);  // recovery warns about every torn tail it sets aside
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    check_lines(in);
    check_file(in);
    return 0;
}
