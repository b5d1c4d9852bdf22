// The one way to include ldns in C++ (see ../shared/DEPENDENCIES.md §1):
// <ldns/common.h> redefines bool/true/false unless <stdbool.h> came first.
#pragma once

#include <stdbool.h>
#include <ldns/ldns.h>

#include <type_traits>

static_assert(std::is_same_v<decltype(true), bool>, "ldns redefined bool: include dns/client/ldns.h");
