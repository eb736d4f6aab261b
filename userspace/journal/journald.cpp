#include "journal/journald.hpp"

#include <sys/uio.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include <cstdlib>
#include <vector>

#include "journal/format.hpp"

namespace stockade::journal {
namespace {

// syslog priorities: what deserves an operator's attention is above "info".
int priority_of(const Record& r) {
    if (r.type == RecordType::Torn || r.type == RecordType::Lost) return 4;          // warning
    if (r.verdict == Verdict::Deny || r.verdict == Verdict::Kill) return 4;          // warning
    if (r.verdict == Verdict::Flag || r.verdict == Verdict::WouldDeny) return 5;     // notice
    return 6;                                                          // info
}

// sd_journal_sendv takes "NAME=value" iovecs; values may hold newlines (the native protocol
// length-prefixes them), and building strings avoids printf-format pitfalls with agent data.
void send(const std::vector<std::string>& fields) {
    std::vector<iovec> iov;
    iov.reserve(fields.size());
    for (auto& f : fields) iov.push_back({const_cast<char*>(f.data()), f.size()});
    (void)sd_journal_sendv(iov.data(), static_cast<int>(iov.size()));  // best effort by design
}

}  // namespace

bool journald_available() {
    return std::getenv("JOURNAL_STREAM") != nullptr ||
           ::access("/run/systemd/journal/socket", F_OK) == 0;
}

void mirror_to_journald(const Record& r, std::string_view line) {
    try {
        if (!journald_available()) return;
        std::string object = r.path;
        if (object.empty() && !r.address.empty()) object = r.address + ":" + std::to_string(r.port);
        std::vector<std::string> fields{
            "MESSAGE=stockade: " + format_text(r, false),
            "PRIORITY=" + std::to_string(priority_of(r)),
            "SYSLOG_IDENTIFIER=stockade",
            "STOCKADE_TYPE=" + std::string(to_string(r.type)),
            "STOCKADE_AGENT=" + r.agent,
            "STOCKADE_TASK=" + r.task,
            "STOCKADE_VERDICT=" + std::string(to_string(r.verdict)),
            "STOCKADE_RULE=" + r.rule,
            "STOCKADE_ACTION=" + r.action,
            "STOCKADE_PATH=" + r.path,
            "STOCKADE_OBJECT=" + object,
            "STOCKADE_PID=" + std::to_string(r.pid),
            "STOCKADE_SEQ=" + std::to_string(r.seq),
            "STOCKADE_HASH=" + r.hash,
        };
        while (!line.empty() && line.back() == '\n') line.remove_suffix(1);
        if (!line.empty()) fields.push_back("STOCKADE_RECORD=" + std::string(line));
        if (!r.container.empty()) {
            fields.push_back("STOCKADE_CONTAINER=" + r.container);
            fields.push_back("STOCKADE_CONTAINER_NAME=" + r.container_name);
            fields.push_back("STOCKADE_CONTAINER_IMAGE=" + r.container_image);
        }
        send(fields);
    } catch (...) {
        // Mirroring must never fail an append (e.g. bad_alloc while formatting).
    }
}

void mirror_chain_head(const std::string& journal_path, uint64_t seq, const std::string& hash) {
    try {
        if (!journald_available()) return;
        send({
            "MESSAGE=stockade: journal " + journal_path + " chain head seq " + std::to_string(seq) +
                " hash " + hash,
            "PRIORITY=6",
            "SYSLOG_IDENTIFIER=stockade",
            "STOCKADE_TYPE=chain-head",
            "STOCKADE_JOURNAL=" + journal_path,
            "STOCKADE_SEQ=" + std::to_string(seq),
            "STOCKADE_HASH=" + hash,
        });
    } catch (...) {
    }
}

}  // namespace stockade::journal
