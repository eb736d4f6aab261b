// HTTP/1.x reassembly from captured I/O: heads and bodies split across feeds, pipelining,
// chunked bodies, lost bytes and resync, host normalisation, the HTTP/2 preface, and caps.
#include <catch2/catch.hpp>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "tools/http.hpp"

using namespace stockade::tools;
using Dir = HttpStream::Direction;

namespace {

struct Parsed {
    std::vector<HttpRequest> req;
    std::vector<HttpResponse> resp;
};

// Feeds each (bytes, truncated) pair in order; flushes at the end when asked.
Parsed run(Dir d, const std::vector<std::pair<std::string, bool>>& feeds, bool flush = false) {
    HttpStream s(d);
    Parsed p;
    for (const auto& [bytes, truncated] : feeds) s.feed(bytes, truncated, p.req, p.resp);
    if (flush) s.flush(p.req, p.resp);
    return p;
}

Parsed run_whole(Dir d, std::vector<std::string> feeds, bool flush = false) {
    std::vector<std::pair<std::string, bool>> f;
    for (auto& b : feeds) f.emplace_back(std::move(b), false);
    return run(d, f, flush);
}

}  // namespace

TEST_CASE("message starts are recognised from the first bytes", "[http]") {
    CHECK(looks_like_http_request("GET /v1/items HTTP/1.1\r\n"));
    CHECK(looks_like_http_request("POST http://example.com/ HTTP/1.1"));
    CHECK(looks_like_http_request("PROPFIND /"));
    CHECK(looks_like_http_request("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"));
    CHECK_FALSE(looks_like_http_request("GET"));             // too short to tell
    CHECK_FALSE(looks_like_http_request("get / HTTP/1.1"));  // methods are upper case
    CHECK_FALSE(looks_like_http_request("GET example.com HTTP/1.1"));
    CHECK_FALSE(looks_like_http_request("CONNECT example.com:443 HTTP/1.1"));
    CHECK_FALSE(looks_like_http_request("PRI * HTTP/1.1"));
    CHECK_FALSE(looks_like_http_request("\x16\x03\x01\x02\x00"));
    CHECK_FALSE(looks_like_http_request("HTTP/1.1 200 OK"));
    CHECK_FALSE(looks_like_http_request(""));
    CHECK(looks_like_http_response("HTTP/1.1 200 OK\r\n"));
    CHECK(looks_like_http_response("HTTP/1.0 404"));
    CHECK_FALSE(looks_like_http_response("HTTP/2 200"));
    CHECK_FALSE(looks_like_http_response("HTTP/1"));
    CHECK_FALSE(looks_like_http_response("GET / HTTP/1.1"));
}

TEST_CASE("a request split in three feeds", "[http]") {
    HttpStream s(Dir::Requests);
    Parsed p;
    s.feed("POST /v1/messages?beta=true HTTP/1.1\r\n", false, p.req, p.resp);
    s.feed("Host: API.Anthropic.com:443\r\nContent-Type: Application/JSON; charset=utf-8\r\nContent-Length: 13\r\n\r\n",
           false, p.req, p.resp);
    CHECK(p.req.empty());  // the body is still to come
    s.feed(R"({"model":"x"})", false, p.req, p.resp);
    REQUIRE(p.req.size() == 1);
    const HttpRequest& r = p.req[0];
    CHECK(r.method == "POST");
    CHECK(r.target == "/v1/messages?beta=true");
    CHECK(r.host == "api.anthropic.com");
    CHECK(r.version == "HTTP/1.1");
    CHECK(r.content_type == "application/json");
    CHECK(r.body == R"({"model":"x"})");
    CHECK(r.body_size == 13);
    CHECK_FALSE(r.body_truncated);
    CHECK_FALSE(r.http2);
    CHECK(p.resp.empty());
}

TEST_CASE("pipelined and keep-alive requests come out in order", "[http]") {
    std::string a = "GET /a HTTP/1.1\r\nHost: h\r\n\r\n";
    std::string b = "POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nxyz";
    std::string c = "HEAD /c HTTP/1.1\r\nHost: h\r\n\r\n";
    SECTION("all in one feed") {
        auto p = run_whole(Dir::Requests, {a + b + c});
        REQUIRE(p.req.size() == 3);
        CHECK(p.req[0].target == "/a");
        CHECK(p.req[0].body.empty());
        CHECK(p.req[1].body == "xyz");
        CHECK(p.req[2].method == "HEAD");
    }
    SECTION("one per feed, with stray CRLFs between") {
        auto p = run_whole(Dir::Requests, {a, "\r\n", b + "\r\n", c});
        REQUIRE(p.req.size() == 3);
        CHECK(p.req[1].body == "xyz");
        CHECK(p.req[2].target == "/c");
    }
    SECTION("a message boundary inside a feed") {
        auto p = run_whole(Dir::Requests, {a + b.substr(0, 20), b.substr(20) + c.substr(0, 5), c.substr(5)});
        REQUIRE(p.req.size() == 3);
        CHECK(p.req[1].body == "xyz");
        CHECK(p.req[2].target == "/c");
    }
}

