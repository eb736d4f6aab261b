// libFuzzer target: the input is a boundary file. It is loaded (YAML, every section, pattern
// preparation, lint) and, when it loads, its path rules are matched against a few paths. A
// crash, a sanitizer report, an escaping exception or a slow input is a finding; a refused
// file with diagnostics is the expected outcome for most inputs.
#include <cstddef>
#include <cstdint>
#include <string>

#include "policy/policy.hpp"

using namespace stockade::policy;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string yaml(reinterpret_cast<const char*>(data), size);
    LoadResult res = load_boundary_text("fuzz.yaml", yaml);
    (void)format_diagnostics(res.diagnostics);
    if (!res.ok() || !res.set) return 0;
    static const char* const kPaths[] = {"/", "/home/agent/repo/src/main.cpp", "/etc/shadow", "relative/x"};
    for (auto& b : res.set->agents())
        for (const auto* list : {&b->files.read, &b->files.write, &b->files.never, &b->exec.allow})
            for (const auto& rule : *list)
                for (const char* p : kPaths) (void)rule.glob.matches(p);
    return 0;
}
