// The query path: one DNS message in, one response out, from an AnswerSet.
//
// Steps: parse (query_parser.h) -> class IN and zone check -> name lookup ->
// client region (trusted ECS, else the source address) for global names ->
// pick the precompiled answer (in a shared region, the client subnet's one
// replica: policy/sticky.h) -> write header, the question as sent, the body,
// and an OPT (with ECS and its scope) when the query had EDNS.
// UDP answers that exceed the client's payload size (512 without EDNS, at most
// our 1232 with it) are sent truncated (TC, no records) so the client retries
// over TCP, where the full answer is sent.
// Thread safety: a pure function; allocates nothing, locks nothing.
#pragma once

#include <cstddef>
#include <cstdint>

#include "common/ip_address.h"
#include "dns/answer_set.h"
#include "dns/query_parser.h"

namespace switchyard::dns {

enum class Transport : uint8_t { Udp, Tcp };

struct ResponseInfo {
  NameKind kind = NameKind::Empty;  // which endpoint class answered (metrics)
  uint16_t rcode = 0;               // including extended (BADVERS = 16)
  bool truncated = false;
  bool in_zone = false;
};

// Writes the response to `out` (capacity `cap`, at least 65535 for TCP and 1232
// for UDP) and returns its length; 0 means "send nothing" (rule 1 of the parser).
// `scratch` is the caller's reusable Query.
size_t respond(const AnswerSet& set, const uint8_t* query, size_t length, const IpAddress& source,
               Transport transport, Query& scratch, uint8_t* out, size_t cap,
               ResponseInfo* info = nullptr);

// Rewrites the response respond() just wrote for `q` (described by `info`)
// as the same response truncated: TC set, no records, the question and a
// plain OPT kept. Used for rate-limited answers that "slip" (rate_limiter.h):
// no larger than the query, and a real client retries over TCP.
// Returns the new length (at most the old one).
size_t truncateResponse(const Query& q, const ResponseInfo& info, uint8_t* out, size_t cap);

}  // namespace switchyard::dns
