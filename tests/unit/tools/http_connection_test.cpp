// Both directions of one connection: requests from writes, responses from reads, a new status
// line ending a response cut short, a body read until close, and what the journal keeps of a
// request target.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "tools/http_connection.hpp"

using namespace stockade::tools;

namespace {

struct Seen {
    std::vector<HttpRequest> req;
    std::vector<HttpResponse> resp;
};

void feed(HttpConnection& c, Seen& s, const std::string& bytes, bool write, bool killed = false) {
    c.feed(bytes, write, false, killed, s.req, s.resp);
}

}  // namespace

TEST_CASE("writes give requests, reads give responses", "[http][connection]") {
    HttpConnection c;
    Seen s;
    feed(c, s, "POST /v1/items HTTP/1.1\r\nHost: Api.Example.com:443\r\nContent-Length: 4\r\n\r\nab", true);
    CHECK(s.req.empty());
    feed(c, s, "cd", true);
    REQUIRE(s.req.size() == 1);
    CHECK(s.req[0].host == "api.example.com");
    CHECK(s.req[0].body == "abcd");
    feed(c, s, "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok", false);
    REQUIRE(s.resp.size() == 1);
    CHECK(s.resp[0].status == 201);
    CHECK(s.resp[0].body == "ok");
}

TEST_CASE("a writer killed mid-request has what it wrote judged now", "[http][connection]") {
    HttpConnection c;
    Seen s;
    feed(c, s, "POST /v1/x HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\npart", true, true);
    REQUIRE(s.req.size() == 1);
    CHECK(s.req[0].target == "/v1/x");
    CHECK(s.req[0].body_truncated);
}

TEST_CASE("a new status line ends a response cut short; close ends one read until close", "[http][connection]") {
    HttpConnection c;
    Seen s;
    feed(c, s, "HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nshort", false);
    CHECK(s.resp.empty());
    feed(c, s, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", false);
    REQUIRE(s.resp.size() == 2);
    CHECK(s.resp[0].status == 200);
    CHECK(s.resp[0].body_truncated);
    CHECK(s.resp[1].status == 404);
    feed(c, s, "HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{\"a\":", false);
    CHECK(s.resp.size() == 2);
    feed(c, s, "1}", false);
    c.close(s.resp);
    REQUIRE(s.resp.size() == 3);
    CHECK(s.resp[2].body == "{\"a\":1}");
    CHECK(json_body_of(s.resp[2]) == "{\"a\":1}");
}

TEST_CASE("the journal keeps a target's path; its query only as a digest", "[http][connection]") {
    CHECK(path_of("/v1/items?token=abc#frag") == "/v1/items");
    CHECK(path_of("/v1/items#frag") == "/v1/items");
    CHECK(query_of("/v1/items?token=abc") == "token=abc");
    CHECK(query_of("/v1/items") == "");
}

TEST_CASE("an event stream's first data line is its JSON body", "[http][connection]") {
    HttpResponse sse;
    sse.content_type = "text/event-stream";
    sse.body = "event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n\n";
    CHECK(json_body_of(sse) == " {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}");
    HttpResponse html;
    html.content_type = "text/html";
    html.body = "{}";
    CHECK(json_body_of(html) == "");
}