TEST_CASE("a chunked response split mid-size-line is de-chunked", "[http]") {
    HttpStream s(Dir::Responses);
    Parsed p;
    s.feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n1", false, p.req, p.resp);
    s.feed("a;name=value\r\nabcdefghijklmnopqrstuvwxyz\r", false, p.req, p.resp);
    s.feed("\n3\r\n012\r\n0\r", false, p.req, p.resp);
    CHECK(p.resp.empty());
    s.feed("\nX-Trailer: 1\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n", false, p.req, p.resp);
    REQUIRE(p.resp.size() == 2);
    CHECK(p.resp[0].status == 200);
    CHECK(p.resp[0].reason == "OK");
    CHECK(p.resp[0].content_type == "text/plain");
    CHECK(p.resp[0].body == "abcdefghijklmnopqrstuvwxyz012");
    CHECK_FALSE(p.resp[0].body_truncated);
    CHECK(p.resp[1].status == 204);
}

TEST_CASE("chunked wins over Content-Length, and a request body can be chunked", "[http]") {
    auto p =
        run_whole(Dir::Requests, {"POST /u HTTP/1.1\r\nContent-Length: 99\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
                                  "2\r\nhi\r\n0\r\n\r\nGET /next HTTP/1.1\r\n\r\n"});
    REQUIRE(p.req.size() == 2);
    CHECK(p.req[0].body == "hi");
    CHECK(p.req[1].target == "/next");
}

TEST_CASE("responses without a body, and bodies that run to connection close", "[http]") {
    SECTION("1xx, 204 and 304 have no body whatever they say") {
        auto p = run_whole(Dir::Responses, {"HTTP/1.1 100 Continue\r\n\r\n",
                                            "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n"
                                            "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok"});
        REQUIRE(p.resp.size() == 3);
        CHECK(p.resp[0].status == 100);
        CHECK(p.resp[1].status == 304);
        CHECK(p.resp[1].body.empty());
        CHECK(p.resp[2].body == "ok");
    }
    SECTION("no length: the body ends at flush") {
        HttpStream s(Dir::Responses);
        Parsed p;
        s.feed("HTTP/1.0 200 OK\r\nContent-Type: text/event-stream\r\n\r\ndata: a\n\n", false, p.req, p.resp);
        s.feed("HTTP/1.1 200 OK\r\n", false, p.req, p.resp);  // body bytes, not a new response
        CHECK(p.resp.empty());
        s.flush(p.req, p.resp);
        REQUIRE(p.resp.size() == 1);
        CHECK(p.resp[0].content_type == "text/event-stream");
        CHECK(p.resp[0].body == "data: a\n\nHTTP/1.1 200 OK\r\n");
        CHECK_FALSE(p.resp[0].body_truncated);
    }
    SECTION("flush of an incomplete Content-Length body marks it cut") {
        auto p = run_whole(Dir::Responses, {"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"}, true);
        REQUIRE(p.resp.size() == 1);
        CHECK(p.resp[0].body == "abc");
        CHECK(p.resp[0].body_truncated);
    }
}

TEST_CASE("a request with Expect: 100-continue", "[http]") {
    HttpStream s(Dir::Requests);
    Parsed p;
    s.feed("PUT /f HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n", false, p.req, p.resp);
    CHECK(p.req.empty());  // waits for the body the client sends after "100 Continue"
    s.feed("data", false, p.req, p.resp);
    REQUIRE(p.req.size() == 1);
    CHECK(p.req[0].body == "data");
}

