#include <catch2/catch.hpp>

#include "health/freshness_tracker.h"
#include "health/manifest_head.h"

using namespace switchyard;
using namespace switchyard::health;
using Kind = DigestObservation::Kind;

namespace {

DigestObservation digest(const std::string& d) { return {Kind::Digest, d, 200, "", ""}; }
DigestObservation absent() { return {Kind::Absent, "", 404, "", ""}; }
DigestObservation error(const std::string& why = "timeout") { return {Kind::Error, "", 0, why, ""}; }

policy::Freshness config(std::chrono::milliseconds stale = std::chrono::seconds(10),
                         policy::FreshnessReference ref = policy::FreshnessReference::Home, size_t canaries = 1) {
  policy::Freshness f;
  for (size_t i = 0; i < canaries; ++i) f.canaries.push_back({"canary/hb" + std::to_string(i), "latest"});
  f.max_staleness = stale;
  f.reference = ref;
  return f;
}

// One canary: round({home, westus, westeurope}).
std::vector<std::vector<DigestObservation>> round(std::vector<DigestObservation> per_replica) {
  std::vector<std::vector<DigestObservation>> out;
  for (auto& o : per_replica) out.push_back({o});
  return out;
}

std::vector<FreshnessState> states(const FreshnessTracker& t) {
  std::vector<FreshnessState> out;
  for (size_t r = 0; r < t.replicas().size(); ++r) out.push_back(t.status(r).state);
  return out;
}

using S = FreshnessState;
const std::vector<std::string> kRegions{"eastus", "westus", "westeurope"};

}  // namespace

