#include "health/probe_result.h"

namespace switchyard::health {

const char* resultName(ProbeResult result) {
  switch (result) {
    case ProbeResult::Ok: return "ok";
    case ProbeResult::Throttled: return "throttled";
    case ProbeResult::HttpError: return "http_error";
    case ProbeResult::Timeout: return "timeout";
    case ProbeResult::ConnectError: return "connect_error";
    case ProbeResult::TlsError: return "tls_error";
    case ProbeResult::ContentError: return "content_error";
    case ProbeResult::ContentMissing: return "content_missing";
    case ProbeResult::WriteError: return "write_error";
  }
  return "?";
}

}  // namespace switchyard::health
