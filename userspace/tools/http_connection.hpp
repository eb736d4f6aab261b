// Both directions of one HTTP connection as the probe sees it (socket writes and reads, or
// SSL_write and SSL_read), and what the journal keeps of a request target.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "tools/http.hpp"

namespace stockade::tools {

class HttpConnection {
public:
    // One captured I/O. `write`: bytes the process sent (requests); otherwise bytes it read
    // (responses). `writer_killed`: the kernel killed the process at this write, so no more bytes
    // will come and what there is is judged now.
    void feed(std::string_view bytes, bool write, bool truncated, bool writer_killed, std::vector<HttpRequest>& reqs,
              std::vector<HttpResponse>& resps);
    // The connection ended (the process exited): a response read until close is complete now.
    void close(std::vector<HttpResponse>& resps);

private:
    HttpStream requests_{HttpStream::Direction::Requests};
    HttpStream responses_{HttpStream::Direction::Responses};
};

// The target without its query and fragment ("/v1/items?token=x" -> "/v1/items").
std::string path_of(const std::string& target);
// The query string ("token=x"), "" when none. Query strings carry tokens and other secrets: the
// journal keeps a digest of them.
std::string query_of(const std::string& target);
// A response body as JSON text: the body itself, or the first `data:` line of an event stream.
// "" when the content type is neither.
std::string json_body_of(const HttpResponse& resp);

}  // namespace stockade::tools
