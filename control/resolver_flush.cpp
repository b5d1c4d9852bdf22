#include "control/resolver_flush.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include <curl/curl.h>

#include "common/ip_address.h"
#include "dns/socket_util.h"

namespace switchyard::control {

namespace {

using Clock = std::chrono::steady_clock;

FlushOutcome failure(const char* reason, std::string detail) { return {false, reason, std::move(detail)}; }

int remainingMs(Clock::time_point deadline) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return ms < 0 ? 0 : static_cast<int>(ms);
}

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// Connects to an absolute unix socket path or ADDRESS@PORT before `deadline`.
FlushOutcome connectTo(const std::string& target, Clock::time_point deadline, Fd& out) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (!target.empty() && target.front() == '/') {
    auto* un = reinterpret_cast<sockaddr_un*>(&ss);
    if (target.size() >= sizeof un->sun_path) return failure("connect", "socket path too long: " + target);
    un->sun_family = AF_UNIX;
    std::memcpy(un->sun_path, target.c_str(), target.size() + 1);
    len = sizeof(sockaddr_un);
  } else {
    auto at = target.rfind('@');
    auto ip = IpAddress::parse(target.substr(0, at));
    if (at == std::string::npos || !ip) return failure("connect", "not ADDRESS@PORT: " + target);
    ss = dns::toSockaddr(SocketAddress{*ip, static_cast<uint16_t>(std::stoi(target.substr(at + 1)))}, len);
  }
  out.fd = ::socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (out.fd < 0) return failure("connect", std::string("socket: ") + std::strerror(errno));
  if (::connect(out.fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    if (errno != EINPROGRESS) return failure("connect", target + ": " + std::strerror(errno));
    pollfd p{out.fd, POLLOUT, 0};
    int n;
    do n = ::poll(&p, 1, remainingMs(deadline));
    while (n < 0 && errno == EINTR);
    if (n == 0) return failure("timeout", target + ": no connection within the timeout");
    int err = 0;
    socklen_t el = sizeof err;
    ::getsockopt(out.fd, SOL_SOCKET, SO_ERROR, &err, &el);
    if (n < 0 || err != 0) return failure("connect", target + ": " + std::strerror(n < 0 ? errno : err));
  }
  return {true, "", ""};
}

// A byte stream over a plain socket or TLS, every step bounded by the deadline.
class Stream {
 public:
  Stream(int fd, SSL* ssl, Clock::time_point deadline) : fd_(fd), ssl_(ssl), deadline_(deadline) {}

  FlushOutcome writeAll(const std::string& data) {
    size_t done = 0;
    while (done < data.size()) {
      if (ssl_) ERR_clear_error();  // SSL_get_error reads this thread's queue: only this call's errors
      ssize_t n = ssl_ ? SSL_write(ssl_, data.data() + done, static_cast<int>(data.size() - done))
                       : ::send(fd_, data.data() + done, data.size() - done, MSG_NOSIGNAL);
      if (n > 0) {
        done += static_cast<size_t>(n);
        continue;
      }
      auto waited = wait(n, true);
      if (!waited.ok) return waited;
    }
    return {true, "", ""};
  }
  // Appends what arrives to `out` until EOF or `enough(out)`.
  template <typename Enough>
  FlushOutcome readUntil(std::string& out, Enough enough) {
    char buf[4096];
    while (!enough(out)) {
      if (ssl_) ERR_clear_error();
      ssize_t n = ssl_ ? SSL_read(ssl_, buf, sizeof buf) : ::recv(fd_, buf, sizeof buf, 0);
      if (n > 0) {
        out.append(buf, static_cast<size_t>(n));
        if (out.size() > (1u << 20)) return failure("protocol", "more than 1 MiB of reply");
        continue;
      }
      if (n == 0 && !ssl_) return {true, "", ""};  // EOF
      if (ssl_ && n <= 0 && SSL_get_error(ssl_, static_cast<int>(n)) == SSL_ERROR_ZERO_RETURN) return {true, "", ""};
      auto waited = wait(n, false);
      if (!waited.ok) return waited;
    }
    return {true, "", ""};
  }

 private:
  // After a short read or write: wait for the socket, or say why not.
  FlushOutcome wait(ssize_t n, bool writing) {
    short events = writing ? POLLOUT : POLLIN;
    if (ssl_) {
      int e = SSL_get_error(ssl_, static_cast<int>(n));
      if (e == SSL_ERROR_WANT_READ) events = POLLIN;
      else if (e == SSL_ERROR_WANT_WRITE) events = POLLOUT;
      else if (e == SSL_ERROR_SYSCALL && n == 0 && !writing) return {true, "", ""};  // EOF without close_notify
      else {
        unsigned long code = ERR_get_error();
        char text[256];
        ERR_error_string_n(code, text, sizeof text);
        return failure("tls", code ? text : "the TLS connection failed");
      }
    } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      return failure("connect", std::strerror(errno));
    }
    pollfd p{fd_, events, 0};
    int r = ::poll(&p, 1, remainingMs(deadline_));
    if (r == 0) return failure("timeout", writing ? "could not send within the timeout" : "no answer within the timeout");
    if (r < 0 && errno != EINTR) return failure("connect", std::strerror(errno));
    return {true, "", ""};
  }

