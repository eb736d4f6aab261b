#include "control/protocol.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cereal/archives/json.hpp>
#include <cereal/types/map.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>
#include <cerrno>
#include <cstring>
#include <sstream>

#include "common/error.hpp"

namespace stockade::control {

template <class A>
void serialize(A& a, Request& r) {
    a(cereal::make_nvp("op", r.op), cereal::make_nvp("agent", r.agent), cereal::make_nvp("task", r.task),
      cereal::make_nvp("pid", r.pid), cereal::make_nvp("grants", r.grants), cereal::make_nvp("confines", r.confines),
      cereal::make_nvp("ttl_ms", r.ttl_ms), cereal::make_nvp("label", r.label), cereal::make_nvp("token", r.token),
      cereal::make_nvp("approval", r.approval), cereal::make_nvp("notify_fd", r.notify_fd));
}
template <class A>
void serialize(A& a, ApprovalInfo& i) {
    a(cereal::make_nvp("id", i.id), cereal::make_nvp("agent", i.agent), cereal::make_nvp("task", i.task),
      cereal::make_nvp("action", i.action), cereal::make_nvp("object", i.object), cereal::make_nvp("rule", i.rule),
      cereal::make_nvp("pid", i.pid), cereal::make_nvp("exe", i.exe), cereal::make_nvp("age_ms", i.age_ms),
      cereal::make_nvp("expires_in_ms", i.expires_in_ms));
}
template <class A>
void serialize(A& a, TaskInfo& t) {
    a(cereal::make_nvp("id", t.id), cereal::make_nvp("agent", t.agent), cereal::make_nvp("label", t.label),
      cereal::make_nvp("state", t.state), cereal::make_nvp("expires_in_ms", t.expires_in_ms),
      cereal::make_nvp("grants", t.grants), cereal::make_nvp("token", t.token));
}
template <class A>
void serialize(A& a, Response& r) {
    a(cereal::make_nvp("ok", r.ok), cereal::make_nvp("error", r.error), cereal::make_nvp("body", r.body));
}
template <class A>
void serialize(A& a, AgentStatus& s) {
    a(cereal::make_nvp("name", s.name), cereal::make_nvp("mode", s.mode), cereal::make_nvp("file", s.file),
      cereal::make_nvp("on_violation", s.on_violation), cereal::make_nvp("tracked", s.tracked),
      cereal::make_nvp("events", s.events), cereal::make_nvp("allowed", s.allowed),
      cereal::make_nvp("violations", s.violations), cereal::make_nvp("kills", s.kills),
      cereal::make_nvp("denies", s.denies), cereal::make_nvp("exec_in_kernel", s.exec_in_kernel),
      cereal::make_nvp("net_in_kernel", s.net_in_kernel),
      cereal::make_nvp("files_in_kernel", s.files_in_kernel), cereal::make_nvp("userspace_only", s.userspace_only),
      cereal::make_nvp("tools_invoked", s.tools_invoked), cereal::make_nvp("tools_denied", s.tools_denied),
      cereal::make_nvp("files", s.files), cereal::make_nvp("files_denied", s.files_denied),
      cereal::make_nvp("destinations", s.destinations),
      cereal::make_nvp("destinations_denied", s.destinations_denied),
      cereal::make_nvp("rules", s.rules), cereal::make_nvp("mcp_offered", s.mcp_offered),
      cereal::make_nvp("mcp_called", s.mcp_called), cereal::make_nvp("mcp_denied", s.mcp_denied),
      cereal::make_nvp("http_calls", s.http_calls), cereal::make_nvp("http_denied", s.http_denied),
      cereal::make_nvp("tls_stacks", s.tls_stacks),
      cereal::make_nvp("http_in_kernel", s.http_in_kernel), cereal::make_nvp("actions", s.actions),
      cereal::make_nvp("grants_used", s.grants_used), cereal::make_nvp("stops_before", s.stops_before),
      cereal::make_nvp("stops_at_exit", s.stops_at_exit), cereal::make_nvp("stops_after", s.stops_after),
      cereal::make_nvp("stop_details", s.stop_details), cereal::make_nvp("llm", s.llm));
}
template <class A>
void serialize(A& a, Status& s) {
    a(cereal::make_nvp("pid", s.pid), cereal::make_nvp("version", s.version), cereal::make_nvp("features", s.features),
      cereal::make_nvp("programs", s.programs), cereal::make_nvp("agents", s.agents),
      cereal::make_nvp("events", s.events), cereal::make_nvp("events_per_s", s.events_per_s),
      cereal::make_nvp("lost", s.lost), cereal::make_nvp("kernel_kills", s.kernel_kills),
      cereal::make_nvp("kernel_denies", s.kernel_denies), cereal::make_nvp("bad_records", s.bad_records),
      cereal::make_nvp("journal_path", s.journal_path), cereal::make_nvp("journal_bytes", s.journal_bytes),
      cereal::make_nvp("agents_dir", s.agents_dir), cereal::make_nvp("last_reload", s.last_reload),
      cereal::make_nvp("ring_pending", s.ring_pending), cereal::make_nvp("ring_size", s.ring_size),
      cereal::make_nvp("reloading", s.reloading));
}

namespace {

template <typename T>
std::string to_line(const T& v) {
    std::ostringstream os;
    {
        cereal::JSONOutputArchive ar(os, cereal::JSONOutputArchive::Options::NoIndent());
        ar(cereal::make_nvp("m", const_cast<T&>(v)));
    }
    std::string s = os.str();
    // JSON strings escape control characters, so raw newlines are layout only.
    std::erase(s, '\n');
    return s;
}

template <typename T>
T from_line(const std::string& line, const char* what) {
    T v;
    try {
        std::istringstream is(line);
        cereal::JSONInputArchive ar(is);
        ar(cereal::make_nvp("m", v));
    } catch (const std::exception& e) {
        throw Error(std::string("malformed ") + what + " on the control socket: " + e.what());
    }
    return v;
}

}  // namespace

std::string encode(const Request& r) { return to_line(r); }
std::string encode(const Response& r) { return to_line(r); }
std::string encode(const Status& s) { return to_line(s); }
std::string encode(const std::vector<TaskInfo>& tasks) { return to_line(tasks); }
std::vector<TaskInfo> decode_tasks(const std::string& json) { return from_line<std::vector<TaskInfo>>(json, "task list"); }
std::string encode(const std::vector<ApprovalInfo>& approvals) { return to_line(approvals); }
std::vector<ApprovalInfo> decode_approvals(const std::string& json) {
    return from_line<std::vector<ApprovalInfo>>(json, "approval list");
}
Request decode_request(const std::string& line) { return from_line<Request>(line, "request"); }
Response decode_response(const std::string& line) { return from_line<Response>(line, "response"); }
Status decode_status(const std::string& json) { return from_line<Status>(json, "status"); }

Response call(const std::string& socket_path, const Request& req, int timeout_ms) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw Error(std::string("socket: ") + std::strerror(errno));
    struct Closer {
        int fd;
        ~Closer() { close(fd); }
    } closer{fd};
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (socket_path.size() >= sizeof addr.sun_path) throw Error("control socket path too long: " + socket_path);
    std::strcpy(addr.sun_path, socket_path.c_str());
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        int err = errno;
        if (err == ENOENT || err == ECONNREFUSED)
            throw Error("stockaded is not running (no daemon listening on " + socket_path +
                        "); start it with `systemctl start stockade` or `stockaded`");
        if (err == EACCES)
            throw Error("permission denied on " + socket_path + ": run as root or as a member of the stockade group");
        throw Error("connecting to " + socket_path + ": " + std::strerror(err));
    }
    timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string out = encode(req) + "\n";
    if (send(fd, out.data(), out.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(out.size()))
        throw Error("sending to stockaded: " + std::string(std::strerror(errno)));
    std::string in;
    char buf[4096];
    while (in.find('\n') == std::string::npos) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n == 0) break;
        if (n < 0) {
            if (errno == EINTR) continue;
            throw Error("no answer from stockaded within " + std::to_string(timeout_ms) + " ms");
        }
        in.append(buf, static_cast<size_t>(n));
    }
    if (in.empty()) throw Error("stockaded closed the connection without an answer");
    return decode_response(in.substr(0, in.find('\n')));
}

}  // namespace stockade::control
