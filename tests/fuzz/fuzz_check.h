// Helpers shared by the fuzz targets: a failed expectation aborts, which
// libFuzzer (and the replay driver) report as a crash with the input saved.
#pragma once

#include <cstdio>
#include <cstdlib>

#define FUZZ_EXPECT(cond)                                                          \
  do {                                                                             \
    if (!(cond)) {                                                                 \
      std::fprintf(stderr, "%s:%d: expectation failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                \
    }                                                                              \
  } while (0)
