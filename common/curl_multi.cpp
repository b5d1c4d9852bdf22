#include "common/curl_multi.h"

#include <algorithm>

namespace switchyard {

namespace {

struct SocketContext {
  uv_poll_t poll;
  curl_socket_t fd;
  CurlMulti* owner;
  CURLM* multi;
};

}  // namespace

CurlMulti::CurlMulti(uv_loop_t* loop, Done on_done) : loop_(loop), on_done_(std::move(on_done)) {
  multi_ = curl_multi_init();
  uv_timer_init(loop_, &timer_);
  timer_.data = this;
  curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &CurlMulti::onSocket);
  curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
  curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &CurlMulti::onTimer);
  curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
}

CurlMulti::~CurlMulti() { close(); }

void CurlMulti::close() {
  if (closed_) return;
  closed_ = true;
  flushDeferred();  // (not from inside a curl callback: there is no curl left to return to)
  curl_multi_cleanup(multi_);
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), nullptr);
}

void CurlMulti::add(CURL* easy) {
  if (acting_) deferred_adds_.push_back(easy);
  else curl_multi_add_handle(multi_, easy);
}

void CurlMulti::remove(CURL* easy, std::function<void()> release) {
  if (!acting_) {
    curl_multi_remove_handle(multi_, easy);
    if (release) release();
    return;
  }
  if (auto it = std::find(deferred_adds_.begin(), deferred_adds_.end(), easy); it != deferred_adds_.end()) {
    deferred_adds_.erase(it);  // never reached curl
    if (release) release();
    return;
  }
  deferred_removes_.emplace_back(easy, std::move(release));
}

void CurlMulti::act(curl_socket_t fd, int flags) {
  int running = 0;
  acting_ = true;
  curl_multi_socket_action(multi_, fd, flags, &running);
  acting_ = false;
  flushDeferred();
  drain();
}

void CurlMulti::flushDeferred() {
  // Removes first: a removed transfer's finish message goes with it.
  auto removes = std::move(deferred_removes_);
  deferred_removes_.clear();
  for (auto& [easy, release] : removes) {
    curl_multi_remove_handle(multi_, easy);
    if (release) release();
  }
  auto adds = std::move(deferred_adds_);
  deferred_adds_.clear();
  for (CURL* easy : adds) curl_multi_add_handle(multi_, easy);
}

int CurlMulti::onSocket(CURL*, curl_socket_t s, int action, void* userp, void* socketp) {
  auto* self = static_cast<CurlMulti*>(userp);
  auto* ctx = static_cast<SocketContext*>(socketp);
  if (action == CURL_POLL_REMOVE) {
    if (ctx) {
      uv_poll_stop(&ctx->poll);
      uv_close(reinterpret_cast<uv_handle_t*>(&ctx->poll),
               [](uv_handle_t* h) { delete static_cast<SocketContext*>(h->data); });
      curl_multi_assign(self->multi_, s, nullptr);
    }
    return 0;
  }
  if (!ctx) {
    ctx = new SocketContext{{}, s, self, self->multi_};
    uv_poll_init_socket(self->loop_, &ctx->poll, s);
    ctx->poll.data = ctx;
    curl_multi_assign(self->multi_, s, ctx);
  }
  int events = 0;
  if (action & CURL_POLL_IN) events |= UV_READABLE;
  if (action & CURL_POLL_OUT) events |= UV_WRITABLE;
  uv_poll_start(&ctx->poll, events, &CurlMulti::onPoll);
  return 0;
}

int CurlMulti::onTimer(CURLM*, long timeout_ms, void* userp) {
  auto* self = static_cast<CurlMulti*>(userp);
  if (timeout_ms < 0) uv_timer_stop(&self->timer_);
  else uv_timer_start(&self->timer_, &CurlMulti::onTimeout, static_cast<uint64_t>(timeout_ms), 0);
  return 0;
}

void CurlMulti::onPoll(uv_poll_t* handle, int status, int events) {
  auto* ctx = static_cast<SocketContext*>(handle->data);
  CurlMulti* self = ctx->owner;
  int flags = 0;
  if (status < 0) flags = CURL_CSELECT_ERR;
  if (events & UV_READABLE) flags |= CURL_CSELECT_IN;
  if (events & UV_WRITABLE) flags |= CURL_CSELECT_OUT;
  self->act(ctx->fd, flags);
}

void CurlMulti::onTimeout(uv_timer_t* timer) {
  static_cast<CurlMulti*>(timer->data)->act(CURL_SOCKET_TIMEOUT, 0);
}

void CurlMulti::drain() {
  int left = 0;
  while (CURLMsg* msg = curl_multi_info_read(multi_, &left)) {
    if (msg->msg != CURLMSG_DONE) continue;
    on_done_(msg->easy_handle, msg->data.result);
  }
}

}  // namespace switchyard
