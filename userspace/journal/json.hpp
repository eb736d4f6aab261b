// Record <-> one line of compact JSON. The line is what is stored, what is hashed (with
// "hash" emptied) and what `stockade tail --json` prints, so its form must be stable:
// every field is always written, in the order of record.hpp.
#pragma once

#include <string>
#include <string_view>

#include "journal/record.hpp"

namespace stockade::journal {

// One line of compact JSON, no newline inside and none at the end.
std::string to_json_line(const Record& r);

// The same line through cereal's archive, as journals were written before the line writer:
// the reference the line writer is tested and measured against (json_reference.cpp).
std::string to_json_line_cereal(const Record& r);

// Parses one line (a trailing '\n' is tolerated). Throws stockade::Error naming what is wrong:
// the JSON syntax error and its offset, or the missing/mistyped field.
Record from_json_line(std::string_view line);

}  // namespace stockade::journal
