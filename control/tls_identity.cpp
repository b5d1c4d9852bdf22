#include "control/tls_identity.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cstdio>

namespace switchyard::control {

struct TlsIdentity::Pair {
  X509* leaf = nullptr;
  STACK_OF(X509)* chain = nullptr;
  EVP_PKEY* key = nullptr;
  ~Pair() {
    X509_free(leaf);
    sk_X509_pop_free(chain, X509_free);
    EVP_PKEY_free(key);
  }
};

namespace {

std::string lastSslError() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "no PEM data";
  char text[256];
  ERR_error_string_n(e, text, sizeof text);
  return text;
}

Result<std::shared_ptr<const TlsIdentity::Pair>> readPair(const std::string& cert_file, const std::string& key_file) {
  auto pair = std::make_shared<TlsIdentity::Pair>();
  ERR_clear_error();
  BIO* bio = BIO_new_file(cert_file.c_str(), "r");
  if (!bio) return makeError("admin.tls.cert_file " + cert_file + ": cannot read");
  pair->leaf = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  if (!pair->leaf) {
    BIO_free(bio);
    return makeError("admin.tls.cert_file " + cert_file + ": not a PEM certificate (" + lastSslError() + ")");
  }
  pair->chain = sk_X509_new_null();
  while (X509* more = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) sk_X509_push(pair->chain, more);
  ERR_clear_error();  // the end of the file reads as an error
  BIO_free(bio);

  bio = BIO_new_file(key_file.c_str(), "r");
  if (!bio) return makeError("admin.tls.key_file " + key_file + ": cannot read");
  // No password callback: an encrypted key fails here instead of prompting.
  pair->key = PEM_read_bio_PrivateKey(bio, nullptr, [](char*, int, int, void*) { return 0; }, nullptr);
  BIO_free(bio);
  if (!pair->key)
    return makeError("admin.tls.key_file " + key_file + ": not an unencrypted PEM private key (" + lastSslError() + ")");
  if (X509_check_private_key(pair->leaf, pair->key) != 1) {
    ERR_clear_error();
    return makeError("admin.tls.key_file " + key_file + " does not belong to the certificate in " + cert_file);
  }
  return std::shared_ptr<const TlsIdentity::Pair>(std::move(pair));
}

}  // namespace

Result<std::shared_ptr<TlsIdentity>> TlsIdentity::load(const std::string& cert_file, const std::string& key_file) {
  auto pair = readPair(cert_file, key_file);
  if (!pair) return Error{pair.error()};
  std::shared_ptr<TlsIdentity> identity(new TlsIdentity());
  identity->current_ = *pair;
  return identity;
}

TlsIdentity::~TlsIdentity() = default;

Result<bool> TlsIdentity::reload(const std::string& cert_file, const std::string& key_file) {
  auto pair = readPair(cert_file, key_file);
  if (!pair) return Error{pair.error()};
  std::lock_guard lock(mu_);
  current_ = *pair;  // connections already set up keep their own references
  return true;
}

bool TlsIdentity::configure(SSL_CTX& ctx) {
  SSL_CTX_set_min_proto_version(&ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(&ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_set_cert_cb(&ctx, &TlsIdentity::certificateCallback, this);
  return true;
}

int TlsIdentity::certificateCallback(SSL* ssl, void* self) {
  auto* identity = static_cast<TlsIdentity*>(self);
  std::shared_ptr<const Pair> pair;
  {
    std::lock_guard lock(identity->mu_);
    pair = identity->current_;
  }
  // The connection takes its own references (override = 1: replace any).
  return SSL_use_cert_and_key(ssl, pair->leaf, pair->key, pair->chain, 1) == 1 ? 1 : 0;
}

std::string TlsIdentity::describe() const {
  std::shared_ptr<const Pair> pair;
  {
    std::lock_guard lock(mu_);
    pair = current_;
  }
  char subject[256] = "?";
  X509_NAME_oneline(X509_get_subject_name(pair->leaf), subject, sizeof subject);
  std::string out = subject;
  if (const ASN1_TIME* until = X509_get0_notAfter(pair->leaf)) {
    BIO* mem = BIO_new(BIO_s_mem());
    ASN1_TIME_print(mem, until);
    char buf[64] = {};
    int n = BIO_read(mem, buf, sizeof buf - 1);
    if (n > 0) out += ", expires " + std::string(buf, static_cast<size_t>(n));
    BIO_free(mem);
  }
  return out;
}

}  // namespace switchyard::control
