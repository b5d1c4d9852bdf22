// Durations as written in switchyard.yaml: an integer and a unit, "500ms",
// "10s", "2m", "1h". The unit is required: a bare "10" is ambiguous.
#pragma once

#include <chrono>
#include <string_view>

#include "common/result.h"

namespace switchyard::config {

Result<std::chrono::milliseconds> parseDuration(std::string_view text);

}  // namespace switchyard::config
