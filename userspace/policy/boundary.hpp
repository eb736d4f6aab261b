// The parsed boundary of one agent and the set of all boundaries in force. Everything is public
// and read-only once loaded (shared as `const`), so other stages read the rules directly: the
// enforcement stage puts Exact and Subtree path rules into kernel inode tables, the identity
// stage reads `match`. The one mutable part is the table of addresses resolved for host rules,
// which the daemon refreshes while the set is in force (thread-safe).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/container.hpp"
#include "common/verdict.hpp"
#include "policy/glob.hpp"
#include "policy/net.hpp"
#include "stockade/events.h"

namespace stockade::policy {

// How allowed actions are journaled.
enum class JournalAllowed : uint8_t { Off, Summary, Full };
std::string_view to_string(JournalAllowed j);

// Where a rule came from, for messages and diagnostics.
struct RuleOrigin {
    std::string id;       // "coder.yaml:files.never[0]", "coder.yaml:repo", "builtin:system-read"
    std::string where;    // "files.never[0]" (section and index, also for named rules)
    int line = 0, column = 0;  // 1-based in the boundary file; 0 for builtin rules
};

struct PathRule : RuleOrigin {
    std::string text;     // as written ("~/.ssh/**")
    std::string pattern;  // after ~ expansion, normalisation and symlink resolution
    Glob glob;            // compiled `pattern`

    PatternKind kind() const { return glob.kind(); }
    // Subtree: the directory whose whole subtree matches. Exact: the path.
    const std::string& dir() const { return glob.dir(); }
    bool matches(std::string_view path) const { return glob.matches(path); }
};

struct NetRule : RuleOrigin {
    std::string host;                // host rule: the name (lower case); empty for a CIDR rule
    Cidr cidr;                       // CIDR rule: the block (family AF_INET / AF_INET6)
    std::vector<PortRange> ports;    // empty = any port
    Protocol protocol = Protocol::Any;

    int family() const { return cidr.addr.family; }
    const std::array<uint8_t, 16>& address() const { return cidr.addr.bytes; }
    int prefix_len() const { return cidr.prefix; }
    bool matches_port(uint16_t port) const;
    std::string str() const;  // "127.0.0.0/8 ports 8000-8100 tcp", "api.example.com ports 443"
};

struct BindRule : RuleOrigin {
    PortRange ports;
};

// A chain of actions that is forbidden even when each step is allowed: after a process does
// something in `after` it carries the sequence's label (inherited by its children), and a
// labelled process may not do what `forbid` names. `count` rules fire when more than `distinct`
// different files matching `count_read` are read within `within_ms`, by any process of the agent.
struct SequenceRule : RuleOrigin {
    std::string name;
    std::vector<PathRule> after_read, after_write, after_exec;
    std::vector<NetRule> after_connect;
    std::vector<PathRule> forbid_read, forbid_write, forbid_exec, write_except;
    bool forbid_connect = false;          // any connect, except connect_except
    std::vector<NetRule> connect_except;  // with forbid_connect
    // `through:` what the label passes through besides fork, as SK_THROUGH_* bits: objects a
    // labelled process writes label the processes of its agent that read them. Default: all.
    uint32_t through = kThroughAll;
    static constexpr uint32_t kThroughAll = SK_THROUGH_PIPE | SK_THROUGH_SOCKET | SK_THROUGH_FILE;
    std::vector<PathRule> count_read;
    uint32_t distinct = 0;
    uint64_t within_ms = 0;
    bool is_count() const { return distinct > 0; }
};

// MCP tools an agent may call on a server: `server` is a glob (fnmatch, `*` crosses `/`) over the
// server's command line ("exe arg1 arg2 ..."; empty = any server); tool names are globs too.
struct ToolRule : RuleOrigin {
    std::string server;
    std::vector<std::string> allow, deny;
    bool full_arguments = false;  // `arguments: full`: journal the call's arguments, not only a digest
};

// One "METHOD /path-glob" entry of a tools.http rule.
struct HttpRoute {
    std::string text;    // as written: "GET /repos/**"
    std::string method;  // "GET", or "*" for any method
    Glob path;           // compiled path glob
};

// Parses one "METHOD /path-glob" (the entries of tools.http and of `http=` task grants): "" on
// success, else what is wrong, ending with the expected form.
std::string parse_http_route(const std::string& text, HttpRoute& out);

// HTTP requests an agent may make: `host` is a glob over the request's host (lower case, no port;
// empty = any host).
struct HttpRule : RuleOrigin {
    std::string host;
    std::vector<HttpRoute> allow, deny;
};

// A file syscall that failed (ENOENT, EACCES ...) changed nothing. `Attempt`: it is journaled
// with its errno as a flag, never killed, unless it touched files.never. `Violation`: it is
// judged like one that succeeded.
enum class FailedSyscalls : uint8_t { Attempt, Violation };

struct AgentMatch {
    std::vector<std::string> units;    // systemd unit names
    std::vector<std::string> cgroups;  // cgroup v2 paths relative to the v2 root, "/"-prefixed
    std::optional<container::Selector> container;  // containers by name, image, labels (globs)
    std::optional<std::string> exe;    // the agent root process executable (symlinks resolved)
    std::optional<uint32_t> uid;
};

// Addresses the daemon resolved for host names; shared by every boundary of one PolicySet.
class HostTable {
public:
    void set(std::string_view host, std::vector<IpAddr> addrs);
    std::vector<IpAddr> get(std::string_view host) const;
    bool contains(std::string_view host, const IpAddr& addr) const;

private:
    mutable std::shared_mutex mu_;
    std::map<std::string, std::vector<IpAddr>, std::less<>> addrs_;
};

// What enforce mode does when the kernel could not hand one of the agent's records to the daemon
// (ring buffer full): the action was never judged.
enum class OnLoss : uint8_t {
    Kill,  // the process whose record was lost dies in the kernel, at the loss
    Flag,  // counted and journaled per agent, nothing stopped
};

// tools.http_unseen_tls: what a TLS connection whose plaintext stockade cannot see becomes (a
// ClientHello from a process none of whose TLS stacks stockade probes), for an agent with
// tools.http rules ("builtin:unseen-tls").
enum class UnseenTls : uint8_t {
    Deny,   // a violation: in enforce mode the writer of the hello is killed in the kernel
    Flag,   // journaled as a flag, nothing stopped
    Allow,  // not reported
};

struct Boundary {
    std::string name;         // agent name
    std::string description;
    std::string file;         // the path it was loaded from
    std::string file_name;    // its base name: the prefix of every rule id
    Mode mode = Mode::Monitor;
    OnViolation on_violation = OnViolation::KillProcess;
    // on_violation: ask: seconds an action waits held for `stockade approve` before it is denied.
    uint32_t approval_timeout_s = 60;
    JournalAllowed journal_allowed = JournalAllowed::Summary;
    // `model_prompts: full`: an llm record keeps the request body (the prompt) as captured, not
    // only its digest (`digest`, the default). Prompts hold whatever the agent read: secrets too.
    bool model_prompts = false;
    std::string home;         // what "~" expanded to; empty when unknown
    AgentMatch match;
    bool system_read = true;
    bool io_uring = false;  // io_uring_setup/enter/register allowed (they bypass the syscall hook)
    std::optional<OnLoss> on_loss;  // absent: kill, unless on_violation is flag
    OnLoss effective_on_loss() const {
        return on_loss ? *on_loss : on_violation == OnViolation::Flag ? OnLoss::Flag : OnLoss::Kill;
    }
    // The mount family allowed (mount, umount2, move_mount, fsmount ...): without it an agent is
    // killed at the first one, since a mount could cover stockade's own files (self-protection).
    bool mount = false;
    FailedSyscalls failed_syscalls = FailedSyscalls::Attempt;
    std::vector<PathRule> system_rules;  // the builtin read rules (resolved), when system_read
    std::vector<PathRule> system_write_rules;  // the builtin read-write devices, when system_read

