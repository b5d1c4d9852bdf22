// Great-circle distance between region locations (haversine on a sphere).
// Only the order of distances matters to routing, so the mean Earth radius is
// precise enough.
#pragma once

#include "policy/topology.h"

namespace switchyard::policy {

double greatCircleKm(const Region& a, const Region& b);

}  // namespace switchyard::policy
