// RegistryIndex: the DNS path's map from a registry's label to its index in
// AnswerSet::registries, changed by a catalog edit in O(edited registries).
//
// The labels hash (dns/wire.h hashName, over the label with its length
// byte: the query parser's label hash) into kShards small open-addressing
// tables held by shared pointer; a copy of the index copies the shard
// pointers, and a change rebuilds only the shards it touches (~100 entries
// each at 100,000 registries) instead of one 262,144-slot table (what made
// every catalog edit O(registries), bench/RESULTS.md "Runtime catalog").
// A lookup is one more pointer hop than a flat table.
// Thread safety: immutable once published in an AnswerSet; built and
//   changed on the control thread.
// Invariants:
//   1. A label lives in shard hash & (kShards - 1) only.
//   2. Each shard's table has a power-of-two capacity at least twice its
//      entries, so probing always ends at an empty slot; an empty shard is
//      the shared empty one (capacity 1, no entry).
//   3. A shard shared by two indexes is never mutated (changes rebuild it).
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace switchyard::dns {

class RegistryIndex {
 public:
  static constexpr uint32_t kNone = UINT32_MAX;
  static constexpr uint32_t kShards = 1024;

  RegistryIndex();
  // label: lowercase, length byte first; hash: hashName over it.
  uint32_t find(const uint8_t* label, uint32_t hash) const;

  // A change of many entries, applied shard by shard: build a batch of
  // set()/erase() calls, then apply() (each shard touched is rebuilt once).
  class Batch {
   public:
    // `name`: the registry's name as written (lowercased here).
    void set(std::string_view name, uint32_t registry);
    void erase(std::string_view name);

   private:
    friend class RegistryIndex;
    struct Op {
      std::string label;  // length byte first, lowercase
      uint32_t hash;
      uint32_t registry;  // kNone: erase
    };
    std::vector<Op> ops_;
  };
  void apply(const Batch& batch);
  // A whole index from sets of distinct names (start-up, reload).
  static RegistryIndex build(const Batch& batch);
  size_t size() const { return size_; }

 private:
  struct Slot {
    uint32_t hash = 0;
    uint32_t registry = kNone;
    uint32_t label = 0;  // offset of the label (length byte first) in labels
  };
  struct Shard {
    std::vector<Slot> slots;
    std::string labels;
    uint32_t mask = 0;
    uint32_t count = 0;
  };
  struct Entry {
    std::string_view label;
    uint32_t hash;
    uint32_t registry;
  };
  static std::shared_ptr<const Shard> emptyShard();
  static std::shared_ptr<const Shard> makeShard(const std::vector<Entry>& entries);
  std::array<std::shared_ptr<const Shard>, kShards> shards_;
  size_t size_ = 0;
};

inline uint32_t RegistryIndex::find(const uint8_t* label, uint32_t hash) const {
  const Shard& s = *shards_[hash & (kShards - 1)];
  const size_t len = 1u + label[0];
  for (uint32_t i = (hash >> 10) & s.mask;; i = (i + 1) & s.mask) {
    const Slot& slot = s.slots[i];
    if (slot.registry == kNone) return kNone;
    if (slot.hash == hash && static_cast<uint8_t>(s.labels[slot.label]) == label[0] &&
        std::memcmp(s.labels.data() + slot.label, label, len) == 0)
      return slot.registry;
  }
}

}  // namespace switchyard::dns
