#include "journal/timefmt.hpp"

#include <time.h>

#include <cstdio>

#include "common/error.hpp"

namespace stockade::journal {
namespace {

// Reads exactly n digits at s[pos...]; advances pos.
bool digits(std::string_view s, size_t& pos, size_t n, int& out) {
    if (pos + n > s.size()) return false;
    int v = 0;
    for (size_t i = 0; i < n; ++i) {
        char c = s[pos + i];
        if (c < '0' || c > '9') return false;
        v = v * 10 + (c - '0');
    }
    pos += n;
    out = v;
    return true;
}

bool expect(std::string_view s, size_t& pos, char c) {
    if (pos >= s.size() || s[pos] != c) return false;
    ++pos;
    return true;
}

}  // namespace

std::string format_rfc3339(TimePoint t) {
    using namespace std::chrono;
    auto us = duration_cast<microseconds>(t.time_since_epoch()).count();
    time_t secs = static_cast<time_t>(us / 1000000);
    long frac = static_cast<long>(us % 1000000);
    if (frac < 0) {  // before 1970: floor, not truncate
        frac += 1000000;
        --secs;
    }
    struct tm tm {};
    gmtime_r(&secs, &tm);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
    return buf;
}

namespace {

// system_clock counts nanoseconds in 64 bits: years 1678 to 2261. A date outside (a four-digit
// year can be 0000 or 9999) is not a time this clock has, rather than a signed overflow.
std::optional<TimePoint> representable(std::chrono::sys_time<std::chrono::microseconds> t) {
    using namespace std::chrono;
    constexpr auto limit = duration_cast<microseconds>(system_clock::duration::max()) - seconds{1};
    if (t.time_since_epoch() > limit || t.time_since_epoch() < -limit) return std::nullopt;
    return time_point_cast<system_clock::duration>(t);
}

}  // namespace

std::optional<TimePoint> parse_rfc3339(std::string_view s) {
    using namespace std::chrono;
    size_t pos = 0;
    int y, mo, d, h = 0, mi = 0, sec = 0;
    if (!digits(s, pos, 4, y) || !expect(s, pos, '-') || !digits(s, pos, 2, mo) ||
        !expect(s, pos, '-') || !digits(s, pos, 2, d))
        return std::nullopt;
    year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
    if (!ymd.ok()) return std::nullopt;
    if (pos == s.size()) return representable(sys_days{ymd});

    if (s[pos] != 'T' && s[pos] != 't' && s[pos] != ' ') return std::nullopt;
    ++pos;
    if (!digits(s, pos, 2, h) || !expect(s, pos, ':') || !digits(s, pos, 2, mi) ||
        !expect(s, pos, ':') || !digits(s, pos, 2, sec))
        return std::nullopt;
    if (h > 23 || mi > 59 || sec > 60) return std::nullopt;
    if (sec == 60) sec = 59;  // a leap second: the system clock cannot represent it anyway

    microseconds frac{0};
    if (pos < s.size() && s[pos] == '.') {
        ++pos;
        size_t start = pos;
        long long scale = 100000, v = 0;
        while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
            if (scale > 0) v += (s[pos] - '0') * scale;  // digits beyond microseconds ignored
            scale /= 10;
            ++pos;
        }
        if (pos == start) return std::nullopt;
        frac = microseconds{v};
    }

    minutes offset{0};
    if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
        ++pos;
    } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
        int sign = s[pos] == '-' ? -1 : 1, oh, om;
        ++pos;
        if (!digits(s, pos, 2, oh) || !expect(s, pos, ':') || !digits(s, pos, 2, om) || oh > 23 ||
            om > 59)
            return std::nullopt;
        offset = minutes{sign * (oh * 60 + om)};
    } else {
        return std::nullopt;  // RFC 3339 requires the offset
    }
    if (pos != s.size()) return std::nullopt;

    auto local = sys_days{ymd} + hours{h} + minutes{mi} + seconds{sec} + frac;
    return representable(local - offset);
}

TimePoint parse_since(std::string_view s, TimePoint now) {
    if (auto t = parse_rfc3339(s)) return *t;

    using namespace std::chrono;
    auto bad = [&] {
        return Error("--since \"" + std::string(s) +
                     "\" is neither an RFC 3339 time (2026-11-25T09:24:10Z) nor a duration such as "
                     "30s, 10m, 2h, 1d, 1w or 1h30m.");
    };
    if (s.empty()) throw bad();
    seconds total{0};
    size_t pos = 0;
    while (pos < s.size()) {
        size_t start = pos;
        long long n = 0;
        while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
            n = n * 10 + (s[pos] - '0');
            if (n > 100LL * 365 * 86400) throw bad();  // keeps n * unit far from overflow
            ++pos;
        }
        if (pos == start || pos == s.size()) throw bad();
        long long unit;
        switch (s[pos]) {
        case 's': unit = 1; break;
        case 'm': unit = 60; break;
        case 'h': unit = 3600; break;
        case 'd': unit = 86400; break;
        case 'w': unit = 7 * 86400; break;
        default: throw bad();
        }
        ++pos;
        total += seconds{n * unit};
        if (total > seconds{100LL * 365 * 86400}) throw bad();
    }
    return now - total;
}

}  // namespace stockade::journal
