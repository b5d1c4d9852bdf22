#include "dns/dns_worker.h"

#include "common/thread_name.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "dns/responder.h"
#include "dns/socket_util.h"
#include "dns/wire.h"

namespace switchyard::dns {

struct DnsWorker::TcpConnection {
  uv_tcp_t tcp{};
  uv_timer_t idle{};
  DnsWorker* worker = nullptr;
  std::list<TcpConnection*>::iterator self;
  std::vector<uint8_t> in;
  size_t used = 0;
  IpAddress peer;
  uint64_t deadline_ms = 0;     // loop time at which the connection's lifetime ends
  uint64_t last_active_ms = 0;  // loop time of the accept or the last read
  int open_handles = 2;
  bool closing = false;
  bool paused = false;  // not reading: its unsent answers are above kPauseAbove
};

namespace {
constexpr size_t kMaxTcpMessage = 2 + 65535;
// Backpressure: a connection whose unsent answers pass kPauseAbove bytes is
// not read (nor are its buffered queries answered) until they drop to
// kResumeBelow. A client that pipelines and never reads then waits in TCP,
// and costs at most about kPauseAbove + kFlushAt + one answer (unsent) plus
// its input buffer: ~160 KiB.
constexpr size_t kPauseAbove = 16 * 1024;
constexpr size_t kResumeBelow = 4 * 1024;
// The answers to one read's pipelined queries go out in writes of about this
// size (one system call and one allocation per write, not per answer).
constexpr size_t kFlushAt = 16 * 1024;

struct WriteRequest {
  uv_write_t req;
  uint8_t data[1];  // allocated with the message behind it
};
}  // namespace

DnsWorker::DnsWorker(AnswerPublisher& publisher, std::vector<int> tcp_fds, WorkerOptions options)
    : options_(options) {
  batch_.reserve(kFlushAt + kMaxTcpMessage);
  uv_loop_init(&loop_);
  loop_.data = this;
  uv_async_init(&loop_, &wake_, &DnsWorker::onWake);
  uv_async_init(&loop_, &stop_, &DnsWorker::onStop);
  wake_.data = stop_.data = this;
  for (int fd : tcp_fds) {
    auto h = std::make_unique<uv_tcp_t>();
    uv_tcp_init(&loop_, h.get());
    uv_tcp_open(h.get(), fd);
    h->data = this;
    listeners_.push_back(std::move(h));
  }
  reader_ = &publisher.addReader([this] { uv_async_send(&wake_); });
}

DnsWorker::~DnsWorker() {
  stop();
  uv_loop_close(&loop_);
}

void DnsWorker::start() {
  for (auto& h : listeners_) uv_listen(reinterpret_cast<uv_stream_t*>(h.get()), 1024, &DnsWorker::onAccept);
  started_ = true;
  thread_ = std::thread([this] { run(); });
}

void DnsWorker::run() {
  nameThisThread("sy-tcp");
  uv_run(&loop_, UV_RUN_DEFAULT);
}

void DnsWorker::stop() {
  if (!started_) {
    // Never ran: close the handles on this thread and drain them.
    if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(&stop_))) {
      onStop(&stop_);
      uv_run(&loop_, UV_RUN_DEFAULT);
    }
    return;
  }
  uv_async_send(&stop_);
  if (thread_.joinable()) thread_.join();
  started_ = false;
}

void DnsWorker::onWake(uv_async_t* h) { static_cast<DnsWorker*>(h->data)->reader_->refresh(); }

void DnsWorker::onStop(uv_async_t* h) {
  auto* w = static_cast<DnsWorker*>(h->data);
  for (auto& l : w->listeners_) uv_close(reinterpret_cast<uv_handle_t*>(l.get()), nullptr);
  for (auto it = w->connections_.begin(); it != w->connections_.end();) w->closeConnection(*it++);
  uv_close(reinterpret_cast<uv_handle_t*>(&w->wake_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&w->stop_), nullptr);
}

