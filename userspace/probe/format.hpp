// One readable line per captured event, for `stockaded --trace`.
#pragma once

#include <string>

#include "common/event.hpp"

namespace stockade::probe {

std::string format_event(const Event& e);

}  // namespace stockade::probe
