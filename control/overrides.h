// The pair-keyed maps that cross the control plane's boundaries: what the
// state directory persists (state_store.h) and the Router exports.
// Thread safety: plain value types.
#pragma once

#include <map>
#include <set>

#include "policy/pair_key.h"
#include "policy/routing_policy.h"

namespace switchyard::control {

using policy::PairKey;
using HealthStates = std::map<PairKey, policy::Health>;
using Overrides = std::map<PairKey, bool>;  // operator decisions: globalEndpointRouting
using PairSet = std::set<PairKey>;

}  // namespace switchyard::control