TEST_CASE("freshness, home reference: behind from the first difference, lagging after max_staleness, back on match") {
  FreshnessTracker t(config(), kRegions, 0);
  CHECK(states(t) == std::vector<S>{S::Unknown, S::Unknown, S::Unknown});
  t.record(round({digest("sha256:v1"), digest("sha256:v1"), digest("sha256:v1")}), 0);
  CHECK(states(t) == std::vector<S>{S::Fresh, S::Fresh, S::Fresh});

  // v2 lands at home only.
  t.record(round({digest("sha256:v2"), digest("sha256:v1"), absent()}), 1'000);
  CHECK(states(t) == std::vector<S>{S::Fresh, S::Behind, S::Behind});
  CHECK(t.references()[0] == "sha256:v2");
  CHECK(t.status(1).seconds_behind == 0);
  CHECK_THAT(t.status(1).detail, Catch::Contains("canary/hb0:latest serves sha256:v1, reference sha256:v2 (home eastus)"));
  CHECK(t.status(2).served[0] == "absent");

  t.record(round({digest("sha256:v2"), digest("sha256:v1"), absent()}), 10'999);
  CHECK(states(t) == std::vector<S>{S::Fresh, S::Behind, S::Behind});
  CHECK(t.status(1).seconds_behind == Approx(9.999));
  t.record(round({digest("sha256:v2"), digest("sha256:v1"), digest("sha256:v2")}), 11'000);
  CHECK(states(t) == std::vector<S>{S::Fresh, S::Lagging, S::Fresh});
  CHECK(t.status(1).lagging());
  CHECK(t.status(2).seconds_behind == 0);

  // Cleared on the first match: no rise count, no cooldown.
  t.record(round({digest("sha256:v2"), digest("sha256:v2"), digest("sha256:v2")}), 12'000);
  CHECK(states(t) == std::vector<S>{S::Fresh, S::Fresh, S::Fresh});
  CHECK(t.status(1).seconds_behind == 0);
}

TEST_CASE("freshness: an error is no observation, and without a reference nothing changes") {
  FreshnessTracker t(config(), kRegions, 0);
  t.record(round({digest("sha256:v2"), digest("sha256:v1"), digest("sha256:v2")}), 0);
  CHECK(states(t) == std::vector<S>{S::Fresh, S::Behind, S::Fresh});

  // westus times out: it keeps its state and its behind clock.
  t.record(round({digest("sha256:v2"), error("timeout after 5000 ms"), digest("sha256:v2")}), 10'000);
  CHECK(states(t) == std::vector<S>{S::Fresh, S::Lagging, S::Fresh});
  // The lag is the reason shown while it lasts; the error is not.
  CHECK_THAT(t.status(1).detail, Catch::Contains("serves sha256:v1"));

  // Home unreachable: no reference, so no verdict either way, even for a
  // replica that now serves something else.
  t.record(round({error(), digest("sha256:v2"), digest("sha256:v3")}), 20'000);
  CHECK(t.references()[0].empty());
  CHECK(states(t) == std::vector<S>{S::Fresh, S::Lagging, S::Fresh});
  CHECK(t.status(1).served[0] == "sha256:v2");  // what it serves is still recorded

  // An error for a fresh replica names the error.
  t.record(round({digest("sha256:v3"), digest("sha256:v3"), error("HTTP 503")}), 21'000);
  CHECK(states(t) == std::vector<S>{S::Fresh, S::Fresh, S::Fresh});
  CHECK_THAT(t.status(2).detail, Catch::Contains("canary/hb0:latest: HTTP 503"));
}

TEST_CASE("freshness, majority reference: the value a strict majority of all replicas serves") {
  FreshnessTracker t(config(std::chrono::seconds(5), policy::FreshnessReference::Majority), kRegions, 0);
  t.record(round({digest("sha256:v2"), digest("sha256:v2"), digest("sha256:v1")}), 0);
  CHECK(t.references()[0] == "sha256:v2");
  CHECK(states(t) == std::vector<S>{S::Fresh, S::Fresh, S::Behind});
  // One of three unreachable and the other two disagree: no majority of all
  // three, so no comparison; a behind clock keeps running meanwhile.
  t.record(round({digest("sha256:v3"), error(), digest("sha256:v1")}), 4'000);
  CHECK(t.references()[0].empty());
  CHECK(states(t) == std::vector<S>{S::Fresh, S::Fresh, S::Behind});
  // A delete that reached the majority: the one still serving the tag is behind.
  t.record(round({absent(), absent(), digest("sha256:v1")}), 6'000);
  CHECK(t.references()[0] == "absent");
  CHECK(states(t) == std::vector<S>{S::Fresh, S::Fresh, S::Lagging});
  CHECK_THAT(t.status(2).detail, Catch::Contains("(majority)"));
}

TEST_CASE("freshness: a replica takes its worst canary") {
  FreshnessTracker t(config(std::chrono::seconds(5), policy::FreshnessReference::Home, 2), kRegions, 0);
  auto r = [](DigestObservation a0, DigestObservation a1, DigestObservation b0, DigestObservation b1,
              DigestObservation c0, DigestObservation c1) {
    return std::vector<std::vector<DigestObservation>>{{a0, a1}, {b0, b1}, {c0, c1}};
  };
  t.record(r(digest("sha256:a1"), digest("sha256:b1"), digest("sha256:a1"), digest("sha256:b0"), digest("sha256:a1"),
             digest("sha256:b1")),
           0);
  CHECK(states(t) == std::vector<S>{S::Fresh, S::Behind, S::Fresh});
  CHECK_THAT(t.status(1).detail, Catch::Contains("canary/hb1:latest serves sha256:b0"));
  t.record(r(digest("sha256:a2"), digest("sha256:b1"), digest("sha256:a2"), digest("sha256:b0"), digest("sha256:a1"),
             digest("sha256:b1")),
           5'000);
  CHECK(states(t) == std::vector<S>{S::Fresh, S::Lagging, S::Behind});
  // Catching up on one canary is not enough.
  t.record(r(digest("sha256:a2"), digest("sha256:b1"), digest("sha256:a2"), digest("sha256:b0"), digest("sha256:a2"),
             digest("sha256:b1")),
           6'000);
  CHECK(states(t) == std::vector<S>{S::Fresh, S::Lagging, S::Fresh});
}

TEST_CASE("freshness: a reload keeps what the tracker knew of the replicas and canaries that remain") {
  FreshnessTracker old(config(), kRegions, 0);
  old.record(round({digest("sha256:v2"), digest("sha256:v1"), digest("sha256:v1")}), 0);
  old.record(round({digest("sha256:v2"), digest("sha256:v1"), digest("sha256:v1")}), 10'000);
  CHECK(states(old) == std::vector<S>{S::Fresh, S::Lagging, S::Lagging});

  // westeurope gone, southeastasia new, home moved to westus's index 0.
  FreshnessTracker next(config(), {"westus", "eastus", "southeastasia"}, 1);
  next.inherit(old);
  CHECK(states(next) == std::vector<S>{S::Lagging, S::Fresh, S::Unknown});
  CHECK(next.status(0).seconds_behind == Approx(10.0));
  next.record(round({digest("sha256:v1"), digest("sha256:v2"), digest("sha256:v2")}), 11'000);
  CHECK(states(next) == std::vector<S>{S::Lagging, S::Fresh, S::Fresh});
}

TEST_CASE("freshness: a replica lagging before a restart stays lagging until a round sees it catch up") {
  FreshnessTracker t(config(), kRegions, 0);
  // Early in the loop's clock: the assumed start of the lag lies before 0.
  t.assumeLagging(2, 1'000);
  CHECK(states(t) == std::vector<S>{S::Unknown, S::Unknown, S::Lagging});
  // Unreachable or still behind: still lagging.
  t.record(round({digest("sha256:v2"), digest("sha256:v2"), error()}), 2'000);
  CHECK(states(t) == std::vector<S>{S::Fresh, S::Fresh, S::Lagging});
  CHECK_THAT(t.status(2).detail, Catch::Contains("serves (not read yet)"));
  t.record(round({digest("sha256:v2"), digest("sha256:v2"), digest("sha256:v1")}), 3'000);
  CHECK(states(t) == std::vector<S>{S::Fresh, S::Fresh, S::Lagging});
  t.record(round({digest("sha256:v2"), digest("sha256:v2"), digest("sha256:v2")}), 4'000);
  CHECK(states(t) == std::vector<S>{S::Fresh, S::Fresh, S::Fresh});
}

TEST_CASE("digests are checked before they are compared") {
  CHECK(isDigest("sha256:" + std::string(64, 'a')));
  CHECK(isDigest("sha512:" + std::string(128, '0')));
  CHECK_FALSE(isDigest("sha256:" + std::string(63, 'a')));
  CHECK_FALSE(isDigest("sha256:" + std::string(64, 'A')));
  CHECK_FALSE(isDigest("sha256"));
  CHECK_FALSE(isDigest(":abc"));
  CHECK_FALSE(isDigest("sha256:"));
  CHECK_FALSE(isDigest("sha256:zz"));
}
