// TlsIdentity: the admin listener's certificate chain and private key
// (admin.tls), replaceable at a reload while handshakes go on, so a rotated
// certificate (cert-manager, ACME) is picked up without a restart.
//
// The SSL_CTX gets no certificate of its own: a certificate callback hands
// each new connection the current pair (SSL_use_cert_and_key on that
// connection only), so swapping the pair never touches an SSL_CTX another
// thread is using.
// Thread safety: load()/reload() on the control thread; the callback runs on
// httplib's threads and takes the pair under a mutex (admin handshakes only,
// never the DNS path).
// Invariants:
//   1. The current pair always loaded and matched (key fits the leaf
//      certificate); a reload that fails keeps the previous pair.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "common/result.h"

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;

namespace switchyard::control {

class TlsIdentity {
 public:
  // Reads the PEM files: the leaf certificate first, then its chain; the key
  // in PKCS#8 or traditional form, unencrypted.
  static Result<std::shared_ptr<TlsIdentity>> load(const std::string& cert_file, const std::string& key_file);
  ~TlsIdentity();

  // Replaces the pair from the files; on error keeps the current one.
  Result<bool> reload(const std::string& cert_file, const std::string& key_file);
  // Sets up a server context: TLS 1.2 at least, the certificate callback.
  bool configure(SSL_CTX& ctx);
  // "CN=..., expires 2027-01-01" of the current pair, for the log.
  std::string describe() const;

  struct Pair;

 private:
  TlsIdentity() = default;
  static int certificateCallback(SSL* ssl, void* self);

  mutable std::mutex mu_;
  std::shared_ptr<const Pair> current_;
};

}  // namespace switchyard::control
