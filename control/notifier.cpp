#include "control/notifier.h"

#include <spdlog/spdlog.h>

#include <cstring>

#include "dns/notify_message.h"
#include "dns/socket_util.h"

namespace switchyard::control {

struct Notifier::Target {
  Notifier* owner = nullptr;
  SocketAddress address;
  std::vector<uint8_t> message;
  uint16_t id = 0;
  uint32_t serial = 0;
  int attempts = 0;
  bool acked = true;
  uv_timer_t timer{};
};

Notifier::Notifier(uv_loop_t* loop) : loop_(loop) {}

Notifier::~Notifier() { close(); }

void Notifier::close() {
  if (closed_) return;
  closed_ = true;
  for (auto& t : targets_) {
    Target* raw = t.release();
    uv_close(reinterpret_cast<uv_handle_t*>(&raw->timer), [](uv_handle_t* h) { delete static_cast<Target*>(h->data); });
  }
  targets_.clear();
  for (auto* s : {v4_.release(), v6_.release()})
    if (s) uv_close(reinterpret_cast<uv_handle_t*>(s), [](uv_handle_t* h) { delete reinterpret_cast<uv_udp_t*>(h); });
}

uv_udp_t* Notifier::socketFor(bool v4) {
  auto& slot = v4 ? v4_ : v6_;
  if (slot) return slot.get();
  slot = std::make_unique<uv_udp_t>();
  uv_udp_init(loop_, slot.get());
  slot->data = this;
  // Bind to an ephemeral port of the family, then listen for answers.
  SocketAddress any{IpAddress::parse(v4 ? "0.0.0.0" : "::").value(), 0};
  socklen_t len = 0;
  sockaddr_storage ss = dns::toSockaddr(any, len);
  uv_udp_bind(slot.get(), reinterpret_cast<sockaddr*>(&ss), 0);
  uv_udp_recv_start(
      slot.get(),
      [](uv_handle_t* h, size_t, uv_buf_t* buf) {
        auto* self = static_cast<Notifier*>(h->data);
        *buf = uv_buf_init(self->rx_, sizeof self->rx_);
      },
      &Notifier::onRead);
  return slot.get();
}

void Notifier::notify(const policy::Topology& topology, uint32_t serial) {
  if (closed_) return;
  // Targets follow the topology (a reload may change them).
  while (targets_.size() > topology.announce.notify.size()) {
    Target* raw = targets_.back().release();
    targets_.pop_back();
    uv_close(reinterpret_cast<uv_handle_t*>(&raw->timer), [](uv_handle_t* h) { delete static_cast<Target*>(h->data); });
  }
  while (targets_.size() < topology.announce.notify.size()) {
    auto t = std::make_unique<Target>();
    t->owner = this;
    uv_timer_init(loop_, &t->timer);
    t->timer.data = t.get();
    targets_.push_back(std::move(t));
  }
  for (size_t i = 0; i < targets_.size(); ++i) {
    Target& t = *targets_[i];
    t.address = topology.announce.notify[i];
    t.id = static_cast<uint16_t>(rng_());
    t.serial = serial;
    t.message = dns::buildNotify(topology, serial, t.id);
    t.attempts = 0;
    t.acked = false;
    send(t);
  }
}

void Notifier::send(Target& t) {
  ++t.attempts;
  socklen_t len = 0;
  sockaddr_storage ss = dns::toSockaddr(t.address, len);
  uv_buf_t buf = uv_buf_init(reinterpret_cast<char*>(t.message.data()), static_cast<unsigned>(t.message.size()));
  int rc = uv_udp_try_send(socketFor(t.address.address.isV4()), &buf, 1, reinterpret_cast<sockaddr*>(&ss));
  if (rc < 0) spdlog::warn("event=notify_send_failed target={} error={}", t.address.toString(), uv_strerror(rc));
  uv_timer_start(&t.timer, [](uv_timer_t* timer) {
    auto* target = static_cast<Target*>(timer->data);
    if (target->acked) return;
    if (target->attempts >= kMaxAttempts) {
      spdlog::warn("event=notify_unanswered target={} serial={} attempts={}", target->address.toString(),
                   target->serial, target->attempts);
      return;
    }
    target->owner->send(*target);
  }, 1000u << (t.attempts - 1), 0);
}

void Notifier::onRead(uv_udp_t* h, ssize_t nread, const uv_buf_t* buf, const sockaddr* addr, unsigned) {
  if (nread <= 0 || !addr) return;
  auto* self = static_cast<Notifier*>(h->data);
  IpAddress from = dns::toIpAddress(addr).unmapped();
  for (auto& t : self->targets_) {
    if (t->acked || !(t->address.address == from) ||
        !dns::isNotifyResponse(reinterpret_cast<const uint8_t*>(buf->base), static_cast<size_t>(nread), t->id))
      continue;
    t->acked = true;
    uv_timer_stop(&t->timer);
    spdlog::info("event=notify_acked target={} serial={} attempts={}", t->address.toString(), t->serial, t->attempts);
  }
}

}  // namespace switchyard::control
