// SharedChunks<T>: an array of shared_ptr<const T> stored in chunks of kChunk,
// the chunks shared between copies. Replacing one element (set) copies one
// chunk; copying the whole array copies only the chunk list. So a routing
// change in one of 100,000 registries touches ~400 chunk pointers and 256
// elements, not 100,000 reference counts on cold cache lines (bench/RESULTS.md,
// "Scale"). Reading is one extra pointer hop.
// `P` is the element pointer: shared_ptr<T> for elements that are shared
// between copies yet written in place (the metrics' atomics).
// Thread safety: like a std::vector of immutable elements: any number of
//   readers of a value nobody mutates; copies and mutations on one thread
//   (the control thread), which also drops the copies.
// Invariants:
//   1. Every chunk but the last holds exactly kChunk elements; no chunk is
//      empty.
//   2. A chunk shared by two arrays (use_count > 1) is never mutated:
//      set(), push_back() and pop_back() copy it first.
#pragma once

#include <atomic>
#include <cstddef>
#include <iterator>
#include <memory>
#include <stdexcept>
#include <vector>

namespace switchyard {

template <typename T, typename P = std::shared_ptr<const T>>
class SharedChunks {
 public:
  static constexpr size_t kChunk = 256;
  using Ptr = P;

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const Ptr& operator[](size_t i) const { return (*chunks_[i / kChunk])[i % kChunk]; }
  const Ptr& at(size_t i) const {
    if (i >= size_) throw std::out_of_range("SharedChunks::at");
    return (*this)[i];
  }
  const Ptr& back() const { return (*this)[size_ - 1]; }

  void push_back(Ptr p) {
    if (size_ % kChunk == 0) {
      chunks_.push_back(std::make_shared<Chunk>());
      chunks_.back()->reserve(kChunk);
    }
    writable(chunks_.size() - 1).push_back(std::move(p));
    ++size_;
  }
  void pop_back() {
    if (--size_ % kChunk == 0) chunks_.pop_back();
    else writable(chunks_.size() - 1).pop_back();
  }
  void set(size_t i, Ptr p) { writable(i / kChunk)[i % kChunk] = std::move(p); }
  void reserve(size_t n) { chunks_.reserve((n + kChunk - 1) / kChunk); }
  void clear() {
    chunks_.clear();
    size_ = 0;
  }
  // Do `a` and `b` hold the same chunk object around element i (then its
  // elements are the same pointers)? Lets a diff skip what a copy shares.
  static bool sameChunk(const SharedChunks& a, const SharedChunks& b, size_t i) {
    size_t c = i / kChunk;
    return c < a.chunks_.size() && c < b.chunks_.size() && a.chunks_[c] == b.chunks_[c];
  }

 private:
  using Chunk = std::vector<Ptr>;
  Chunk& writable(size_t c) {
    // A copy dropped on another thread (a scrape's snapshot) released its
    // reference there: the fence orders its reads before our writes.
    if (chunks_[c].use_count() == 1) std::atomic_thread_fence(std::memory_order_acquire);
    else {
      auto copy = std::make_shared<Chunk>();
      copy->reserve(kChunk);
      *copy = *chunks_[c];
      chunks_[c] = std::move(copy);
    }
    return *chunks_[c];
  }
  std::vector<std::shared_ptr<Chunk>> chunks_;
  size_t size_ = 0;
};

}  // namespace switchyard
