#include "health/plain_prober.h"

#include <cctype>
#include <cstring>
#include <string>
#include <string_view>

#include "common/ip_address.h"

namespace switchyard::health {

struct PlainProber::Probe {
  uint64_t id = 0;
  PlainProber* owner = nullptr;
  ProbeTarget target;
  uv_tcp_t tcp{};
  uv_timer_t timer{};
  uv_connect_t connect{};
  uv_write_t write{};
  std::string request;
  uint64_t started_ms = 0;
  bool done = false;
  bool has_early_report = false;  // a failure found inside start(), reported from the loop
  ProbeReport early;
  int open_handles = 2;  // tcp + timer
  size_t used = 0;
  char in[512];  // a status line longer than this is no HTTP we accept
};

namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

bool hasHeader(const ProbeTarget& t, std::string_view name) {
  for (const auto& h : t.spec.headers)
    if (iequals(h.first, name)) return true;
  return false;
}

// The request libcurl would send for the same target, so a replica sees the
// same probe whichever prober runs it.
std::string buildRequest(const ProbeTarget& t) {
  std::string r;
  r.reserve(160 + t.host.size() + t.spec.path.size());
  r += "GET ";
  r += t.spec.path;
  r += " HTTP/1.1\r\n";
  if (!hasHeader(t, "Host")) {
    r += "Host: ";
    r += t.host;
    if (t.spec.port != 80) r += ":" + std::to_string(t.spec.port);
    r += "\r\n";
  }
  if (!hasHeader(t, "User-Agent")) r += "User-Agent: switchyard-probe/0.1\r\n";
  if (!hasHeader(t, "Accept")) r += "Accept: */*\r\n";
  for (const auto& [name, value] : t.spec.headers) {
    r += name;
    r += ": ";
    r += value;
    r += "\r\n";
  }
  r += "Connection: close\r\n\r\n";
  return r;
}

// "HTTP/1.1 200 OK" -> 200; -1 when the line is not an HTTP status line.
int parseStatusLine(std::string_view line) {
  if (line.substr(0, 5) != "HTTP/") return -1;
  size_t sp = line.find(' ');
  if (sp == std::string_view::npos || line.size() < sp + 4) return -1;
  int status = 0;
  for (size_t i = sp + 1; i < sp + 4; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(line[i]))) return -1;
    status = status * 10 + (line[i] - '0');
  }
  if (line.size() > sp + 4 && line[sp + 4] != ' ' && line[sp + 4] != '\r') return -1;
  return status;
}

ProbeReport report(ProbeResult result, std::string detail) {
  ProbeReport r;
  r.result = result;
  r.detail = std::move(detail);
  return r;
}

std::string connectDetail(const ProbeTarget& t, int status) {
  return "Failed to connect to " + t.connect_host + " port " + std::to_string(t.spec.port) + ": " +
         uv_strerror(status);
}

}  // namespace

PlainProber::PlainProber(uv_loop_t* loop, Callback callback) : loop_(loop), callback_(std::move(callback)) {}

PlainProber::~PlainProber() { close(); }

bool PlainProber::handles(const ProbeTarget& t) {
  if (t.spec.scheme != policy::ProbeScheme::Http && t.spec.scheme != policy::ProbeScheme::Tcp) return false;
  return IpAddress::parse(t.connect_host).ok();
}

void PlainProber::start(uint64_t id, const ProbeTarget& t) {
  auto* p = new Probe;
  p->id = id;
  p->owner = this;
  p->target = t;
  p->started_ms = uv_now(loop_);
  uv_tcp_init(loop_, &p->tcp);
  uv_timer_init(loop_, &p->timer);
  p->tcp.data = p->timer.data = p->connect.data = p->write.data = p;
  probes_[id] = p;

  sockaddr_storage addr{};
  int rc = t.connect_host.find(':') == std::string::npos
               ? uv_ip4_addr(t.connect_host.c_str(), t.spec.port, reinterpret_cast<sockaddr_in*>(&addr))
               : uv_ip6_addr(t.connect_host.c_str(), t.spec.port, reinterpret_cast<sockaddr_in6*>(&addr));
  if (rc == 0) rc = uv_tcp_connect(&p->connect, &p->tcp, reinterpret_cast<sockaddr*>(&addr), &PlainProber::onConnect);
  if (rc != 0) {
    // Never call back from inside start(): the caller has not recorded the id yet.
    p->has_early_report = true;
    p->early.result = ProbeResult::ConnectError;
    p->early.detail = connectDetail(t, rc);
    uv_timer_start(&p->timer, &PlainProber::onTimeout, 0, 0);
    return;
  }
  uv_timer_start(&p->timer, &PlainProber::onTimeout, static_cast<uint64_t>(t.spec.timeout.count()), 0);
}

