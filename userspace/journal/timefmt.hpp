// Wall-clock times as the journal stores them (RFC 3339, UTC, microseconds) and the `--since`
// values an operator types.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace stockade::journal {

using TimePoint = std::chrono::system_clock::time_point;

// "2026-11-25T09:24:10.123456Z"
std::string format_rfc3339(TimePoint t);

// RFC 3339 date-time ("2026-11-25T09:24:10Z", fraction and "+02:00" offsets allowed, 't'/'z'
// or a space separator accepted) or a bare full-date ("2026-11-25", midnight UTC).
// Returns nullopt if `s` is not one of those.
std::optional<TimePoint> parse_rfc3339(std::string_view s);

// A `--since` value: an RFC 3339 time as above, or a duration before `now` made of
// <digits><unit> parts with unit s, m, h, d or w ("10m", "2h", "1d", "1h30m").
// Throws stockade::Error saying what is accepted.
TimePoint parse_since(std::string_view s, TimePoint now = std::chrono::system_clock::now());

}  // namespace stockade::journal