void DnsWorker::onAccept(uv_stream_t* server, int status) {
  if (status < 0) return;
  auto* w = static_cast<DnsWorker*>(server->data);
  auto* c = new TcpConnection;
  c->worker = w;
  uv_tcp_init(&w->loop_, &c->tcp);
  uv_timer_init(&w->loop_, &c->idle);
  c->tcp.data = c->idle.data = c;
  c->self = w->connections_.insert(w->connections_.end(), c);
  if (uv_accept(server, reinterpret_cast<uv_stream_t*>(&c->tcp)) != 0) {
    w->closeConnection(c);
    return;
  }
  uint64_t now = uv_now(&w->loop_);
  c->last_active_ms = now;
  sockaddr_storage ss{};
  int len = sizeof ss;
  uv_tcp_getpeername(&c->tcp, reinterpret_cast<sockaddr*>(&ss), &len);
  c->peer = toIpAddress(reinterpret_cast<sockaddr*>(&ss));
  bool refuse = false;
  if (w->connections_.size() > w->options_.max_tcp) {
    // Make room by closing the connection that has been quiet longest,
    // unless even that one arrived in this same loop turn (a burst larger
    // than the cap): it has not had a chance to be read yet, so the new one
    // goes instead.
    TcpConnection* quietest = w->connections_.front();
    if (quietest->last_active_ms < now) w->closeConnection(quietest);
    else refuse = true;
    WorkerStats::bump(w->stats_.tcp_evicted);
  }
  // A real client sends its query right after connecting, so it is usually
  // here already: answer it now, before a flood can push this connection out.
  w->readNow(*c);
  if (c->closing) return;
  if (refuse) {
    w->closeConnection(c);
    return;
  }
  c->deadline_ms = now + static_cast<uint64_t>(w->options_.tcp_lifetime.count());
  w->armTimer(*c);
  if (!c->paused) uv_read_start(reinterpret_cast<uv_stream_t*>(&c->tcp), &DnsWorker::onTcpAlloc, &DnsWorker::onTcpRead);
}

void DnsWorker::readNow(TcpConnection& c) {
  uv_os_fd_t fd;
  if (uv_fileno(reinterpret_cast<uv_handle_t*>(&c.tcp), &fd) != 0) return;
  uv_buf_t buf;
  onTcpAlloc(reinterpret_cast<uv_handle_t*>(&c.tcp), 0, &buf);
  ssize_t n = recv(fd, buf.base, buf.len, MSG_DONTWAIT);
  if (n == 0) {
    closeConnection(&c);  // connected, sent nothing, closed
  } else if (n > 0) {
    c.used += static_cast<size_t>(n);
    serveTcp(c);
  }
}

void DnsWorker::onTcpAlloc(uv_handle_t* h, size_t, uv_buf_t* buf) {
  auto* c = static_cast<TcpConnection*>(h->data);
  if (c->in.size() - c->used < 4096 && c->in.size() < kMaxTcpMessage)
    c->in.resize(std::min(kMaxTcpMessage, std::max<size_t>(c->in.size() * 2, 8192)));
  *buf = uv_buf_init(reinterpret_cast<char*>(c->in.data() + c->used),
                     static_cast<unsigned>(c->in.size() - c->used));
}

void DnsWorker::onTcpRead(uv_stream_t* h, ssize_t nread, const uv_buf_t*) {
  auto* c = static_cast<TcpConnection*>(h->data);
  if (nread < 0) {
    c->worker->closeConnection(c);
    return;
  }
  c->used += static_cast<size_t>(nread);
  c->last_active_ms = uv_now(&c->worker->loop_);
  auto& list = c->worker->connections_;
  list.splice(list.end(), list, c->self);  // most recently active last
  c->worker->armTimer(*c);
  c->worker->serveTcp(*c);
}