void PlainProber::cancel(uint64_t id) {
  auto it = probes_.find(id);
  if (it == probes_.end()) return;
  Probe* p = it->second;
  probes_.erase(it);
  p->done = true;
  release(p);
}

void PlainProber::close() {
  if (closed_) return;
  closed_ = true;
  while (!probes_.empty()) cancel(probes_.begin()->first);
}

void PlainProber::finish(Probe* p, ProbeReport report) {
  if (p->done) return;
  p->done = true;
  report.seconds = static_cast<double>(uv_now(loop_) - p->started_ms) / 1000.0;
  uint64_t id = p->id;
  probes_.erase(id);
  release(p);
  callback_(id, report);
}

void PlainProber::release(Probe* p) {
  // Closing the TCP handle cancels a pending connect or write; their callbacks
  // run (with UV_ECANCELED, ignored since `done`) before the close callback.
  auto closed = [](uv_handle_t* h) {
    auto* probe = static_cast<Probe*>(h->data);
    if (--probe->open_handles == 0) delete probe;
  };
  uv_close(reinterpret_cast<uv_handle_t*>(&p->tcp), closed);
  uv_close(reinterpret_cast<uv_handle_t*>(&p->timer), closed);
}

void PlainProber::onConnect(uv_connect_t* req, int status) {
  auto* p = static_cast<Probe*>(req->data);
  if (p->done) return;
  PlainProber* self = p->owner;
  if (status < 0) {
    self->finish(p, report(ProbeResult::ConnectError, connectDetail(p->target, status)));
    return;
  }
  if (p->target.spec.scheme == policy::ProbeScheme::Tcp) {
    self->finish(p, report(ProbeResult::Ok, ""));  // tcp: connecting is the whole check
    return;
  }
  p->request = buildRequest(p->target);
  uv_buf_t buf = uv_buf_init(p->request.data(), static_cast<unsigned>(p->request.size()));
  auto* stream = reinterpret_cast<uv_stream_t*>(&p->tcp);
  int rc = uv_write(&p->write, stream, &buf, 1, &PlainProber::onWrite);
  if (rc == 0) rc = uv_read_start(stream, &PlainProber::onAlloc, &PlainProber::onRead);
  if (rc != 0) self->finish(p, report(ProbeResult::ConnectError, std::string("Send failure: ") + uv_strerror(rc)));
}

void PlainProber::onWrite(uv_write_t* req, int status) {
  auto* p = static_cast<Probe*>(req->data);
  if (p->done || status >= 0) return;
  p->owner->finish(p, report(ProbeResult::ConnectError, std::string("Send failure: ") + uv_strerror(status)));
}

void PlainProber::onAlloc(uv_handle_t* h, size_t, uv_buf_t* buf) {
  auto* p = static_cast<Probe*>(h->data);
  *buf = uv_buf_init(p->in + p->used, static_cast<unsigned>(sizeof p->in - p->used));
}

void PlainProber::onRead(uv_stream_t* s, ssize_t nread, const uv_buf_t*) {
  auto* p = static_cast<Probe*>(s->data);
  if (p->done) return;
  PlainProber* self = p->owner;
  if (nread < 0) {
    if (p->used == 0) {
      std::string detail = nread == UV_EOF ? "Empty reply from server"
                                           : std::string("Recv failure: ") + uv_strerror(static_cast<int>(nread));
      self->finish(p, report(ProbeResult::ConnectError, detail));
    } else {
      self->finish(p, report(ProbeResult::HttpError, "Incomplete HTTP status line"));
    }
    return;
  }
  p->used += static_cast<size_t>(nread);
  std::string_view got(p->in, p->used);
  size_t eol = got.find('\n');
  if (eol == std::string_view::npos && p->used < sizeof p->in) {
    // Not a line yet; but a reply that cannot become "HTTP/" is wrong already.
    if (got.substr(0, 5) != std::string_view("HTTP/").substr(0, std::min<size_t>(5, got.size())))
      self->finish(p, report(ProbeResult::HttpError, "Unsupported HTTP response"));
    return;
  }
  int status = eol == std::string_view::npos ? -1 : parseStatusLine(got.substr(0, eol));
  if (status < 0) {
    self->finish(p, report(ProbeResult::HttpError, "Unsupported HTTP response"));
    return;
  }
  ProbeReport r;
  r.http_status = status;
  const auto& spec = p->target.spec;
  r.result = classifyStatus(spec, status);
  r.detail = "HTTP " + std::to_string(status);
  self->finish(p, std::move(r));
}

void PlainProber::onTimeout(uv_timer_t* t) {
  auto* p = static_cast<Probe*>(t->data);
  if (p->done) return;
  if (p->has_early_report) {
    p->owner->finish(p, p->early);
    return;
  }
  p->owner->finish(p, report(ProbeResult::Timeout, "Operation timed out after " + std::to_string(p->target.spec.timeout.count()) +
                           " milliseconds"));
}

}  // namespace switchyard::health
