// Sha256: the digest content checks verify bytes against. Blobs and
// manifests are content-addressed ("sha256:<64 hex>"), so hashing what a
// replica returned says whether its storage returned the right bytes.
// OpenSSL's EVP (already linked for TLS) does the hashing; this only streams
// it and formats the digest the way registries name it.
// Thread safety: one object per thread; no shared state.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

struct evp_md_ctx_st;

namespace switchyard::health {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void update(const void* data, size_t size);
  // "sha256:" + 64 lowercase hex digits. Ends this hash; reset() to reuse.
  std::string digest();
  void reset();

 private:
  evp_md_ctx_st* ctx_;
};

// The digest of `bytes`, e.g. "sha256:e3b0c442...".
std::string sha256Digest(std::string_view bytes);

}  // namespace switchyard::health
