#include "fleet/etcd_client.h"

#include "fleet/base64.h"

namespace switchyard::fleet {

using nlohmann::json;

namespace {

int64_t int64Of(const json& j, const char* key) {
  if (!j.contains(key)) return 0;
  const json& v = j[key];
  if (v.is_string()) return std::stoll(v.get<std::string>());
  return v.is_number() ? v.get<int64_t>() : 0;
}

KeyValue keyValueOf(const json& j) {
  KeyValue kv;
  kv.key = base64Decode(j.value("key", "")).value_or("");
  kv.value = base64Decode(j.value("value", "")).value_or("");
  kv.create_revision = int64Of(j, "create_revision");
  kv.mod_revision = int64Of(j, "mod_revision");
  kv.lease = int64Of(j, "lease");
  return kv;
}

std::string errorOf(const HttpResponse& r) {
  if (!r.error.empty()) return r.error;
  auto j = json::parse(r.body, nullptr, false);
  if (j.is_object() && j.contains("message")) return "etcd: " + j["message"].get<std::string>();
  if (j.is_object() && j.contains("error")) return "etcd: " + j["error"].get<std::string>();
  return "etcd: HTTP " + std::to_string(r.status);
}

}  // namespace

std::string prefixEnd(const std::string& prefix) {
  std::string end = prefix;
  while (!end.empty()) {
    auto last = static_cast<unsigned char>(end.back());
    if (last < 0xff) {
      end.back() = static_cast<char>(last + 1);
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');  // every key
}

struct EtcdClient::Watch {
  uint64_t id = 0;
  std::string prefix;
  int64_t next_revision = 0;  // where a resumed stream starts
  std::function<void(int64_t, std::vector<WatchEvent>)> on_events;
  std::function<void(std::string, int64_t)> on_end;
  uint64_t request = 0;  // HttpClient id
  std::string pending;   // a partial line of the stream
  std::string error;     // set by the stream itself (compaction, cancel)
};

EtcdClient::EtcdClient(HttpClient& http, std::vector<std::string> endpoints)
    : http_(http), endpoints_(std::move(endpoints)) {}

EtcdClient::~EtcdClient() {
  *alive_ = false;
  for (auto& [id, w] : watches_) http_.cancel(w->request);
}

void EtcdClient::call(const std::string& path, json body, std::function<void(Result<json>)> done, size_t attempt) {
  HttpRequest request;
  request.method = "POST";
  request.url = endpoints_[current_] + path;
  request.body = body.dump();
  request.headers = {"Content-Type: application/json"};
  std::weak_ptr<bool> alive = alive_;
  http_.send(std::move(request), [this, alive, path, body = std::move(body), done = std::move(done),
                                  attempt](HttpResponse r) mutable {
    if (alive.expired()) return;
    if (r.status == 0 && attempt + 1 < endpoints_.size()) {
      // No answer from this member: the next one may have it.
      current_ = (current_ + 1) % endpoints_.size();
      call(path, std::move(body), std::move(done), attempt + 1);
      return;
    }
    if (!r.ok()) return done(Error{errorOf(r) + " (" + endpoints_[current_] + path + ")"});
    auto j = json::parse(r.body, nullptr, false);
    if (j.is_discarded()) return done(Error{"etcd: unreadable answer from " + endpoints_[current_] + path});
    done(std::move(j));
  });
}

void EtcdClient::put(const std::string& key, const std::string& value, int64_t lease,
                     std::function<void(Result<int64_t>)> done) {
  json body{{"key", base64Encode(key)}, {"value", base64Encode(value)}};
  if (lease) body["lease"] = std::to_string(lease);
  call("/v3/kv/put", std::move(body), [done = std::move(done)](Result<json> r) {
    if (!r) return done(Error{r.error()});
    done(int64Of(r->value("header", json::object()), "revision"));
  });
}

void EtcdClient::getPrefix(const std::string& prefix, std::function<void(Result<RangeResult>)> done) {
  json body{{"key", base64Encode(prefix)}, {"range_end", base64Encode(prefixEnd(prefix))}};
  call("/v3/kv/range", std::move(body), [done = std::move(done)](Result<json> r) {
    if (!r) return done(Error{r.error()});
    RangeResult out;
    out.revision = int64Of(r->value("header", json::object()), "revision");
    for (const auto& kv : r->value("kvs", json::array())) out.kvs.push_back(keyValueOf(kv));
    done(std::move(out));
  });
}

void EtcdClient::remove(const std::string& key, std::function<void(Result<int64_t>)> done) {
  call("/v3/kv/deleterange", json{{"key", base64Encode(key)}}, [done = std::move(done)](Result<json> r) {
    if (!r) return done(Error{r.error()});
    done(int64Of(r->value("header", json::object()), "revision"));
  });
}

void EtcdClient::txn(const std::vector<TxnCompare>& compares, const std::vector<TxnOp>& ops,
                     std::function<void(Result<TxnResult>)> done) {
  json compare = json::array(), success = json::array();
  for (const auto& c : compares)
    compare.push_back({{"key", base64Encode(c.key)}, {"result", "EQUAL"}, {"target", "MOD"},
                       {"mod_revision", std::to_string(c.mod_revision)}});
  for (const auto& op : ops) {
    if (op.kind == TxnOp::Kind::Put) {
      success.push_back({{"request_put", {{"key", base64Encode(op.key)}, {"value", base64Encode(op.value)}}}});
      continue;
    }
    json del{{"key", base64Encode(op.key)}};
    if (op.prefix) del["range_end"] = base64Encode(prefixEnd(op.key));
    success.push_back({{"request_delete_range", del}});
  }
  call("/v3/kv/txn", json{{"compare", compare}, {"success", success}}, [done = std::move(done)](Result<json> r) {
    if (!r) return done(Error{r.error()});
    TxnResult out;
    out.succeeded = r->value("succeeded", false);
    out.revision = int64Of(r->value("header", json::object()), "revision");
    done(out);
  });
}

void EtcdClient::grantLease(int64_t ttl_s, std::function<void(Result<int64_t>)> done) {
  call("/v3/lease/grant", json{{"TTL", std::to_string(ttl_s)}}, [done = std::move(done)](Result<json> r) {
    if (!r) return done(Error{r.error()});
    if (r->contains("error") && !(*r)["error"].get<std::string>().empty())
      return done(Error{"etcd: " + (*r)["error"].get<std::string>()});
    done(int64Of(*r, "ID"));
  });
}

void EtcdClient::keepAlive(int64_t lease, std::function<void(Result<int64_t>)> done) {
  // The gateway's keep-alive is a stream; one request body gets one answer.
  call("/v3/lease/keepalive", json{{"ID", std::to_string(lease)}}, [done = std::move(done)](Result<json> r) {
    if (!r) return done(Error{r.error()});
    int64_t ttl = int64Of(r->value("result", json::object()), "TTL");
    if (ttl <= 0) return done(Error{"etcd: lease expired"});
    done(ttl);
  });
}

uint64_t EtcdClient::watch(const std::string& prefix, int64_t start_revision,
                           std::function<void(int64_t, std::vector<WatchEvent>)> on_events,
                           std::function<void(std::string, int64_t)> on_end) {
  auto w = std::make_unique<Watch>();
  w->id = next_watch_++;
  w->prefix = prefix;
  w->next_revision = start_revision;
  w->on_events = std::move(on_events);
  w->on_end = std::move(on_end);
  Watch& ref = *w;
  watches_[w->id] = std::move(w);
  startWatch(ref);
  return ref.id;
}

void EtcdClient::startWatch(Watch& w) {
  json create{{"key", base64Encode(w.prefix)}, {"range_end", base64Encode(prefixEnd(w.prefix))}};
  if (w.next_revision > 0) create["start_revision"] = std::to_string(w.next_revision);
  HttpRequest request;
  request.method = "POST";
  request.url = endpoints_[current_] + "/v3/watch";
  request.body = json{{"create_request", create}}.dump();
  request.headers = {"Content-Type: application/json"};
  request.timeout = std::chrono::milliseconds(0);
  uint64_t id = w.id;
  std::weak_ptr<bool> alive = alive_;
  request.on_chunk = [this, alive, id](std::string_view chunk) {
    if (alive.expired()) return false;
    auto it = watches_.find(id);
    if (it == watches_.end()) return false;
    it->second->pending.append(chunk);
    // The gateway writes one JSON object per line. A handler may cancel
    // this watch (it is then gone): looked up again after every line.
    while (true) {
      it = watches_.find(id);
      if (it == watches_.end()) return false;
      Watch& w = *it->second;
      if (!w.error.empty()) return false;
      size_t nl = w.pending.find('\n');
      if (nl == std::string::npos) return true;
      std::string line = w.pending.substr(0, nl);
      w.pending.erase(0, nl + 1);
      onWatchLine(w, line);
    }
  };
  w.request = http_.send(std::move(request), [this, alive, id](HttpResponse r) {
    if (alive.expired()) return;
    auto it = watches_.find(id);
    if (it == watches_.end()) return;
    std::unique_ptr<Watch> w = std::move(it->second);
    watches_.erase(it);
    std::string why = !w->error.empty() ? w->error : !r.error.empty() ? r.error : "etcd closed the watch";
    if (r.status == 0 && endpoints_.size() > 1) current_ = (current_ + 1) % endpoints_.size();
    w->on_end(why, w->next_revision);
  });
}

void EtcdClient::onWatchLine(Watch& w, const std::string& line) {
  auto j = json::parse(line, nullptr, false);
  if (!j.is_object()) return;
  if (j.contains("error")) {
    w.error = "etcd: " + j["error"].value("message", std::string("watch error"));
    return;
  }
  const json& result = j.value("result", json::object());
  if (result.value("canceled", false)) {
    int64_t compacted = int64Of(result, "compact_revision");
    w.error = compacted ? "etcd: history compacted past revision " + std::to_string(compacted)
                        : "etcd: watch cancelled: " + result.value("cancel_reason", std::string("no reason"));
    return;
  }
  int64_t revision = int64Of(result.value("header", json::object()), "revision");
  std::vector<WatchEvent> events;
  for (const auto& e : result.value("events", json::array())) {
    WatchEvent ev;
    ev.type = e.value("type", std::string("PUT")) == "DELETE" ? WatchEvent::Type::Delete : WatchEvent::Type::Put;
    ev.kv = keyValueOf(e.value("kv", json::object()));
    events.push_back(std::move(ev));
  }
  if (events.empty()) return;  // "created" and progress notices
  w.next_revision = revision + 1;
  // A copy: the handler may cancel the watch, destroying w and its own.
  auto on_events = w.on_events;
  on_events(revision, std::move(events));
}

void EtcdClient::cancelWatch(uint64_t id) {
  auto it = watches_.find(id);
  if (it == watches_.end()) return;
  http_.cancel(it->second->request);
  watches_.erase(it);
}

}  // namespace switchyard::fleet
