#include "judge/intent.hpp"

#include <algorithm>

namespace stockade::judge {

namespace {

bool is_operator_char(char c) { return c == ';' || c == '&' || c == '|' || c == '<' || c == '>' || c == '(' || c == ')'; }
bool is_operator(const std::string& w) { return !w.empty() && is_operator_char(w[0]); }

std::string base_name(const std::string& path) { return path.substr(path.rfind('/') + 1); }

// Words after which the next word is a command again: `eval CMD`, `sudo CMD`, `env A=1 CMD` ...
bool runs_next(const std::string& w) {
    static const char* const kPrefixes[] = {"eval", "exec", "env", "sudo", "nohup", "time", "command", "builtin",
                                            "then", "do", "else", "!", "{"};
    return is_operator(w) || std::find(std::begin(kPrefixes), std::end(kPrefixes), w) != std::end(kPrefixes) ||
           (w.find('=') != std::string::npos && w[0] != '=' && w[0] != '-');  // FOO=1 before a command
}

// Whether argv is a run of words of `words` starting where a command starts.
bool is_simple_command_of(const std::vector<std::string>& argv, const std::vector<std::string>& words) {
    if (argv.empty() || argv.size() > words.size()) return false;
    std::string name = base_name(argv[0]);
    for (size_t i = 0; i + argv.size() <= words.size(); ++i) {
        if (i > 0 && !runs_next(words[i - 1])) continue;
        if (base_name(words[i]) != name) continue;
        if (std::equal(argv.begin() + 1, argv.end(), words.begin() + static_cast<long>(i) + 1)) return true;
    }
    return false;
}

bool holds_words(const std::vector<std::string>& hay, const std::vector<std::string>& needle) {
    if (needle.empty() || needle.size() > hay.size()) return false;
    return std::search(hay.begin(), hay.end(), needle.begin(), needle.end()) != hay.end();
}

bool is_shell(const std::string& exe) {
    std::string b = base_name(exe);
    return b == "bash" || b == "sh" || b == "zsh" || b == "dash" || b == "ksh";
}

}  // namespace

std::vector<std::string> shell_words(std::string_view s) {
    std::vector<std::string> out;
    std::string word;
    bool in_word = false;
    auto end_word = [&] {
        if (in_word) out.push_back(std::move(word));
        word.clear();
        in_word = false;
    };
    for (size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        if (c == ' ' || c == '\t' || c == '\n') {
            end_word();
        } else if (c == '\\' && i + 1 < s.size()) {
            word += s[++i];
            in_word = true;
        } else if (c == '\'') {
            size_t close = s.find('\'', i + 1);
            if (close == std::string_view::npos) close = s.size();
            word.append(s.substr(i + 1, close - i - 1));
            in_word = true;
            i = close;
        } else if (c == '"') {
            for (++i; i < s.size() && s[i] != '"'; ++i) {
                if (s[i] == '\\' && i + 1 < s.size() && std::string_view("\"\\$`").find(s[i + 1]) != std::string_view::npos)
                    ++i;
                word += s[i];
            }
            in_word = true;
        } else if (is_operator_char(c)) {
            end_word();
            std::string op(1, c);
            while (i + 1 < s.size() && is_operator_char(s[i + 1]) && s[i + 1] != '(' && s[i + 1] != ')') op += s[++i];
            out.push_back(std::move(op));
        } else {
            word += c;
            in_word = true;
        }
    }
    end_word();
    return out;
}

bool exec_runs_command(const std::vector<std::string>& argv, const std::string& command) {
    if (argv.empty() || command.empty()) return false;
    std::vector<std::string> words = shell_words(command);
    if (is_simple_command_of(argv, words)) return true;
    if (!is_shell(argv[0])) return false;
    // A shell's script: the command in it verbatim, as an eval'd word, or as its words.
    for (size_t i = 1; i < argv.size(); ++i) {
        const std::string& script = argv[i];
        if (script.empty() || script[0] == '-') continue;
        if (script.find(command) != std::string::npos) return true;
        std::vector<std::string> script_words = shell_words(script);
        if (holds_words(script_words, words)) return true;
        for (auto& w : script_words)
            if (w.find(command) != std::string::npos) return true;
    }
    return false;
}

void IntentBook::requested(const std::string& agent, uint64_t llm_seq, const std::vector<tools::LlmToolUse>& uses) {
    auto& q = requested_[agent];
    for (auto& u : uses) {
        q.push_back({{llm_seq, u.id}, u.name, u.command, u.input});
        if (q.size() > kPerAgent) q.pop_front();
    }
}

std::optional<Intent> IntentBook::of_process(uint32_t pid) const {
    auto it = by_pid_.find(pid);
    return it == by_pid_.end() ? std::nullopt : std::optional<Intent>(it->second);
}

void IntentBook::remember(uint32_t pid, const Intent& i) {
    if (by_pid_.size() >= kProcesses && !by_pid_.count(pid)) by_pid_.erase(by_pid_.begin());
    by_pid_[pid] = i;
}

std::optional<Intent> IntentBook::for_exec(const std::string& agent, uint32_t pid, uint32_t ppid,
                                           const std::vector<std::string>& argv) {
    std::optional<Intent> found = of_process(pid);
    if (!found) found = of_process(ppid);
    if (!found) {
        auto it = requested_.find(agent);
        if (it == requested_.end()) return std::nullopt;
        for (auto r = it->second.rbegin(); r != it->second.rend() && !found; ++r)
            if (!r->command.empty() && exec_runs_command(argv, r->command)) found = r->intent;
    }
    if (found) remember(pid, *found);
    return found;
}

std::optional<Intent> IntentBook::for_tool(const std::string& agent, uint32_t pid, const std::string& tool) {
    if (auto own = of_process(pid)) return own;
    auto it = requested_.find(agent);
    if (it == requested_.end() || tool.empty()) return std::nullopt;
    for (auto r = it->second.rbegin(); r != it->second.rend(); ++r) {
        const std::string& n = r->name;
        if (n == tool || (n.size() > tool.size() + 2 && n.compare(n.size() - tool.size() - 2, std::string::npos,
                                                                  "__" + tool) == 0))
            return r->intent;
    }
    return std::nullopt;
}

std::optional<Intent> IntentBook::for_http(const std::string& agent, uint32_t pid, const std::string& host,
                                           const std::string& path) {
    if (auto own = of_process(pid)) return own;
    auto it = requested_.find(agent);
    if (it == requested_.end() || host.empty()) return std::nullopt;
    for (auto r = it->second.rbegin(); r != it->second.rend(); ++r) {
        const std::string& text = r->command.empty() ? r->input : r->command;
        if (text.find(host) != std::string::npos && (path.size() <= 1 || text.find(path) != std::string::npos))
            return r->intent;
    }
    return std::nullopt;
}

void IntentBook::forked(uint32_t parent, uint32_t child) {
    if (auto i = of_process(parent)) remember(child, *i);
}

}  // namespace stockade::judge
