#include <catch2/catch.hpp>

#include "health/registry_token.h"

using namespace switchyard;
using namespace switchyard::health;

TEST_CASE("registry token flow: Bearer challenges and token answers are read as the distribution spec writes them") {
  auto c = parseBearerChallenge(
      R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:samalba/my-app:pull,push")");
  REQUIRE(c);
  CHECK(c->realm == "https://auth.docker.io/token");
  CHECK(c->service == "registry.docker.io");
  CHECK(c->scope == "repository:samalba/my-app:pull,push");  // a comma inside quotes stays
  CHECK(c->url() == "https://auth.docker.io/token?service=registry.docker.io&scope=repository%3Asamalba%2Fmy-app%3Apull%2Cpush");
  auto bare = parseBearerChallenge(R"(bearer realm="http://127.0.0.1:1/t?x=1")");
  REQUIRE(bare);
  CHECK(bare->url() == "http://127.0.0.1:1/t?x=1");
  CHECK_FALSE(parseBearerChallenge(R"(Basic realm="registry")"));
  CHECK_FALSE(parseBearerChallenge(R"(Bearer service="x")"));            // no realm
  CHECK_FALSE(parseBearerChallenge(R"(Bearer realm="file:///etc/passwd")"));  // only http(s) realms
  CHECK_FALSE(parseBearerChallenge(""));

  auto t = parseTokenResponse(R"({"token": "abc", "expires_in": 300, "issued_at": "2026-12-01T00:00:00Z"})");
  REQUIRE(t);
  CHECK(t->token == "abc");
  CHECK(t->expires_in_s == 300);
  auto oauth = parseTokenResponse(R"({"access_token": "xyz"})");
  REQUIRE(oauth);
  CHECK(oauth->token == "xyz");
  CHECK(oauth->expires_in_s == 60);
  CHECK_FALSE(parseTokenResponse("not json"));
  CHECK_FALSE(parseTokenResponse(R"({"token": ""})"));

  RegistryEndpoint e;
  e.headers = {{"X-Trace", "1"}, {"authorization", "Basic dTpw"}};
  auto b = withBearer(e, "abc");
  CHECK(b.headers == std::vector<std::pair<std::string, std::string>>{{"X-Trace", "1"}, {"Authorization", "Bearer abc"}});
}
