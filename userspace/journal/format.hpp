// Human-readable output for `stockade tail` (`--json` prints the stored line instead).
#pragma once

#include <string>
#include <string_view>

#include "journal/record.hpp"

namespace stockade::journal {

// One aligned line, no trailing newline:
//   time(ms, UTC)  agent  task  verdict  action  object  rule  enforcement
// object is "path", "path -> path2" or "address:port"; for records that are not decisions the
// action column shows the type and the object column the detail. Empty fields print as "-".
// With color the verdict is red (deny, kill), yellow (flag, would-deny) or green (allow);
// without it the line holds no escape sequence at all.
std::string format_text(const Record& r, bool color);

// Makes agent-controlled text safe for a terminal: control characters, C1 controls, bidi
// overrides and invalid UTF-8 become visible escapes (\n, \x1b, \u{202e}).
std::string terminal_safe(std::string_view s);

}  // namespace stockade::journal
