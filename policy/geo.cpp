#include "policy/geo.h"

#include <algorithm>
#include <cmath>

namespace switchyard::policy {

double greatCircleKm(const Region& a, const Region& b) {
  constexpr double kEarthRadiusKm = 6371.0088;
  constexpr double kRad = M_PI / 180.0;
  double dlat = (b.latitude - a.latitude) * kRad;
  double dlon = (b.longitude - a.longitude) * kRad;
  double h = std::sin(dlat / 2) * std::sin(dlat / 2) +
             std::cos(a.latitude * kRad) * std::cos(b.latitude * kRad) * std::sin(dlon / 2) *
                 std::sin(dlon / 2);
  return 2 * kEarthRadiusKm * std::asin(std::min(1.0, std::sqrt(h)));
}

}  // namespace switchyard::policy