void DnsWorker::serveTcp(TcpConnection& c) {
  auto* stream = reinterpret_cast<uv_stream_t*>(&c.tcp);
  size_t pos = 0;
  batch_.clear();
  while (!c.closing && c.used - pos >= 2) {
    if (batch_.size() >= kFlushAt && !flush(c)) return;
    if (uv_stream_get_write_queue_size(stream) > kPauseAbove) {
      // The client is not taking its answers: stop reading (what is
      // buffered waits too) until onWritten() sees the queue drain.
      if (!c.paused) uv_read_stop(stream);
      c.paused = true;
      WorkerStats::bump(stats_.tcp_paused);
      break;
    }
    size_t len = readU16(c.in.data() + pos);
    if (c.used - pos < 2 + len) break;
    const AnswerSet* set = reader_->current();
    ResponseInfo info;
    // At most 65535: the length must fit the two-byte prefix.
    size_t n = set ? respond(*set, c.in.data() + pos + 2, len, c.peer, Transport::Tcp, query_, tx_, sizeof tx_ - 1, &info)
                   : 0;
    pos += 2 + len;
    if (n == 0) {
      WorkerStats::bump(stats_.dropped);
      continue;
    }
    stats_.count(info, Transport::Tcp);
    uint8_t prefix[2];
    writeU16(prefix, static_cast<uint16_t>(n));
    batch_.insert(batch_.end(), prefix, prefix + 2);
    batch_.insert(batch_.end(), tx_, tx_ + n);
  }
  if (c.closing || !flush(c)) return;
  std::memmove(c.in.data(), c.in.data() + pos, c.used - pos);
  c.used -= pos;
}

bool DnsWorker::flush(TcpConnection& c) {
  if (batch_.empty()) return true;
  auto* req = static_cast<WriteRequest*>(std::malloc(sizeof(WriteRequest) + batch_.size()));
  std::memcpy(req->data, batch_.data(), batch_.size());
  uv_buf_t out = uv_buf_init(reinterpret_cast<char*>(req->data), static_cast<unsigned>(batch_.size()));
  batch_.clear();
  if (uv_write(&req->req, reinterpret_cast<uv_stream_t*>(&c.tcp), &out, 1, &DnsWorker::onWritten) != 0) {
    std::free(req);
    closeConnection(&c);
    return false;
  }
  return true;
}

void DnsWorker::onWritten(uv_write_t* r, int status) {
  uv_stream_t* stream = r->handle;
  std::free(r);
  auto* c = static_cast<TcpConnection*>(stream->data);  // alive: write callbacks run before the close callback
  if (status < 0) {
    // Cancelled by our close, or the peer is gone: a paused connection reads
    // nothing, so this is the only place that learns it.
    if (!c->closing) c->worker->closeConnection(c);
    return;
  }
  if (!c->paused || c->closing || uv_stream_get_write_queue_size(stream) > kResumeBelow) return;
  // Drained: answer what is buffered, then read on unless that refilled it.
  c->paused = false;
  c->worker->serveTcp(*c);
  if (!c->paused && !c->closing) uv_read_start(stream, &DnsWorker::onTcpAlloc, &DnsWorker::onTcpRead);
}

void DnsWorker::armTimer(TcpConnection& c) {
  uint64_t now = uv_now(&loop_);
  uint64_t left = c.deadline_ms > now ? c.deadline_ms - now : 0;
  uint64_t idle = static_cast<uint64_t>(options_.tcp_idle.count());
  uv_timer_start(&c.idle, &DnsWorker::onIdle, std::min(idle, left), 0);
}

void DnsWorker::onIdle(uv_timer_t* t) {
  auto* c = static_cast<TcpConnection*>(t->data);
  c->worker->closeConnection(c);
}

void DnsWorker::closeConnection(TcpConnection* c) {
  if (c->closing) return;
  c->closing = true;
  connections_.erase(c->self);
  auto done = [](uv_handle_t* h) {
    auto* conn = static_cast<TcpConnection*>(h->data);
    if (--conn->open_handles == 0) delete conn;
  };
  uv_close(reinterpret_cast<uv_handle_t*>(&c->idle), done);
  uv_close(reinterpret_cast<uv_handle_t*>(&c->tcp), done);
}

}  // namespace switchyard::dns