TEST_CASE("lost bytes: a cut message is emitted and the stream resyncs", "[http]") {
    SECTION("a truncated body, its continuation skipped, then a fresh request") {
        auto p = run(Dir::Requests, {{"POST /up HTTP/1.1\r\nContent-Length: 5000\r\n\r\nAAAA", true},
                                     {"AAAA\", \"more\": \"GET /not-a-request HTTP/1.1\r\n\r\n", false},
                                     {"GET /next HTTP/1.1\r\nHost: h\r\n\r\n", false}});
        REQUIRE(p.req.size() == 2);
        CHECK(p.req[0].target == "/up");
        CHECK(p.req[0].body == "AAAA");
        CHECK(p.req[0].body_truncated);
        CHECK(p.req[1].target == "/next");
        CHECK_FALSE(p.req[1].body_truncated);
    }
    SECTION("a truncated head") {
        auto p = run(Dir::Requests, {{"GET /a HTTP/1.1\r\nHost: Example.com\r\nUser-Agent: x", true},
                                     {"yz\r\n\r\n", false},
                                     {"GET /b HTTP/1.1\r\n\r\n", false}});
        REQUIRE(p.req.size() == 2);
        CHECK(p.req[0].target == "/a");
        CHECK(p.req[0].host == "example.com");
        CHECK(p.req[0].body_truncated);
        CHECK(p.req[1].target == "/b");
    }
    SECTION("a truncated feed that ends exactly at a message boundary still loses step") {
        auto p = run(Dir::Responses, {{"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx", true},
                                      {"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\ny", false}});
        REQUIRE(p.resp.size() == 2);
        CHECK_FALSE(p.resp[0].body_truncated);
        CHECK(p.resp[1].body == "y");
    }
    SECTION("a truncated close-delimited body is emitted cut") {
        auto p = run(Dir::Responses, {{"HTTP/1.1 200 OK\r\n\r\nabc", true}, {"def", false}}, true);
        REQUIRE(p.resp.size() == 1);
        CHECK(p.resp[0].body == "abc");
        CHECK(p.resp[0].body_truncated);
    }
}

TEST_CASE("garbage is skipped, not misparsed", "[http]") {
    SECTION("before the first message") {
        auto p = run_whole(Dir::Requests,
                           {std::string("\x16\x03\x01\x00\xa5", 5), "name: value\r\n\r\n", "GET /ok HTTP/1.1\r\n\r\n"});
        REQUIRE(p.req.size() == 1);
        CHECK(p.req[0].target == "/ok");
    }
    SECTION("after a message, inside the same feed") {
        auto p = run_whole(Dir::Responses, {"HTTP/1.1 204 No Content\r\n\r\n\x81\x05hello",
                                            "\x82\x03"
                                            "abc",
                                            "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"});
        REQUIRE(p.resp.size() == 2);
        CHECK(p.resp[0].status == 204);
        CHECK(p.resp[1].status == 404);
        CHECK(p.resp[1].reason == "Not Found");
    }
    SECTION("an unreadable status code") {
        auto p = run_whole(Dir::Responses, {"HTTP/1.1 2x0 OK\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"});
        REQUIRE(p.resp.size() == 1);
        CHECK(p.resp[0].status == 200);
    }
    SECTION("a framing we cannot follow resyncs") {
        auto p = run_whole(Dir::Requests, {"POST /a HTTP/1.1\r\nContent-Length: 12x\r\n\r\nbody", "more body",
                                           "POST /b HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nbody",
                                           "GET /c HTTP/1.1\r\n\r\n"});
        REQUIRE(p.req.size() == 3);
        CHECK(p.req[0].target == "/a");
        CHECK(p.req[0].body_truncated);
        CHECK(p.req[1].target == "/b");
        CHECK(p.req[1].body_truncated);
        CHECK(p.req[2].target == "/c");
    }
}

TEST_CASE("host: lower case, port removed, absolute-form", "[http]") {
    auto p =
        run_whole(Dir::Requests, {"GET /x HTTP/1.1\r\nHost: [::1]:8443\r\n\r\n",
                                  "GET http://user:pw@Example.COM:8080/a?b HTTP/1.1\r\nHost: other\r\n\r\n",
                                  "GET HTTPS://Example.org?q HTTP/1.1\r\n\r\n", "GET / HTTP/1.1\r\nhost: A.b.C\r\n\r\n",
                                  "GET /bare HTTP/1.1\r\nHost: ::1\r\n\r\n"});
    REQUIRE(p.req.size() == 5);
    CHECK(p.req[0].host == "[::1]");
    CHECK(p.req[1].host == "example.com");
    CHECK(p.req[1].target == "/a?b");
    CHECK(p.req[2].host == "example.org");
    CHECK(p.req[2].target == "/?q");
    CHECK(p.req[3].host == "a.b.c");
    CHECK(p.req[4].host == "::1");  // a bare IPv6 literal: no port to tell apart
}

TEST_CASE("the HTTP/2 preface is noticed and the rest ignored", "[http]") {
    HttpStream s(Dir::Requests);
    Parsed p;
    s.feed("PRI * HTTP/2.0\r\n\r\n", false, p.req, p.resp);
    s.feed("SM\r\n\r\n\x00\x00\x12\x04", false, p.req, p.resp);
    s.feed("GET / HTTP/1.1\r\n\r\n", false, p.req, p.resp);
    s.feed("GET / HTTP/1.1\r\n\r\n", true, p.req, p.resp);
    s.flush(p.req, p.resp);
    REQUIRE(p.req.size() == 1);
    CHECK(p.req[0].http2);
    CHECK(p.req[0].method == "PRI");
    CHECK(p.req[0].version == "HTTP/2.0");
}