  int fd_;
  SSL* ssl_;
  Clock::time_point deadline_;
};

struct SslDeleter {
  void operator()(SSL* s) const { SSL_free(s); }
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};

std::string sslError(const char* what) {
  char text[256];
  ERR_error_string_n(ERR_get_error(), text, sizeof text);
  return std::string(what) + ": " + text;
}

FlushOutcome unbound(const policy::CachingResolver& r, const std::string& name, bool subtree,
                     Clock::time_point deadline) {
  Fd fd;
  if (auto c = connectTo(r.control, deadline, fd); !c.ok) return c;
  std::unique_ptr<SSL_CTX, SslDeleter> ctx;
  std::unique_ptr<SSL, SslDeleter> ssl;
  if (!r.tls_server_cert.empty()) {
    ERR_clear_error();  // a failed earlier attempt's errors would name the wrong step
    ctx.reset(SSL_CTX_new(TLS_client_method()));
    if (!ctx) return failure("tls", sslError("SSL_CTX_new"));
    // OpenSSL 3 reports a close without close_notify as SSL_ERROR_SSL; the
    // reply is complete at EOF either way.
    SSL_CTX_set_options(ctx.get(), SSL_OP_IGNORE_UNEXPECTED_EOF);
    // unbound-control's own rule: the server's self-signed certificate is
    // the only trust anchor, and our client certificate is what it checks.
    if (SSL_CTX_load_verify_locations(ctx.get(), r.tls_server_cert.c_str(), nullptr) != 1)
      return failure("tls", sslError(("server_cert " + r.tls_server_cert).c_str()));
    if (SSL_CTX_use_certificate_chain_file(ctx.get(), r.tls_client_cert.c_str()) != 1)
      return failure("tls", sslError(("client_cert " + r.tls_client_cert).c_str()));
    if (SSL_CTX_use_PrivateKey_file(ctx.get(), r.tls_client_key.c_str(), SSL_FILETYPE_PEM) != 1)
      return failure("tls", sslError(("client_key " + r.tls_client_key).c_str()));
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
    ssl.reset(SSL_new(ctx.get()));
    SSL_set_fd(ssl.get(), fd.fd);
    while (true) {
      ERR_clear_error();
      int rc = SSL_connect(ssl.get());
      if (rc == 1) break;
      int e = SSL_get_error(ssl.get(), rc);
      if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) return failure("tls", sslError("TLS handshake"));
      pollfd p{fd.fd, static_cast<short>(e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT), 0};
      int n;
      do n = ::poll(&p, 1, remainingMs(deadline));
      while (n < 0 && errno == EINTR);
      if (n == 0) return failure("timeout", "TLS handshake within the timeout");
      if (n < 0) return failure("connect", std::string("poll: ") + std::strerror(errno));
    }
  }
  Stream s(fd.fd, ssl.get(), deadline);
  if (auto w = s.writeAll("UBCT1 " + std::string(subtree ? "flush_zone " : "flush ") + name + "\n"); !w.ok) return w;
  std::string reply;
  if (auto rd = s.readUntil(reply, [](const std::string&) { return false; }); !rd.ok) return rd;
  while (!reply.empty() && (reply.back() == '\n' || reply.back() == '\r')) reply.pop_back();
  // flush answers "ok"; flush_zone "ok removed N rrsets, ...".
  if (reply == "ok" || reply.rfind("ok ", 0) == 0) return {true, "", reply};
  if (reply.empty()) return failure("protocol", "the control connection closed without an answer");
  return failure("refused", reply);
}

FlushOutcome knot(const policy::CachingResolver& r, const std::string& name, bool subtree,
                  Clock::time_point deadline) {
  Fd fd;
  if (auto c = connectTo(r.socket, deadline, fd); !c.ok) return c;
  Stream s(fd.fd, nullptr, deadline);
  // Names here are our own (letters, digits, '-', '.'), so quoting is safe;
  // exact_name=true drops the name's records only, false its whole subtree.
  std::string command = "__binary\ncache.clear('" + name + "', " + (subtree ? "false" : "true") + ")\n";
  if (auto w = s.writeAll(command); !w.ok) return w;
  // kresd greets with "> " before binary mode; then each answer is a 4-byte
  // big-endian length and the printed result.
  std::string reply;
  auto complete = [](const std::string& text) {
    size_t at = text.rfind("> ", 0) == 0 ? 2 : 0;
    if (text.size() < at + 4) return false;
    uint32_t len = (uint32_t(uint8_t(text[at])) << 24) | (uint32_t(uint8_t(text[at + 1])) << 16) |
                   (uint32_t(uint8_t(text[at + 2])) << 8) | uint32_t(uint8_t(text[at + 3]));
    return text.size() >= at + 4 + len;
  };
  if (auto rd = s.readUntil(reply, complete); !rd.ok) return rd;
  if (!complete(reply)) return failure("protocol", "kresd closed the control socket mid-answer");
  std::string body = reply.substr((reply.rfind("> ", 0) == 0 ? 2 : 0) + 4);
  if (body.find("['count']") != std::string::npos) return {true, "", ""};
  return failure("refused", body.substr(0, 300));
}

