// EtcdClient: the etcd v3 calls fleet mode needs, over etcd's HTTP/JSON
// gateway (/v3/...) with HttpClient: no gRPC dependency. Keys and values are
// bytes (base64 on the wire); revisions and lease ids are int64 (strings on
// the wire).
//
// Endpoints: calls go to the current endpoint; when it gives no HTTP answer
// (down, refused, timed out) the call moves to the next one and is retried
// there, once per endpoint, so one dead member of a cluster costs a retry,
// not an error.
// Thread safety: the loop's thread only (like HttpClient).
// Invariants:
//   1. Every call ends in exactly one callback; a watch ends in exactly one
//      on_end (unless cancelled), after which it delivers nothing.
//   2. Any callback, a watch's on_events included, may make calls and
//      cancel watches (its own too).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "fleet/http_client.h"

namespace switchyard::fleet {

struct KeyValue {
  std::string key;
  std::string value;
  int64_t create_revision = 0;
  int64_t mod_revision = 0;
  int64_t lease = 0;
};

struct WatchEvent {
  enum class Type { Put, Delete } type = Type::Put;
  KeyValue kv;
};

// One operation of a transaction: a put, or a delete of one key (a prefix
// delete when `prefix`).
struct TxnOp {
  enum class Kind { Put, Delete } kind = Kind::Put;
  std::string key;
  std::string value;  // Put only
  bool prefix = false;  // Delete only: every key starting with `key`
};

// A transaction's guard: the key's mod_revision equals `mod_revision` (0:
// the key does not exist, etcd's zero value for a missing key).
struct TxnCompare {
  std::string key;
  int64_t mod_revision = 0;
};

struct TxnResult {
  bool succeeded = false;  // every compare held and every op was applied
  int64_t revision = 0;    // the store's revision after it
};

struct RangeResult {
  int64_t revision = 0;  // the store's revision the read saw
  std::vector<KeyValue> kvs;
};

class EtcdClient {
 public:
  // endpoints: "http://HOST:PORT" of one or more cluster members.
  EtcdClient(HttpClient& http, std::vector<std::string> endpoints);
  ~EtcdClient();

  // Writes key = value (lease 0: none). Gives the new revision.
  void put(const std::string& key, const std::string& value, int64_t lease, std::function<void(Result<int64_t>)> done);
  // Every key starting with `prefix`, in key order.
  void getPrefix(const std::string& prefix, std::function<void(Result<RangeResult>)> done);
  // Deletes one key. Gives the new revision.
  void remove(const std::string& key, std::function<void(Result<int64_t>)> done);
  // All of `ops` at one revision if every compare holds, else none of them
  // (succeeded == false). etcd caps a transaction at --max-txn-ops (128 by
  // default) operations.
  void txn(const std::vector<TxnCompare>& compares, const std::vector<TxnOp>& ops,
           std::function<void(Result<TxnResult>)> done);
  // A lease that expires after ttl_s without a keep-alive. Gives its id.
  void grantLease(int64_t ttl_s, std::function<void(Result<int64_t>)> done);
  // Renews a lease. Gives its remaining TTL; an error when it has expired.
  void keepAlive(int64_t lease, std::function<void(Result<int64_t>)> done);
  // Streams changes under `prefix` from `start_revision` (0: from now).
  // on_events gets each batch with the revision it brings the reader to;
  // on_end says why the stream ended and the revision to watch again from,
  // so a caller that restarts there misses nothing (unless compacted).
  // Returns an id for cancelWatch().
  uint64_t watch(const std::string& prefix, int64_t start_revision,
                 std::function<void(int64_t revision, std::vector<WatchEvent>)> on_events,
                 std::function<void(std::string error, int64_t resume_from)> on_end);
  void cancelWatch(uint64_t id);

  const std::string& endpoint() const { return endpoints_[current_]; }

 private:
  struct Watch;
  void call(const std::string& path, nlohmann::json body, std::function<void(Result<nlohmann::json>)> done,
            size_t attempt = 0);
  void startWatch(Watch& w);
  void onWatchLine(Watch& w, const std::string& line);

  HttpClient& http_;
  std::vector<std::string> endpoints_;
  size_t current_ = 0;
  uint64_t next_watch_ = 1;
  std::unordered_map<uint64_t, std::unique_ptr<Watch>> watches_;
  // Shared with callbacks still in flight, so one that finishes after this
  // client is gone does nothing.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// The key just past every key with this prefix (etcd's range_end for a
// prefix read): the prefix with its last byte below 0xff incremented.
std::string prefixEnd(const std::string& prefix);

}  // namespace switchyard::fleet