    struct Files {
        std::vector<PathRule> read, write, create, remove /* files.delete */, never;
    } files;
    struct Exec {
        std::vector<PathRule> allow, deny;
    } exec;
    struct Network {
        std::vector<NetRule> connect, deny;
        std::vector<BindRule> bind;
    } network;
    std::vector<SequenceRule> sequences;
    std::vector<ToolRule> mcp_tools;   // tools.mcp
    std::vector<HttpRule> http_tools;  // tools.http
    UnseenTls unseen_tls = UnseenTls::Flag;  // tools.http_unseen_tls (only with tools.http rules)

    std::string default_deny_id() const { return file_name + ":default-deny"; }
    // Host names named by network rules, sorted, unique: what the daemon must resolve.
    std::vector<std::string> hosts() const;
    // Install the addresses a host name resolved to (replaces earlier ones).
    void set_resolved(std::string_view host, std::vector<IpAddr> addrs) const;
    std::vector<IpAddr> resolved(std::string_view host) const;
    const HostTable& host_table() const { return *resolved_hosts; }

    // PolicySet points all its boundaries at its one table.
    std::shared_ptr<HostTable> resolved_hosts = std::make_shared<HostTable>();
};

// What a violation of `b` becomes: would-deny in monitor mode, flag when on_violation is flag,
// otherwise kill (the process or the agent, as on_violation says).
Decision violation_for(const Boundary& b);


class PolicySet {
public:
    PolicySet() = default;
    // Takes the boundaries (names must be unique) and gives them one shared host table.
    explicit PolicySet(std::vector<std::shared_ptr<Boundary>> boundaries);

    const Boundary* find(std::string_view agent) const;
    const std::vector<std::shared_ptr<const Boundary>>& agents() const { return agents_; }

    std::vector<std::string> hosts() const;  // across all agents, sorted, unique
    void set_resolved(std::string_view host, std::vector<IpAddr> addrs) const { hosts_->set(host, std::move(addrs)); }
    std::vector<IpAddr> resolved(std::string_view host) const { return hosts_->get(host); }

private:
    std::vector<std::shared_ptr<const Boundary>> agents_;
    std::shared_ptr<HostTable> hosts_ = std::make_shared<HostTable>();
};

// Host names are compared lower case without a trailing dot.
std::string normalize_host(std::string_view host);

}  // namespace stockade::policy
