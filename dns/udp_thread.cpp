#include "dns/udp_thread.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/thread_name.h"

namespace switchyard::dns {

UdpThread::UdpThread(AnswerPublisher& publisher, int fd, RateLimiter* limiter)
    : reader_(publisher.addReader(nullptr)), batch_(std::make_unique<UdpBatch>(fd)), limiter_(limiter) {
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  timeval timeout{0, 500'000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  reader_.goOffline();
}

UdpThread::~UdpThread() {
  stop();
  close(batch_->fd());
}

void UdpThread::start() {
  thread_ = std::thread([this] { run(); });
}

void UdpThread::stop() {
  if (!thread_.joinable()) return;
  stopping_.store(true);
  shutdown(batch_->fd(), SHUT_RD);  // wakes recvmmsg (returns 0); ENOTCONN on UDP is expected
  thread_.join();
}

void UdpThread::run() {
  nameThisThread("sy-udp");
  while (!stopping_.load(std::memory_order_relaxed)) {
    unsigned got = batch_->receive();  // offline: may sleep for long
    if (got == 0) continue;
    reader_.goOnline();
    batch_->answer(got, reader_.current(), query_, stats_, limiter_);
    reader_.goOffline();
  }
}

}  // namespace switchyard::dns
