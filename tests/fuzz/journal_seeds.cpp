// Writes the journal target's seed corpus into DIR: journals as the writer makes them (one of
// each record type, argv lists, escapes, a rotation, a recovered torn tail), one file each.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "journal/writer.hpp"

namespace fs = std::filesystem;
using namespace stockade::journal;

namespace {

WriterOptions options(const std::string& path) {
    WriterOptions o;
    o.path = path;
    o.fsync = FsyncPolicy::Never;
    o.mirror = MirrorPolicy::Off;
    o.group = "";
    o.max_bytes = 2048;  // rotates after a few records
    return o;
}

Record sample(int i) {
    static const RecordType kTypes[] = {RecordType::Decision, RecordType::Lost,   RecordType::Summary,
                                        RecordType::Grant,    RecordType::Daemon, RecordType::Tool};
    Record r;
    r.type = kTypes[i % 6];
    r.agent = "coder";
    r.task = i % 2 ? "t-1" : "";
    r.action = i % 3 ? "open" : "exec";
    r.path = "/home/agent/repo/file \"" + std::to_string(i) + "\"\t\u00e9";
    r.argv = {"/usr/bin/cat", "-n", std::string("a\nb")};
    r.verdict = i % 2 ? Verdict::Deny : Verdict::Allow;
    r.address = "127.0.0.1";
    r.port = static_cast<uint16_t>(8000 + i);
    r.count = static_cast<uint64_t>(i) * 1000;
    r.result = -13;
    return r;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    fs::path out = argv[1];
    fs::create_directories(out);
    fs::path work = out / "work";
    fs::remove_all(work);
    fs::create_directories(work);
    std::string live = (work / "journal.jsonl").string();
    {
        Writer w(options(live));
        for (int i = 0; i < 12; ++i) {
            Record r = sample(i);
            w.append(r);
        }
    }
    std::ofstream(live, std::ios::app) << "{\"seq\":13,\"prev\":\"ab";  // torn: recovered below
    { Writer w(options(live)); }
    int n = 0;
    for (auto& e : fs::directory_iterator(work)) {
        std::ifstream in(e.path(), std::ios::binary);
        std::stringstream ss;
        ss << in.rdbuf();
        std::ofstream(out / ("journal-" + std::to_string(n++)), std::ios::binary) << ss.str();
    }
    fs::remove_all(work);
    std::printf("%d seed files in %s\n", n, out.c_str());
    return 0;
}
