#include "tools/http_connection.hpp"

namespace stockade::tools {

void HttpConnection::feed(std::string_view bytes, bool write, bool truncated, bool writer_killed,
                          std::vector<HttpRequest>& reqs, std::vector<HttpResponse>& resps) {
    if (write) {
        requests_.feed(bytes, truncated, reqs, resps);
        if (writer_killed) requests_.flush(reqs, resps);
        return;
    }
    // The kernel captures a read that starts a response and the few after it (its body). A new
    // status line ends whatever came before it, complete or not.
    if (looks_like_http_response(bytes)) responses_.flush(reqs, resps);
    responses_.feed(bytes, truncated, reqs, resps);
}

void HttpConnection::close(std::vector<HttpResponse>& resps) {
    std::vector<HttpRequest> reqs;
    responses_.flush(reqs, resps);
}

std::string query_of(const std::string& target) {
    size_t q = target.find('?');
    return q == std::string::npos ? std::string() : target.substr(q + 1);
}

std::string path_of(const std::string& target) {
    size_t q = target.find_first_of("?#");
    return q == std::string::npos ? target : target.substr(0, q);
}

std::string json_body_of(const HttpResponse& resp) {
    if (resp.content_type == "application/json") return resp.body;
    if (resp.content_type != "text/event-stream") return "";
    size_t d = resp.body.find("data:");
    return d == std::string::npos ? "" : resp.body.substr(d + 5, resp.body.find('\n', d) - d - 5);
}

}  // namespace stockade::tools
