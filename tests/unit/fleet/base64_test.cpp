#include <catch2/catch.hpp>

#include "fleet/base64.h"

using namespace switchyard::fleet;

TEST_CASE("base64 round-trips any bytes and refuses what is not base64") {
  CHECK(base64Encode("") == "");
  CHECK(base64Encode("f") == "Zg==");
  CHECK(base64Encode("fo") == "Zm8=");
  CHECK(base64Encode("foo") == "Zm9v");
  CHECK(base64Encode("/switchyard/") == "L3N3aXRjaHlhcmQv");
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  for (size_t n = 0; n <= all.size(); n += 37) CHECK(base64Decode(base64Encode(all.substr(0, n))) == all.substr(0, n));
  CHECK(base64Decode("Zm9v") == "foo");
  CHECK(base64Decode("Zg==") == "f");
  CHECK_FALSE(base64Decode("Zm9"));
  CHECK_FALSE(base64Decode("Zm9*"));
  CHECK_FALSE(base64Decode("Zg==Zm9v"));
}
