// SharedChunks<T>: an array of shared_ptr<const T> stored in chunks of kChunk,
// the chunks shared between copies. Replacing one element (set) copies one
// chunk; copying the whole array copies only the chunk list. So a routing
// change in one of 100,000 registries touches ~400 chunk pointers and 256
// elements, not 100,000 reference counts on cold cache lines (bench/RESULTS.md,
// "Scale"). Reading is one extra pointer hop.
// Thread safety: like a std::vector of immutable elements: any number of
//   readers of a value nobody mutates; copies and mutations on one thread
//   (the control thread), which also drops the copies.
// Invariants:
//   1. Every chunk but the last holds exactly kChunk elements.
//   2. A chunk shared by two arrays (use_count > 1) is never mutated:
//      set() and push_back() copy it first.
#pragma once

#include <cstddef>
#include <memory>
#include <stdexcept>
#include <vector>

namespace switchyard {

template <typename T>
class SharedChunks {
 public:
  static constexpr size_t kChunk = 256;
  using Ptr = std::shared_ptr<const T>;

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const Ptr& operator[](size_t i) const { return (*chunks_[i / kChunk])[i % kChunk]; }
  const Ptr& at(size_t i) const {
    if (i >= size_) throw std::out_of_range("SharedChunks::at");
    return (*this)[i];
  }

  void push_back(Ptr p) {
    if (size_ % kChunk == 0) {
      chunks_.push_back(std::make_shared<Chunk>());
      chunks_.back()->reserve(kChunk);
    }
    writable(chunks_.size() - 1).push_back(std::move(p));
    ++size_;
  }
  void set(size_t i, Ptr p) { writable(i / kChunk)[i % kChunk] = std::move(p); }

 private:
  using Chunk = std::vector<Ptr>;
  Chunk& writable(size_t c) {
    if (chunks_[c].use_count() > 1) chunks_[c] = std::make_shared<Chunk>(*chunks_[c]);
    return *chunks_[c];
  }
  std::vector<std::shared_ptr<Chunk>> chunks_;
  size_t size_ = 0;
};

}  // namespace switchyard