TEST_CASE("the head is capped at 16 KiB", "[http]") {
    std::string big = "GET /big HTTP/1.1\r\nHost: h\r\nX-Pad: " + std::string(kHttpHeadMax, 'p') + "\r\n\r\n";
    auto p = run_whole(Dir::Requests, {big.substr(0, 2000), big.substr(2000), "GET /after HTTP/1.1\r\n\r\n"});
    REQUIRE(p.req.size() == 2);
    CHECK(p.req[0].target == "/big");
    CHECK(p.req[0].host == "h");
    CHECK(p.req[0].body_truncated);
    CHECK(p.req[1].target == "/after");

    std::string just = "GET /fits HTTP/1.1\r\nX-Pad: ";
    just += std::string(kHttpHeadMax - just.size() - 4, 'p') + "\r\n\r\n";
    REQUIRE(just.size() == kHttpHeadMax);
    p = run_whole(Dir::Requests, {just});
    REQUIRE(p.req.size() == 1);
    CHECK_FALSE(p.req[0].body_truncated);
}

TEST_CASE("bodies beyond the cap are counted, not kept", "[http]") {
    std::string body(100 * 1024, 'b');
    HttpStream s(Dir::Requests);
    Parsed p;
    s.feed("POST /big HTTP/1.1\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n", false, p.req, p.resp);
    for (size_t off = 0; off < body.size(); off += 2048) s.feed(body.substr(off, 2048), false, p.req, p.resp);
    REQUIRE(p.req.size() == 1);
    CHECK(p.req[0].body.size() == kHttpBodyMax);
    CHECK(p.req[0].body_size == body.size());
    CHECK(p.req[0].body_truncated);
}

TEST_CASE("random splits parse the same as the whole stream", "[http]") {
    const std::string requests =
        "GET /a?x=1 HTTP/1.1\r\nHost: Example.com:80\r\n\r\n"
        "POST /b HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"k\":\"v\"}\n"
        "\r\n"
        "PUT http://proxy.example/c HTTP/1.1\r\nTransfer-Encoding: "
        "chunked\r\n\r\n4\r\nabcd\r\n10\r\n0123456789abcdef\r\n"
        "0\r\n\r\n"
        "DELETE /d HTTP/1.0\nHost: [::1]:1\n\n";
    const std::string responses =
        "HTTP/1.1 100 Continue\r\n\r\n"
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello"
        "HTTP/1.1 204 No Content\r\n\r\n"
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;e=1\r\nx\r\n0\r\nT: 1\r\n\r\n"
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\nevent: a\ndata: 1\n\n";
    for (Dir d : {Dir::Requests, Dir::Responses}) {
        const std::string& all = d == Dir::Requests ? requests : responses;
        Parsed whole = run_whole(d, {all}, true);
        REQUIRE(whole.req.size() + whole.resp.size() == (d == Dir::Requests ? 4u : 5u));
        std::mt19937 rng(20240601);
        for (int round = 0; round < 300; ++round) {
            std::vector<std::string> feeds;
            for (size_t off = 0; off < all.size();) {
                size_t len = std::uniform_int_distribution<size_t>(1, round % 2 ? 8 : 120)(rng);
                feeds.push_back(all.substr(off, len));
                off += len;
            }
            Parsed split = run_whole(d, feeds, true);
            REQUIRE(split.req == whole.req);
            REQUIRE(split.resp == whole.resp);
        }
    }
}

TEST_CASE("nothing throws and memory stays bounded on arbitrary input", "[http]") {
    const std::string seed =
        "POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    std::mt19937 rng(7);
    for (int round = 0; round < 200; ++round) {
        for (Dir d : {Dir::Requests, Dir::Responses}) {
            HttpStream s(d);
            Parsed p;
            for (int i = 0; i < 50; ++i) {
                std::string bytes = seed.substr(std::uniform_int_distribution<size_t>(0, seed.size() - 1)(rng));
                for (char& c : bytes)
                    if (rng() % 16 == 0) c = static_cast<char>(rng());
                bytes.resize(std::min<size_t>(bytes.size(), rng() % 300));
                CHECK_NOTHROW(s.feed(bytes, rng() % 8 == 0, p.req, p.resp));
            }
            CHECK_NOTHROW(s.flush(p.req, p.resp));
            for (const auto& r : p.req) CHECK(r.body.size() <= kHttpBodyMax);
            for (const auto& r : p.resp) CHECK(r.body.size() <= kHttpBodyMax);
        }
    }
}
