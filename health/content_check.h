// ContentCheck: the steps of a `check: content` probe and what each answer
// means (the prober that runs them is health/content_prober.h). Pure rules,
// so the verdict table is unit-tested without sockets.
//
// One probe of one (registry, replica) pair, in order, stopping at the first
// verdict that is not "next":
//   api          GET  /v2/                        health.healthy_status (401 is the auth challenge: next)
//   manifest     GET  /v2/REPO/manifests/TAG      the canary; the body must hash to Docker-Content-Digest
//   child        GET  /v2/REPO/manifests/DIGEST   only when the canary is an index: its first manifest
//   blob         GET  /v2/REPO/blobs/DIGEST       the manifest's smallest blob; the body must hash to DIGEST
//   write_start  POST /v2/WREPO/blobs/uploads/    } health.write_check, every N probes:
//   write_upload PUT  LOCATION&digest=D           } a small unique blob pushed monolithically,
//   write_read   GET  /v2/WREPO/blobs/D           } read back and checked,
//   write_delete DELETE /v2/WREPO/blobs/D         } then deleted where the registry allows it (any
//                                                   outcome, even no answer: it is clean-up)
// Verdicts of an HTTP answer (a 401 with a Bearer challenge first gets the
// token flow, health/registry_token.h, and the step again):
//   throttled_status (429) at any step   -> throttled: healthy, and nothing more is asked
//   2xx                                  -> next (then the body's digest is checked)
//   404 on manifest, child or blob       -> content_missing
//   anything else on a read step         -> content_error (5xx, 401/403 after the token flow, 400...)
//   anything not 2xx on a write step     -> write_error
//   no HTTP answer                       -> timeout, connect_error, tls_error (health/curl_failure.h)
//   a body that does not hash to its digest -> content_error ("digest mismatch")
// Thread safety: pure functions and values.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"
#include "health/probe_result.h"
#include "policy/topology.h"

namespace switchyard::health {

enum class ContentStep : uint8_t { Api, Manifest, Child, Blob, WriteStart, WriteUpload, WriteRead, WriteDelete };
const char* stepName(ContentStep step);
inline bool isWriteStep(ContentStep s) { return s >= ContentStep::WriteStart; }

enum class StepOutcome : uint8_t { Next, Throttled, Failed };

struct StepVerdict {
  StepOutcome outcome = StepOutcome::Next;
  ProbeResult result = ProbeResult::Ok;  // Failed: which failure; Throttled: Throttled
};

// The verdict of HTTP `status` answering `step`.
StepVerdict judgeStatus(ContentStep step, int status, const policy::ProbeSpec& spec);

// What a manifest says to read next.
struct ContentRef {
  std::string digest;  // "sha256:..." (or another algorithm's "alg:hex")
  int64_t size = -1;   // -1: not given (schema 1 manifests)
};
struct ParsedManifest {
  bool index = false;  // an OCI index or Docker manifest list: `next` is a manifest
  ContentRef next;     // index: its first manifest; image: its smallest blob (config or layer)
};
// Reads an image manifest (OCI, Docker schema 2, schema 1) or an index. The
// error says what is wrong with it (a replica returning it is serving bad
// content: content_error).
Result<ParsedManifest> parseManifest(std::string_view body);

// Bodies we read whole or hash: a manifest beyond this is not one; a blob
// beyond this, or of unknown size (schema 1), is only checked with HEAD
// (existence, and size when the manifest gives one), so a probe never
// downloads a layer. Use a small canary image (docs/configuration.md).
inline constexpr size_t kMaxManifestBytes = 4u << 20;
inline constexpr int64_t kMaxBlobBytes = 16 << 20;

}  // namespace switchyard::health
