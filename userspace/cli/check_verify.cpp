#include <cstdio>

#include "cli/commands.hpp"
#include "journal/verify.hpp"
#include "policy/policy.hpp"

namespace stockade::cli {

int cmd_check(const std::vector<std::string>& paths, bool quiet) {
    auto res = policy::load_boundaries(paths);
    auto text = policy::format_diagnostics(res.diagnostics, res.files);
    if (!quiet || !res.ok()) std::fputs(text.c_str(), res.ok() ? stdout : stderr);
    if (!text.empty() && text.back() != '\n') std::fputc('\n', res.ok() ? stdout : stderr);
    return res.ok() ? kExitOk : kExitNo;
}

int cmd_verify(const std::string& journal) {
    auto r = journal::verify(journal);
    for (auto& n : r.notes) std::printf("note: %s\n", n.c_str());
    if (r.ok) {
        std::printf("ok: %llu records in %llu file(s), seq %llu..%llu, chain head %s\n",
                    (unsigned long long)r.records, (unsigned long long)r.files, (unsigned long long)r.first_seq,
                    (unsigned long long)r.last_seq, r.last_hash.c_str());
        return kExitOk;
    }
    const auto& b = *r.broken;
    std::fprintf(stderr, "BROKEN: %s:%llu (seq %llu): %s\n", b.file.c_str(), (unsigned long long)b.line,
                 (unsigned long long)b.seq, b.why.c_str());
    return kExitNo;
}

}  // namespace stockade::cli
