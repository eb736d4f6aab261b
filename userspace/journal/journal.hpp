// The journal stage in one include: records, their JSON line, the hash chain, the writer,
// verify, the readers, text output and the journald mirror. docs/journal-format.md is the spec.
#pragma once

#include "journal/files.hpp"
#include "journal/format.hpp"
#include "journal/hashchain.hpp"
#include "journal/journald.hpp"
#include "journal/json.hpp"
#include "journal/reader.hpp"
#include "journal/record.hpp"
#include "journal/timefmt.hpp"
#include "journal/verify.hpp"
#include "journal/writer.hpp"
