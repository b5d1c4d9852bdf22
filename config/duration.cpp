#include "config/duration.h"

#include <charconv>
#include <string>

namespace switchyard::config {

Result<std::chrono::milliseconds> parseDuration(std::string_view text) {
  long long n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  std::string_view unit(end, static_cast<size_t>(text.data() + text.size() - end));
  auto bad = [&] {
    return makeError("bad duration '" + std::string(text) +
                     "' (expected a whole number and a unit: ms, s, m or h, e.g. 10s)");
  };
  if (ec != std::errc() || end == text.data() || n < 0) return bad();
  long long ms_per_unit = 0;
  if (unit == "ms") ms_per_unit = 1;
  else if (unit == "s") ms_per_unit = 1000;
  else if (unit == "m") ms_per_unit = 60'000;
  else if (unit == "h") ms_per_unit = 3'600'000;
  else return bad();
  if (n > (1LL << 40) / ms_per_unit) return bad();
  return std::chrono::milliseconds(n * ms_per_unit);
}

}  // namespace switchyard::config
