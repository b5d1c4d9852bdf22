#include "health/content_check.h"

#include <nlohmann/json.hpp>

#include "health/manifest_head.h"

namespace switchyard::health {

const char* stepName(ContentStep step) {
  switch (step) {
    case ContentStep::Api: return "api";
    case ContentStep::Manifest: return "manifest";
    case ContentStep::Child: return "child manifest";
    case ContentStep::Blob: return "blob";
    case ContentStep::WriteStart: return "write_start";
    case ContentStep::WriteUpload: return "write_upload";
    case ContentStep::WriteRead: return "write_read";
    case ContentStep::WriteDelete: return "write_delete";
  }
  return "?";
}

StepVerdict judgeStatus(ContentStep step, int status, const policy::ProbeSpec& spec) {
  if (spec.isThrottled(status)) return {StepOutcome::Throttled, ProbeResult::Throttled};
  if (step == ContentStep::Api)
    return spec.isHealthy(status) ? StepVerdict{} : StepVerdict{StepOutcome::Failed, ProbeResult::HttpError};
  if (step == ContentStep::WriteDelete) return {};  // clean-up only: many registries refuse deletes (405)
  if (status >= 200 && status <= 299) return {};
  if (isWriteStep(step)) return {StepOutcome::Failed, ProbeResult::WriteError};
  if (status == 404) return {StepOutcome::Failed, ProbeResult::ContentMissing};
  return {StepOutcome::Failed, ProbeResult::ContentError};
}

namespace {

Result<ContentRef> descriptor(const nlohmann::json& d, const char* what) {
  if (!d.is_object() || !d.contains("digest") || !d["digest"].is_string())
    return makeError(std::string(what) + " without a digest");
  ContentRef ref{d["digest"].get<std::string>(), -1};
  if (!isDigest(ref.digest)) return makeError(std::string(what) + " with a malformed digest '" + ref.digest.substr(0, 80) + "'");
  if (d.contains("size") && d["size"].is_number_integer()) ref.size = d["size"].get<int64_t>();
  return ref;
}

}  // namespace

Result<ParsedManifest> parseManifest(std::string_view body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return makeError("the manifest is not a JSON object");
  ParsedManifest m;
  if (j.contains("manifests")) {
    const auto& list = j["manifests"];
    if (!list.is_array() || list.empty()) return makeError("an index that lists no manifest");
    auto first = descriptor(list[0], "an index entry");
    if (!first) return makeError(first.error());
    m.index = true;
    m.next = *first;
    return m;
  }
  if (j.contains("fsLayers")) {  // schema 1: blobSum only, no sizes
    const auto& layers = j["fsLayers"];
    if (!layers.is_array() || layers.empty() || !layers[0].is_object() || !layers[0].contains("blobSum") ||
        !layers[0]["blobSum"].is_string())
      return makeError("a schema 1 manifest without fsLayers[0].blobSum");
    m.next.digest = layers[0]["blobSum"].get<std::string>();
    if (!isDigest(m.next.digest)) return makeError("a schema 1 manifest with a malformed blobSum");
    return m;
  }
  if (!j.contains("config")) return makeError("a manifest with neither config nor manifests");
  auto config = descriptor(j["config"], "a config");
  if (!config) return makeError(config.error());
  m.next = *config;
  if (j.contains("layers") && j["layers"].is_array())
    for (const auto& layer : j["layers"]) {
      auto l = descriptor(layer, "a layer");
      if (!l) return makeError(l.error());
      // The smallest blob: the cheapest proof that storage returns bytes.
      if (l->size >= 0 && (m.next.size < 0 || l->size < m.next.size)) m.next = *l;
    }
  return m;
}

}  // namespace switchyard::health