size_t appendBody(char* data, size_t size, size_t count, void* out) {
  auto* body = static_cast<std::string*>(out);
  if (body->size() + size * count > (1u << 20)) return 0;  // more than 1 MiB: not the recursor's answer
  body->append(data, size * count);
  return size * count;
}

// libcurl, not httplib: CURLOPT_TIMEOUT_MS bounds the whole request, name
// lookup included (httplib bounds each read and write, so a server that
// trickles bytes, or a lookup that hangs, would outlast the deadline).
FlushOutcome pdns(const policy::CachingResolver& r, const std::string& name, bool subtree,
                  std::chrono::milliseconds timeout) {
  // The recursor wants the name canonical (with the root dot).
  std::string url = r.url + "/api/v1/servers/localhost/cache/flush?domain=" + name + "." + (subtree ? "&subtree=true" : "");
  std::string key = "X-API-Key: " + r.api_key;
  std::string body;
  char error[CURL_ERROR_SIZE] = "";
  // Declared after what it points at, so it is cleaned up first.
  std::unique_ptr<curl_slist, void (*)(curl_slist*)> headers(curl_slist_append(nullptr, key.c_str()), curl_slist_free_all);
  std::unique_ptr<CURL, void (*)(CURL*)> easy(curl_easy_init(), curl_easy_cleanup);
  if (!easy || !headers) return failure("connect", "curl_easy_init failed");
  CURL* h = easy.get();
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "PUT");
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");  // an empty body, with its Content-Length: 0
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, 0L);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);  // a sender thread: no SIGALRM for lookups
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  // The key goes to the configured server only: no redirect, and no proxy
  // from the environment (http_proxy would otherwise get the header).
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_PROXY, "");
  // At the timeout, leave a hung name lookup's thread behind instead of
  // waiting for getaddrinfo's own (resolv.conf) timeouts.
  curl_easy_setopt(h, CURLOPT_QUICK_EXIT, 1L);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, appendBody);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error);
  if (!r.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, r.ca_file.c_str());
  CURLcode rc = curl_easy_perform(h);
  if (rc != CURLE_OK) {
    const char* reason = "connect";
    switch (rc) {
      case CURLE_OPERATION_TIMEDOUT: reason = "timeout"; break;
      case CURLE_SSL_CONNECT_ERROR:
      case CURLE_PEER_FAILED_VERIFICATION:
      case CURLE_SSL_CACERT_BADFILE:
      case CURLE_SSL_CERTPROBLEM:
      case CURLE_SSL_CIPHER:
      case CURLE_SSL_ISSUER_ERROR:
      case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
      case CURLE_SSL_CRL_BADFILE: reason = "tls"; break;
      case CURLE_WEIRD_SERVER_REPLY:
      case CURLE_GOT_NOTHING:
      case CURLE_WRITE_ERROR: reason = "protocol"; break;
      default: break;
    }
    if (rc == CURLE_WRITE_ERROR) return failure(reason, r.url + ": more than 1 MiB of reply");
    // The URL has no secret (the key travels in a header); curl's message
    // names the host and the step.
    return failure(reason, r.url + ": " + (error[0] ? error : curl_easy_strerror(rc)));
  }
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  if (status == 401 || status == 403) return failure("auth", "HTTP " + std::to_string(status) + " (the API key was refused)");
  if (status != 200) return failure("refused", "HTTP " + std::to_string(status) + " " + body.substr(0, 200));
  if (body.find("\"count\"") == std::string::npos) return failure("protocol", "unexpected answer: " + body.substr(0, 200));
  return {true, "", ""};
}

}  // namespace

FlushOutcome flushResolverCache(const policy::CachingResolver& resolver, const std::string& name, bool subtree,
                                std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  switch (resolver.type) {
    case policy::CachingResolver::Type::PdnsRecursor: return pdns(resolver, name, subtree, timeout);
    case policy::CachingResolver::Type::Unbound: return unbound(resolver, name, subtree, deadline);
    case policy::CachingResolver::Type::KnotResolver: return knot(resolver, name, subtree, deadline);
  }
  return failure("protocol", "unknown resolver type");
}

}  // namespace switchyard::control
