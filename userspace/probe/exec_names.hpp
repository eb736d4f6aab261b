// The program an exec really runs when it is not the image: the program a dynamic loader run
// as a program is given (`ld.so [options] PROGRAM`), and the script a `#!` interpreter runs.
// Both reach the daemon as names the agent wrote; these turn them into the files they name.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace stockade::probe {

// The PROGRAM argument of `ld.so [options] PROGRAM [args]` (argv as exec'd: argv[0] is the
// loader's), after glibc's loader options (--list, --verify, --inhibit-cache, --library-path X,
// --inhibit-rpath X, --audit X, --preload X, --argv0 X, --glibc-hwcaps-prepend X,
// --glibc-hwcaps-mask X). None when it cannot be told for sure: an option it does not know
// (or "--", --help, --version, --list-tunables, --list-diagnostics), an option's argument or the
// program missing or cut off by the argv limit, or a name without a slash (the loader looks
// that up in its library search path, not as a file name).
std::optional<std::string> loader_program_arg(const std::vector<std::string>& argv, bool argv_truncated);

// `name` as the process `pid` would open it: relative to `cwd` (the exec's, as the kernel
// resolved it) and inside the process's root, symlinks resolved, /proc/self and /proc/thread-self
// (and so /dev/fd/N) as that process's. The lexical join of cwd and name when the file cannot be
// reached (gone, deleted, or the process is).
std::string resolve_exec_name(uint32_t pid, const std::string& cwd, const std::string& name);

}  // namespace stockade::probe
