#include <catch2/catch.hpp>

#include "common/error.hpp"
#include "journal/timefmt.hpp"

using namespace stockade::journal;
using namespace std::chrono;

namespace {
TimePoint at(int64_t unix_seconds, int64_t us = 0) {
    return TimePoint{duration_cast<system_clock::duration>(seconds{unix_seconds} + microseconds{us})};
}
}  // namespace

TEST_CASE("RFC 3339 times format and parse", "[journal][time]") {
    CHECK(format_rfc3339(at(1764062650, 123456)) == "2025-11-25T09:24:10.123456Z");
    CHECK(parse_rfc3339("2025-11-25T09:24:10.123456Z") == at(1764062650, 123456));
    CHECK(parse_rfc3339("2025-11-25T09:24:10Z") == at(1764062650));
    CHECK(parse_rfc3339("2025-11-25t09:24:10z") == at(1764062650));
    CHECK(parse_rfc3339("2025-11-25 09:24:10Z") == at(1764062650));
    CHECK(parse_rfc3339("2025-11-25T11:24:10+02:00") == at(1764062650));
    CHECK(parse_rfc3339("2025-11-25T04:54:10.5-04:30") == at(1764062650, 500000));
    CHECK(parse_rfc3339("2025-11-25") == at(1764028800));
    CHECK(parse_rfc3339("1970-01-01T00:00:00Z") == at(0));

    CHECK_FALSE(parse_rfc3339("2025-11-25T09:24:10"));  // no offset
    CHECK_FALSE(parse_rfc3339("2025-02-30T09:24:10Z"));
    CHECK_FALSE(parse_rfc3339("2025-11-25T24:00:00Z"));
    CHECK_FALSE(parse_rfc3339("2025-11-25T09:24:10.Z"));
    CHECK_FALSE(parse_rfc3339("2025-11-25T09:24:10Zjunk"));
    CHECK_FALSE(parse_rfc3339(""));
}

TEST_CASE("--since accepts RFC 3339 and relative durations", "[journal][time]") {
    TimePoint now = at(1764062650);
    CHECK(parse_since("10m", now) == now - minutes(10));
    CHECK(parse_since("2h", now) == now - hours(2));
    CHECK(parse_since("1d", now) == now - hours(24));
    CHECK(parse_since("30s", now) == now - seconds(30));
    CHECK(parse_since("1w", now) == now - hours(24 * 7));
    CHECK(parse_since("1h30m", now) == now - minutes(90));
    CHECK(parse_since("0s", now) == now);
    CHECK(parse_since("2025-11-25T09:00:00Z", now) == at(1764061200));

    for (const char* bad : {"", "10", "m", "10x", "-5m", "10 m", "1.5h", "yesterday", "99999999999d"})
        CHECK_THROWS_AS(parse_since(bad, now), stockade::Error);
    CHECK_THROWS_WITH(parse_since("soon", now), Catch::Matchers::Contains("RFC 3339"));
}

TEST_CASE("dates the system clock cannot hold are not times (found by fuzzing)", "[journal][time]") {
    // Nanoseconds in 64 bits reach from 1677 to 2262: year 0000 used to overflow (UBSan).
    CHECK_FALSE(parse_rfc3339("0000-01-01T00:00:00Z"));
    CHECK_FALSE(parse_rfc3339("0001-01-01"));
    CHECK_FALSE(parse_rfc3339("9999-12-31T23:59:59.999999-23:59"));
    CHECK_FALSE(parse_rfc3339("1677-01-01T00:00:00Z"));
    REQUIRE(parse_rfc3339("1700-01-01T00:00:00Z"));
    CHECK(*parse_rfc3339("1700-01-01T00:00:00Z") < system_clock::time_point{});
    REQUIRE(parse_rfc3339("2261-12-31T23:59:59Z"));
    CHECK(format_rfc3339(*parse_rfc3339("2261-12-31T23:59:59Z")) == "2261-12-31T23:59:59.000000Z");
}
