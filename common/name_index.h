// ShardedMap<V>: name -> V, copied in O(shards) and changed in O(one
// shard): the names hash into kShards maps held by shared pointer, and a
// change copies only its shard when another copy shares it. Topology's
// registry index is one (NameIndex), so copying it for a catalog edit at
// 100,000 registries costs 1,024 pointers, not 100,000 strings hashed
// again; the catalog's entries are another, so a work thread can write
// catalog.json from a copy taken on the loop in microseconds.
// Thread safety: as a value type (const methods from any thread on a map
//   nobody mutates; copies and mutations on one thread). The shards are
//   shared through atomic reference counts, so a copy may travel to another
//   thread and be read there while the original changes.
// Invariants:
//   1. A name lives in shard hash(name) % kShards only.
//   2. A shard shared by two maps (use_count > 1) is never mutated.
//   3. size_ is the sum of the shards' sizes.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace switchyard {

template <typename V>
class ShardedMap {
 public:
  static constexpr size_t kShards = 1024;

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const V* get(std::string_view name) const {
    const auto& shard = shards_[shardOf(name)];
    if (!shard) return nullptr;
    auto it = shard->find(name);
    return it == shard->end() ? nullptr : &it->second;
  }
  std::optional<V> find(std::string_view name) const {
    const V* v = get(name);
    return v ? std::optional<V>(*v) : std::nullopt;
  }
  bool contains(std::string_view name) const { return get(name) != nullptr; }
  // Sets (adds or replaces) name's value; returns the value it replaced's
  // place, for callers that account sizes.
  V& set(const std::string& name, V value) {
    Map& m = writable(shardOf(name));
    auto [it, made] = m.try_emplace(name);
    if (made) ++size_;
    it->second = std::move(value);
    return it->second;
  }
  bool erase(std::string_view name) {
    size_t s = shardOf(name);
    if (!shards_[s] || shards_[s]->find(name) == shards_[s]->end()) return false;
    Map& m = writable(s);
    m.erase(m.find(name));
    --size_;
    return true;
  }
  void clear() {
    for (auto& s : shards_) s.reset();
    size_ = 0;
  }
  // Every entry, in no particular order: f(const std::string&, const V&).
  template <typename F>
  void forEach(F&& f) const {
    for (const auto& shard : shards_)
      if (shard)
        for (const auto& [name, value] : *shard) f(name, value);
  }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using Map = std::unordered_map<std::string, V, Hash, std::equal_to<>>;
  // The map's own hash spreads names over buckets with its low bits; the
  // shard takes the high ones so the two do not correlate.
  static size_t shardOf(std::string_view name) { return (Hash{}(name) >> 40) % kShards; }
  Map& writable(size_t s) {
    if (!shards_[s]) shards_[s] = std::make_shared<Map>();
    else if (shards_[s].use_count() > 1) shards_[s] = std::make_shared<Map>(*shards_[s]);
    else std::atomic_thread_fence(std::memory_order_acquire);  // a copy released on another thread: see its reads done
    return *shards_[s];
  }
  std::array<std::shared_ptr<Map>, kShards> shards_;
  size_t size_ = 0;
};

// Topology's registry name -> index.
using NameIndex = ShardedMap<uint32_t>;

}  // namespace switchyard
