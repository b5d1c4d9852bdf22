// The tests use the project's cold-path DNS client (dns/client/), which parses
// with ldns: an implementation independent of the server's wire code.
#pragma once

#include "dns/client/dns_client.h"

namespace switchyard::test {
using dnsclient::answers;
using dnsclient::buildQuery;
using dnsclient::ecsOf;
using dnsclient::exchange;
using dnsclient::parse;
using dnsclient::Pkt;
using dnsclient::query;
using dnsclient::QueryOptions;
using dnsclient::section;
}  // namespace switchyard::test
