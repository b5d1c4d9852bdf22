#include <catch2/catch.hpp>

#include "common/chunked_list.h"
#include "common/name_index.h"
#include "common/shared_chunks.h"
#include "dns/registry_index.h"
#include "dns/wire.h"

#include <cctype>
#include <string>

using switchyard::SharedChunks;

TEST_CASE("SharedChunks: set() on a copy leaves the original alone, across chunk boundaries") {
  SharedChunks<int> a;
  constexpr int kN = 3 * SharedChunks<int>::kChunk + 17;
  for (int i = 0; i < kN; ++i) a.push_back(std::make_shared<const int>(i));
  REQUIRE(a.size() == kN);
  SharedChunks<int> b = a;
  b.set(0, std::make_shared<const int>(-1));
  b.set(kN - 1, std::make_shared<const int>(-2));
  b.push_back(std::make_shared<const int>(kN));  // the shared last chunk is copied, not grown in place
  for (int i = 0; i < kN; ++i) CHECK(*a[i] == i);
  CHECK(a.size() == kN);
  CHECK(*b[0] == -1);
  CHECK(*b[kN - 1] == -2);
  CHECK(*b[kN] == kN);
  CHECK(b[1] == a[1]);  // untouched elements are the same objects
  CHECK(b[SharedChunks<int>::kChunk] == a[SharedChunks<int>::kChunk]);
  CHECK_THROWS_AS(a.at(kN), std::out_of_range);
}

TEST_CASE("SharedChunks: pop_back on a copy, down across a chunk boundary, leaves the original whole") {
  SharedChunks<int> a;
  constexpr int kN = SharedChunks<int>::kChunk + 2;
  for (int i = 0; i < kN; ++i) a.push_back(std::make_shared<const int>(i));
  SharedChunks<int> b = a;
  for (int i = 0; i < 3; ++i) b.pop_back();  // empties the last chunk, then shrinks the shared one
  CHECK(b.size() == kN - 3);
  CHECK(*b.back() == kN - 4);
  b.push_back(std::make_shared<const int>(-1));
  CHECK(a.size() == kN);
  for (int i = 0; i < kN; ++i) CHECK(*a[i] == i);
  CHECK(*b[kN - 3] == -1);
}

TEST_CASE("ChunkedList and NameIndex: a copy shares until one side changes, then each sees its own") {
  switchyard::ChunkedList<std::string> list;
  switchyard::NameIndex index;
  for (int i = 0; i < 5000; ++i) {
    list.push_back("n" + std::to_string(i));
    index.set("n" + std::to_string(i), static_cast<uint32_t>(i));
  }
  auto list2 = list;
  auto index2 = index;
  list2.edit(7) = "seven";
  list2.set(4999, list2.pointer(0));
  list2.pop_back();
  index2.erase("n7");
  index2.set("seven", 7);
  index2.set("n0", 4242);
  CHECK(list[7] == "n7");
  CHECK(list.size() == 5000);
  CHECK(list2[7] == "seven");
  CHECK(list2.size() == 4999);
  CHECK(&list2[1] == &list[1]);  // the same element object
  CHECK(*index.find("n7") == 7);
  CHECK(*index.find("n0") == 0);
  CHECK_FALSE(index.find("seven"));
  CHECK(index.size() == 5000);
  CHECK_FALSE(index2.find("n7"));
  CHECK(*index2.find("seven") == 7);
  CHECK(*index2.find("n0") == 4242);
  CHECK(index2.size() == 5000);
  int seen = 0;
  for (const auto& s : list) seen += !s.empty();
  CHECK(seen == 5000);
}

TEST_CASE("RegistryIndex: a change applied shard by shard finds what a whole build finds") {
  using switchyard::dns::RegistryIndex;
  auto label = [](const std::string& name) {
    std::string l(1, static_cast<char>(name.size()));
    for (char c : name) l.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    return l;
  };
  auto find = [&](const RegistryIndex& idx, const std::string& name) {
    std::string l = label(name);
    const auto* w = reinterpret_cast<const uint8_t*>(l.data());
    return idx.find(w, switchyard::dns::hashName(w, l.size()));
  };
  RegistryIndex::Batch all;
  for (uint32_t i = 0; i < 20000; ++i) all.set("reg" + std::to_string(i), i);
  const RegistryIndex built = RegistryIndex::build(all);
  CHECK(built.size() == 20000);
  RegistryIndex changed = built;
  RegistryIndex::Batch edit;
  edit.erase("reg5");
  edit.set("Reg19999", 5);  // moved into the removed slot; the name's case does not matter
  edit.set("fresh", 20000);
  edit.erase("nosuch");
  changed.apply(edit);
  CHECK(changed.size() == 20000);
  CHECK(find(changed, "reg5") == RegistryIndex::kNone);
  CHECK(find(changed, "reg19999") == 5);
  CHECK(find(changed, "fresh") == 20000);
  CHECK(find(built, "reg5") == 5);  // the copy it came from is untouched
  CHECK(find(built, "reg19999") == 19999);
  CHECK(find(built, "fresh") == RegistryIndex::kNone);
  for (uint32_t i = 0; i < 20000; i += 7)
    if (i != 5 && i != 19999) CHECK(find(changed, "reg" + std::to_string(i)) == i);
  RegistryIndex::Batch none;
  RegistryIndex empty = RegistryIndex::build(none);
  CHECK(find(empty, "reg1") == RegistryIndex::kNone);
}
