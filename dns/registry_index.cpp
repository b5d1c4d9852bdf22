#include "dns/registry_index.h"

#include <algorithm>
#include <map>

#include "dns/wire.h"

namespace switchyard::dns {

std::shared_ptr<const RegistryIndex::Shard> RegistryIndex::emptyShard() {
  static const auto empty = [] {
    auto s = std::make_shared<Shard>();
    s->slots.resize(1);
    return std::shared_ptr<const Shard>(std::move(s));
  }();
  return empty;
}

RegistryIndex::RegistryIndex() { shards_.fill(emptyShard()); }

void RegistryIndex::Batch::set(std::string_view name, uint32_t registry) {
  Op op;
  op.label.push_back(static_cast<char>(name.size()));
  for (char c : name) op.label.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c | 0x20) : c);
  op.hash = hashName(reinterpret_cast<const uint8_t*>(op.label.data()), op.label.size());
  op.registry = registry;
  ops_.push_back(std::move(op));
}

void RegistryIndex::Batch::erase(std::string_view name) { set(name, kNone); }

std::shared_ptr<const RegistryIndex::Shard> RegistryIndex::makeShard(const std::vector<Entry>& entries) {
  if (entries.empty()) return emptyShard();
  auto next = std::make_shared<Shard>();
  uint32_t cap = 2;
  while (cap < entries.size() * 2) cap *= 2;
  next->slots.assign(cap, Slot{});
  next->mask = cap - 1;
  next->count = static_cast<uint32_t>(entries.size());
  size_t bytes = 0;
  for (const auto& e : entries) bytes += e.label.size();
  next->labels.reserve(bytes);
  for (const auto& e : entries) {
    auto at = static_cast<uint32_t>(next->labels.size());
    next->labels.append(e.label);
    uint32_t i = (e.hash >> 10) & next->mask;
    while (next->slots[i].registry != kNone) i = (i + 1) & next->mask;
    next->slots[i] = Slot{e.hash, e.registry, at};
  }
  return next;
}

RegistryIndex RegistryIndex::build(const Batch& batch) {
  RegistryIndex index;
  std::vector<std::vector<Entry>> by_shard(kShards);
  for (const auto& op : batch.ops_) by_shard[op.hash & (kShards - 1)].push_back({op.label, op.hash, op.registry});
  for (uint32_t s = 0; s < kShards; ++s) {
    index.shards_[s] = makeShard(by_shard[s]);
    index.size_ += by_shard[s].size();
  }
  return index;
}

void RegistryIndex::apply(const Batch& batch) {
  // Per shard touched: its entries (label -> registry), the ops in order on
  // top, then one rebuilt table.
  std::map<uint32_t, std::vector<const Batch::Op*>> by_shard;
  for (const auto& op : batch.ops_) by_shard[op.hash & (kShards - 1)].push_back(&op);
  for (const auto& [s, ops] : by_shard) {
    const Shard& old = *shards_[s];
    std::vector<Entry> entries;
    entries.reserve(old.count + ops.size());
    for (const Slot& slot : old.slots)
      if (slot.registry != kNone) {
        auto len = 1u + static_cast<uint8_t>(old.labels[slot.label]);
        entries.push_back({std::string_view(old.labels).substr(slot.label, len), slot.hash, slot.registry});
      }
    for (const auto* op : ops) {
      auto it = std::find_if(entries.begin(), entries.end(), [&](const Entry& e) { return e.label == op->label; });
      if (op->registry == kNone) {
        if (it != entries.end()) entries.erase(it);
      } else if (it != entries.end()) {
        it->registry = op->registry;
      } else {
        entries.push_back({op->label, op->hash, op->registry});
      }
    }
    size_ += entries.size();
    size_ -= old.count;
    auto next = makeShard(entries);
    shards_[s] = std::move(next);  // `old` (and the views into its labels) may go only now
  }
}

}  // namespace switchyard::dns
