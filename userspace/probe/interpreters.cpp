#include "probe/interpreters.hpp"

#include <algorithm>
#include <cstring>
#include <utility>

namespace stockade::probe {

namespace {

// Letters are listed per family only where every member reads them the same way; a letter not
// listed is an unknown option (see ScriptArgs::candidates). `digits`: letters whose value is the
// digits right after them (perl -l0, -00): a letter after those is an option again.
struct Family {
    InterpreterSyntax syntax;
    std::string_view digits;
    std::vector<std::string_view> names;
};

// family, code, flags, values, attached, script_value, from_stdin (InterpreterSyntax's order).
InterpreterSyntax syntax(std::string_view family, std::string_view code, std::string_view flags, std::string_view values,
                         std::string_view attached = "", std::string_view script_value = "",
                         std::string_view from_stdin = "") {
    InterpreterSyntax s;
    s.family = family;
    s.code = code;
    s.flags = flags;
    s.values = values;
    s.attached = attached;
    s.script_value = script_value;
    s.from_stdin = from_stdin;
    return s;
}

const std::vector<Family>& families() {
    static const std::vector<Family> all = [] {
        std::vector<Family> f;
        InterpreterSyntax sh = syntax("shell", "c", "abefhiklmnprtuvxBCEHPT", "oO", "", "", "s");
        sh.long_values = {"--rcfile", "--init-file"};
        sh.long_flags = {"--login", "--noprofile", "--norc", "--posix", "--restricted", "--verbose",
                         "--noediting", "--debugger", "--dump-strings", "--dump-po-strings", "--help", "--version"};
        sh.long_code = {"--command"};
        sh.plus_options = true;
        sh.dash_is_stdin = false;  // `sh - FILE`: "-" ends the options, FILE runs
        f.push_back({sh, "", {"sh", "ash", "dash", "bash", "rbash", "zsh", "ksh", "mksh", "lksh", "oksh", "pdksh",
                              "yash", "posh", "hush", "csh", "tcsh"}});

        InterpreterSyntax fish = syntax("fish", "c", "ilnNP", "Cdofp");
        fish.long_code = {"--command"};
        fish.long_values = {"--init-command", "--debug", "--debug-output", "--features", "--profile",
                            "--profile-startup"};
        fish.long_flags = {"--interactive", "--login", "--no-execute", "--no-config", "--private", "--help",
                           "--version"};
        fish.dash_is_stdin = false;
        f.push_back({fish, "", {"fish"}});

        // -m MODULE runs a module found in sys.path, not a file named here (not covered).
        InterpreterSyntax py = syntax("python", "cm", "bBdEhiIOPqRsSuvVx", "WX");
        py.long_values = {"--check-hash-based-pycs"};
        py.long_flags = {"--help", "--version", "--help-env", "--help-xoptions", "--help-all"};
        f.push_back({py, "", {"python", "pypy"}});

        // -S looks the script up in PATH (not covered: judged as a name in the cwd).
        InterpreterSyntax perl = syntax("perl", "eE", "acnpsStTUwWXfhv", "IMm", "ixCdDV");
        f.push_back({perl, "0l", {"perl"}});

        InterpreterSyntax ruby = syntax("ruby", "e", "acdhlnpsSvwy", "ICrE", "FxTKiW");
        f.push_back({ruby, "0", {"ruby"}});

        InterpreterSyntax node = syntax("node", "ep", "chiv", "rC");
        node.long_code = {"--eval", "--print"};
        node.long_values = {"--require", "--import", "--loader", "--experimental-loader", "--conditions",
                            "--input-type", "--title", "--env-file", "--inspect-port", "--redirect-warnings",
                            "--icu-data-dir", "--openssl-config", "--disable-warning", "--watch-path"};
        node.long_flags = {"--help", "--version", "--check", "--interactive", "--no-warnings", "--test",
                           "--enable-source-maps", "--watch", "--trace-warnings", "--no-deprecation"};
        f.push_back({node, "", {"node", "nodejs"}});

        // -B, -R, -E: code run around stdin's lines, besides a script (-F FILE) if any: values.
        InterpreterSyntax php = syntax("php", "r", "ahHilmnqsvwe", "cdztSBRE", "", "fF");
        f.push_back({php, "", {"php"}});

        // lua -e CODE runs CODE, then the script if one follows: a value, not inline code alone.
        InterpreterSyntax lua = syntax("lua", "", "ivEWb", "elj", "O");
        f.push_back({lua, "", {"lua", "luajit"}});
        return f;
    }();
    return all;
}

const Family* family_named(std::string_view normalized) {
    for (const auto& f : families())
        if (std::find(f.names.begin(), f.names.end(), normalized) != f.names.end()) return &f;
    return nullptr;
}

const Family* family_of(const InterpreterSyntax& s) {
    for (const auto& f : families())
        if (&f.syntax == &s) return &f;
    return nullptr;
}

bool has(std::string_view set, char c) { return set.find(c) != std::string_view::npos; }

std::string_view basename(std::string_view p) {
    size_t slash = p.rfind('/');
    return slash == std::string_view::npos ? p : p.substr(slash + 1);
}

// What one option argument does to the parse.
enum class OptionEnd { Next, SkipNext, NoScript, Script, ScriptNext };

// A short-option cluster ("-lc", "-Wignore", "-fFILE"): what it means, and whether an unknown letter
// was in it. `value`: the script a script_value letter named within the cluster.
OptionEnd short_cluster(const Family& f, std::string_view cluster, bool& unknown, std::string& value) {
    const InterpreterSyntax& s = f.syntax;
    for (size_t k = 0; k < cluster.size(); ++k) {
        char c = cluster[k];
        std::string_view rest = cluster.substr(k + 1);
        if (has(s.code, c) || has(s.from_stdin, c)) return OptionEnd::NoScript;
        if (has(s.script_value, c)) {
            value = std::string(rest);
            return rest.empty() ? OptionEnd::ScriptNext : OptionEnd::Script;
        }
        if (has(s.values, c)) return rest.empty() ? OptionEnd::SkipNext : OptionEnd::Next;
        if (has(s.attached, c)) return OptionEnd::Next;
        if (has(f.digits, c)) {
            while (k + 1 < cluster.size() && cluster[k + 1] >= '0' && cluster[k + 1] <= '9') ++k;
            continue;
        }
        if (!has(s.flags, c)) unknown = true;
    }
    return OptionEnd::Next;
}

OptionEnd long_option(const InterpreterSyntax& s, std::string_view a, bool& unknown) {
    size_t eq = a.find('=');
    std::string_view name = a.substr(0, eq);
    auto in = [&](const std::vector<std::string_view>& v) { return std::find(v.begin(), v.end(), name) != v.end(); };
    if (in(s.long_code)) return OptionEnd::NoScript;
    if (eq != std::string_view::npos) return OptionEnd::Next;
    if (in(s.long_values)) return OptionEnd::SkipNext;
    if (!in(s.long_flags)) unknown = true;
    return OptionEnd::Next;
}

}  // namespace

int option_bit(char c) {
    if (c >= 'a' && c <= 'z') return c - 'a';
    if (c >= 'A' && c <= 'Z') return 26 + (c - 'A');
    if (c >= '0' && c <= '9') return 52 + (c - '0');
    return -1;
}

std::string interpreter_name(std::string_view name) {
    size_t n = name.size();
    while (n > 0 && ((name[n - 1] >= '0' && name[n - 1] <= '9') || name[n - 1] == '.')) --n;
    return std::string(name.substr(0, n));
}

const InterpreterSyntax* interpreter_of(std::string_view image_path) {
    const Family* f = family_named(interpreter_name(basename(image_path)));
    return f ? &f->syntax : nullptr;
}

ScriptArgs script_args(const InterpreterSyntax& s, const std::vector<std::string>& argv, bool argv_truncated) {
    ScriptArgs out;
    const Family* f = family_of(s);
    if (!f) return out;
    bool unknown = false;
    size_t i = 1;
    while (i < argv.size()) {
        std::string_view a = argv[i];
        if (a == "--" || (a == "-" && !s.dash_is_stdin)) {
            ++i;
            break;
        }
        if (a == "-") return out;  // the program is stdin
        bool option = a.size() > 1 && (a[0] == '-' || (s.plus_options && a[0] == '+'));
        if (!option) break;
        std::string value;
        OptionEnd end = a.starts_with("--") ? long_option(s, a, unknown) : short_cluster(*f, a.substr(1), unknown, value);
        if (end == OptionEnd::NoScript) return out;
        if (end == OptionEnd::Script) {
            out.candidates.push_back(std::move(value));
            return out;
        }
        if (end == OptionEnd::ScriptNext) {  // php -f FILE: the next argument is the script
            ++i;
            break;
        }
        i += end == OptionEnd::SkipNext ? 2 : 1;
    }
    // The last element of a cut argv may be cut itself; nothing left may be a cut one.
    if (argv_truncated && i + 1 >= argv.size()) {
        out.undetermined = true;
        return out;
    }
    if (i >= argv.size()) return out;  // no program file: the interpreter reads stdin
    out.candidates.push_back(argv[i]);
    if (unknown && i + 1 < argv.size()) out.candidates.push_back(argv[i + 1]);
    return out;
}

ScriptArgs scripts_of(std::string_view image_path, const std::vector<std::string>& argv, bool argv_truncated) {
    std::string name = interpreter_name(basename(image_path));
    if (name == "busybox") {
        // busybox runs the applet argv[0] names, or argv[1] when argv[0] is busybox itself.
        std::vector<std::string> args = argv;
        if (!args.empty() && interpreter_name(basename(args[0])) == "busybox") args.erase(args.begin());
        const Family* applet = args.empty() ? nullptr : family_named(interpreter_name(basename(args[0])));
        if (!applet || applet->syntax.family != "shell") return {};
        return script_args(applet->syntax, args, argv_truncated);
    }
    const Family* f = family_named(name);
    return f ? script_args(f->syntax, argv, argv_truncated) : ScriptArgs{};
}

std::vector<KernelInterpreter> kernel_entries() {
    std::vector<KernelInterpreter> out;
    auto add = [&](std::string_view name, const Family& f) {
        KernelInterpreter k;
        std::memcpy(k.key.name, name.data(), std::min(name.size(), sizeof k.key.name - 1));
        for (char c : std::string(f.syntax.flags) + std::string(f.digits))
            if (int b = option_bit(c); b >= 0) k.value.flags |= 1ull << b;
        std::memcpy(k.value.code, f.syntax.code.data(), std::min(f.syntax.code.size(), sizeof k.value.code));
        out.push_back(k);
    };
    for (const auto& f : families())
        for (auto name : f.names) add(name, f);
    add("busybox", *family_named("sh"));  // its applet is not known in the kernel: held unless `-c`
    return out;
}

}  // namespace stockade::probe
