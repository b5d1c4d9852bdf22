// ChunkedList<T>: a list of immutable values that copies in O(size / 256):
// SharedChunks of shared_ptr<const T>, read as `const T&`. Topology holds
// its registries in one so a catalog edit's copy of 100,000 registries is
// ~400 chunk pointers, not 100,000 deep copies (85-95 ms, bench/RESULTS.md
// "Runtime catalog").
// Thread safety: as SharedChunks (copies and mutations on one thread;
//   readers of a list nobody mutates on any).
// Invariants: as SharedChunks; every element is non-null.
#pragma once

#include <cstddef>
#include <iterator>
#include <memory>
#include <utility>

#include "common/shared_chunks.h"

namespace switchyard {

template <typename T>
class ChunkedList {
 public:
  class const_iterator {
   public:
    using iterator_category = std::random_access_iterator_tag;
    using value_type = T;
    using difference_type = std::ptrdiff_t;
    using pointer = const T*;
    using reference = const T&;
    const_iterator() = default;
    const_iterator(const ChunkedList* list, size_t i) : list_(list), i_(i) {}
    const T& operator*() const { return (*list_)[i_]; }
    const T* operator->() const { return &(*list_)[i_]; }
    const T& operator[](difference_type n) const { return (*list_)[i_ + n]; }
    const_iterator& operator++() { ++i_; return *this; }
    const_iterator operator++(int) { auto old = *this; ++i_; return old; }
    const_iterator& operator--() { --i_; return *this; }
    const_iterator operator--(int) { auto old = *this; --i_; return old; }
    const_iterator& operator+=(difference_type n) { i_ += n; return *this; }
    const_iterator& operator-=(difference_type n) { i_ -= n; return *this; }
    friend const_iterator operator+(const_iterator it, difference_type n) { return it += n; }
    friend const_iterator operator+(difference_type n, const_iterator it) { return it += n; }
    friend const_iterator operator-(const_iterator it, difference_type n) { return it -= n; }
    friend difference_type operator-(const const_iterator& a, const const_iterator& b) {
      return static_cast<difference_type>(a.i_) - static_cast<difference_type>(b.i_);
    }
    friend bool operator==(const const_iterator& a, const const_iterator& b) { return a.i_ == b.i_; }
    friend auto operator<=>(const const_iterator& a, const const_iterator& b) { return a.i_ <=> b.i_; }

   private:
    const ChunkedList* list_ = nullptr;
    size_t i_ = 0;
  };

  size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }
  const T& operator[](size_t i) const { return *items_[i]; }
  const T& at(size_t i) const { return *items_.at(i); }
  const T& back() const { return *items_.back(); }
  const_iterator begin() const { return {this, 0}; }
  const_iterator end() const { return {this, size()}; }
  // The element's own pointer: shared with every copy of the list.
  const std::shared_ptr<const T>& pointer(size_t i) const { return items_[i]; }

  void push_back(T value) { items_.push_back(std::make_shared<const T>(std::move(value))); }
  void push_back(std::shared_ptr<const T> p) { items_.push_back(std::move(p)); }
  void pop_back() { items_.pop_back(); }
  void set(size_t i, std::shared_ptr<const T> p) { items_.set(i, std::move(p)); }
  // A writable copy of element i, put in its place (copies sharing the old
  // one keep it). For building and tests; valid until the slot is set again.
  T& edit(size_t i) {
    auto p = std::make_shared<T>(*items_[i]);
    T& ref = *p;
    items_.set(i, std::move(p));
    return ref;
  }
  void reserve(size_t n) { items_.reserve(n); }
  void clear() { items_.clear(); }

  // Equal element by element (pointers first: a copy's shared elements
  // compare in one step).
  friend bool operator==(const ChunkedList& a, const ChunkedList& b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
      if (a.items_[i] != b.items_[i] && !(*a.items_[i] == *b.items_[i])) return false;
    return true;
  }

 private:
  SharedChunks<T> items_;
};

}  // namespace switchyard
