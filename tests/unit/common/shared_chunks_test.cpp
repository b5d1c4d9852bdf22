#include <catch2/catch.hpp>

#include "common/shared_chunks.h"

using switchyard::SharedChunks;

TEST_CASE("SharedChunks: set() on a copy leaves the original alone, across chunk boundaries") {
  SharedChunks<int> a;
  constexpr int kN = 3 * SharedChunks<int>::kChunk + 17;
  for (int i = 0; i < kN; ++i) a.push_back(std::make_shared<const int>(i));
  REQUIRE(a.size() == kN);
  SharedChunks<int> b = a;
  b.set(0, std::make_shared<const int>(-1));
  b.set(kN - 1, std::make_shared<const int>(-2));
  b.push_back(std::make_shared<const int>(kN));  // the shared last chunk is copied, not grown in place
  for (int i = 0; i < kN; ++i) CHECK(*a[i] == i);
  CHECK(a.size() == kN);
  CHECK(*b[0] == -1);
  CHECK(*b[kN - 1] == -2);
  CHECK(*b[kN] == kN);
  CHECK(b[1] == a[1]);  // untouched elements are the same objects
  CHECK(b[SharedChunks<int>::kChunk] == a[SharedChunks<int>::kChunk]);
  CHECK_THROWS_AS(a.at(kN), std::out_of_range);
}
