// How a libcurl transfer that ended without an HTTP answer counts as a probe
// result: one table for the api prober (curl_prober.h) and every step of a
// content probe (content_prober.h), so the same fault reads the same way.
// Thread safety: a pure function.
#pragma once

#include <curl/curl.h>

#include "health/probe_result.h"

namespace switchyard::health {

// REQUIRES: code != CURLE_OK.
inline ProbeResult transferFailure(CURLcode code) {
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      return ProbeResult::Timeout;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_USE_SSL_FAILED:
      return ProbeResult::TlsError;
    // Something answered, but not HTTP/1.x ("Received HTTP/0.9" is how
    // libcurl reports a reply without a status line).
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_UNSUPPORTED_PROTOCOL:
      return ProbeResult::HttpError;
    default:
      return ProbeResult::ConnectError;
  }
}

}  // namespace switchyard::health
