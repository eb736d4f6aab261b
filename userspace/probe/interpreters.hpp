// Interpreters run with a script file as their program (`sh SCRIPT`, `python3 SCRIPT.py`,
// `perl SCRIPT`): the interpreter's exec is allowed, the script is only read, yet the script is what
// runs. The daemon judges that script as if it had been exec'd (policy/decide.cpp), and the kernel
// holds the exec until then (bpf/process.bpf.h, map interp_names, filled from kernel_entries()).
//
// Known by the name of the image's real file (symlinks resolved: /bin/sh is dash), with version
// digits and dots dropped from its end (python3.12 -> python). A copy under another name is not
// known: it needs its own exec.allow rule to run at all. Not covered: code the interpreter gets
// another way (`sh -c '. SCRIPT'`, `sh < SCRIPT`, `python3 -m MODULE`, `perl -S NAME` searched in
// PATH); files.never still stops the interpreter's open of such a file.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stockade/events.h"

namespace stockade::probe {

// How an interpreter reads its command line: the short option letters of each kind, long options.
struct InterpreterSyntax {
    std::string_view family;        // "shell", "python", ...
    std::string_view code;          // the value is code, not a file: no script (sh -c, perl -e)
    std::string_view flags;         // take no value (the kernel may skip these before a code letter)
    std::string_view values;        // take a value: the rest of the cluster, else the next argument
    std::string_view attached;      // take the rest of the cluster only (perl -l0, ruby -W2)
    std::string_view script_value;  // the value is the script (php -f FILE)
    std::string_view from_stdin;    // the program is read from stdin (sh -s)
    std::vector<std::string_view> long_code;    // --eval CODE, --command CODE
    std::vector<std::string_view> long_values;  // --rcfile FILE (unless written --rcfile=FILE)
    std::vector<std::string_view> long_flags;   // known to take no value
    bool plus_options = false;   // shells: `+o NAME`, `+x` are options too
    bool dash_is_stdin = true;   // "-" alone: the program is stdin (shells: it ends the options)
};

// The interpreter an image is, by the name of its real file (basename of `image_path`).
// busybox is a shell only through its applet name: see scripts_of().
const InterpreterSyntax* interpreter_of(std::string_view image_path);

// `name` with version digits and dots dropped from its end: "python3.12" -> "python".
std::string interpreter_name(std::string_view name);

// What an interpreter's argv (argv[0] included) names as its program file.
struct ScriptArgs {
    // The first non-option argument; with it the next one too when an option before it was not
    // known (it may have taken the first as its value). Empty: no script (code, stdin, none).
    std::vector<std::string> candidates;
    bool undetermined = false;  // argv was cut before the script could be told
};

ScriptArgs script_args(const InterpreterSyntax& s, const std::vector<std::string>& argv, bool argv_truncated);

// The script(s) an exec of `image_path` with `argv` runs, or nothing when the image is not an
// interpreter (busybox: its applet, from argv[0] or argv[1], must be a shell).
ScriptArgs scripts_of(std::string_view image_path, const std::vector<std::string>& argv, bool argv_truncated);

// The kernel's copy (map interp_names): each known name and what its first argument may be for
// the kernel to let the exec run unheld (a cluster of flags reaching a code letter).
struct KernelInterpreter {
    sk_interp_key key{};
    sk_interp value{};
};
std::vector<KernelInterpreter> kernel_entries();

// The bit of an option letter in sk_interp.flags (-1: not a letter or digit).
int option_bit(char c);

}  // namespace stockade::probe
