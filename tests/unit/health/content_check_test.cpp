// The content check's rules without sockets: the verdict of every step for
// every class of status, manifest parsing (image, index, schema 1, garbage),
// and the digest helper.
#include <catch2/catch.hpp>

#include "health/content_check.h"
#include "health/sha256.h"

using namespace switchyard;
using namespace switchyard::health;

namespace {
policy::ProbeSpec spec() { return policy::ProbeSpec{}; }
}  // namespace

TEST_CASE("content steps: the verdict of each HTTP status") {
  auto s = spec();
  using O = StepOutcome;
  using R = ProbeResult;
  struct Row {
    ContentStep step;
    int status;
    O outcome;
    R result;
  };
  const Row rows[] = {
      // api: today's probe rules (401 is the auth challenge, healthy).
      {ContentStep::Api, 200, O::Next, R::Ok},
      {ContentStep::Api, 401, O::Next, R::Ok},
      {ContentStep::Api, 429, O::Throttled, R::Throttled},
      {ContentStep::Api, 500, O::Failed, R::HttpError},
      {ContentStep::Api, 404, O::Failed, R::HttpError},
      // reads: 2xx next, 404 missing, 429 throttled, anything else content_error.
      {ContentStep::Manifest, 200, O::Next, R::Ok},
      {ContentStep::Manifest, 404, O::Failed, R::ContentMissing},
      {ContentStep::Manifest, 429, O::Throttled, R::Throttled},
      {ContentStep::Manifest, 500, O::Failed, R::ContentError},
      {ContentStep::Manifest, 503, O::Failed, R::ContentError},
      {ContentStep::Manifest, 401, O::Failed, R::ContentError},
      {ContentStep::Manifest, 403, O::Failed, R::ContentError},
      {ContentStep::Manifest, 400, O::Failed, R::ContentError},
      {ContentStep::Child, 404, O::Failed, R::ContentMissing},
      {ContentStep::Child, 502, O::Failed, R::ContentError},
      {ContentStep::Blob, 200, O::Next, R::Ok},
      {ContentStep::Blob, 404, O::Failed, R::ContentMissing},
      {ContentStep::Blob, 429, O::Throttled, R::Throttled},
      {ContentStep::Blob, 500, O::Failed, R::ContentError},
      // writes: 2xx next, 429 throttled, anything else write_error.
      {ContentStep::WriteStart, 202, O::Next, R::Ok},
      {ContentStep::WriteStart, 500, O::Failed, R::WriteError},
      {ContentStep::WriteStart, 404, O::Failed, R::WriteError},
      {ContentStep::WriteStart, 429, O::Throttled, R::Throttled},
      {ContentStep::WriteUpload, 201, O::Next, R::Ok},
      {ContentStep::WriteUpload, 507, O::Failed, R::WriteError},
      {ContentStep::WriteRead, 200, O::Next, R::Ok},
      {ContentStep::WriteRead, 404, O::Failed, R::WriteError},
      // delete is clean-up: a registry that refuses deletes is fine.
      {ContentStep::WriteDelete, 202, O::Next, R::Ok},
      {ContentStep::WriteDelete, 405, O::Next, R::Ok},
      {ContentStep::WriteDelete, 500, O::Next, R::Ok},
  };
  for (const auto& row : rows) {
    INFO(stepName(row.step) << " " << row.status);
    StepVerdict v = judgeStatus(row.step, row.status, s);
    CHECK(v.outcome == row.outcome);
    if (row.outcome != O::Next) CHECK(v.result == row.result);
  }
  // A registry's own throttled_status applies to every step.
  s.throttled_status = {{429, 429}, {503, 503}};
  CHECK(judgeStatus(ContentStep::Blob, 503, s).outcome == O::Throttled);
}

TEST_CASE("manifests: the smallest blob of an image, the first entry of an index") {
  std::string d1 = "sha256:" + std::string(64, '1'), d2 = "sha256:" + std::string(64, '2');
  std::string d3 = "sha256:" + std::string(64, '3');
  auto image = parseManifest(R"({"schemaVersion":2,"config":{"digest":")" + d1 +
                             R"(","size":900},"layers":[{"digest":")" + d2 + R"(","size":5000},{"digest":")" + d3 +
                             R"(","size":120}]})");
  REQUIRE(image);
  CHECK_FALSE(image->index);
  CHECK(image->next.digest == d3);
  CHECK(image->next.size == 120);

  auto index = parseManifest(R"({"schemaVersion":2,"manifests":[{"digest":")" + d2 + R"(","size":400}]})");
  REQUIRE(index);
  CHECK(index->index);
  CHECK(index->next.digest == d2);

  auto v1 = parseManifest(R"({"schemaVersion":1,"fsLayers":[{"blobSum":")" + d1 + R"("}]})");
  REQUIRE(v1);
  CHECK(v1->next.digest == d1);
  CHECK(v1->next.size == -1);

  CHECK_FALSE(parseManifest("<html>500</html>"));
  CHECK_FALSE(parseManifest(R"({"schemaVersion":2})"));
  CHECK_FALSE(parseManifest(R"({"manifests":[]})"));
  CHECK_FALSE(parseManifest(R"({"config":{"digest":"sha256:nothex"}})"));
  CHECK(parseManifest(R"({"config":{"size":3}})").error().find("without a digest") != std::string::npos);
}

TEST_CASE("sha256 digests in the registry's spelling") {
  CHECK(sha256Digest("") == "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  Sha256 h;
  h.update("ab", 2);
  h.update("c", 1);
  CHECK(h.digest() == "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}
