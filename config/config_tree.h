// ConfigTree: one parsed YAML document (the config file, or catalog.json:
// JSON is YAML), the loader's input. Every node lives in one array, every
// scalar in one buffer, and each node keeps its line and column for
// FILE:LINE:COLUMN errors. ConfigNode is a two-word view into it with the
// few questions the loader asks (is it a map, a list, a scalar; its
// entries; its mark).
//
// Why our own tree and libyaml's events rather than yaml-cpp's nodes: at
// 100,000 registries (a 37 MB file) yaml-cpp's YAML::Load took 20.2 s and
// 1.9 GB, its event parser alone 9.1 s; libyaml's event parser reads the
// same file in 0.8 s (bench/RESULTS.md, "Scale"). libyaml is the reference
// C parser (PyYAML's), and its marks give the same line:column.
//
// Scalars are untyped text, as YAML leaves them until a schema reads them:
// the loader decides what a number or a boolean is (parseInteger etc.
// below). Plain `~`, `null`, `Null`, `NULL` and an empty plain value are
// null, as in YAML's core schema.
//
// Thread safety: immutable once parsed; any number of readers. A ConfigNode
// must not outlive its tree.
// Invariants:
//   1. A container's children are contiguous in kids_, from `first` for
//      `count` entries (a map's as key, value, key, value...).
//   2. A child's index is never below its parent's, except an alias's
//      target (an earlier anchored node, shared, never copied).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace switchyard::config {

// 0-based, like libyaml's; -1 when there is no position (an absent node).
struct Mark {
  int line = -1;
  int column = -1;
};

// A document that is not YAML: libyaml's problem and where it was found.
struct SyntaxError {
  std::string message;
  Mark mark;
};

class ConfigTree;

class ConfigNode {
 public:
  ConfigNode() = default;  // absent: a key that is not there
  explicit operator bool() const { return tree_ != nullptr; }
  bool isNull() const;
  bool isScalar() const;
  bool isSequence() const;
  bool isMap() const;
  std::string_view view() const;  // a scalar's text; empty otherwise
  std::string scalar() const { return std::string(view()); }
  size_t size() const;  // a list's items or a map's entries; 0 otherwise
  ConfigNode operator[](size_t i) const;               // a list's item; absent when out of range
  ConfigNode operator[](std::string_view key) const;   // a map's first entry with that key; absent when none
  Mark mark() const;

  // A map's entries in order, duplicates included (the loader refuses them).
  class Iterator;
  Iterator begin() const;
  Iterator end() const;

 private:
  friend class ConfigTree;
  friend class Iterator;
  ConfigNode(const ConfigTree* tree, uint32_t index) : tree_(tree), index_(index) {}
  ConfigNode kid(size_t k) const;
  const ConfigTree* tree_ = nullptr;
  uint32_t index_ = 0;
};

// One map entry.
struct ConfigEntry {
  ConfigNode first;   // the key
  ConfigNode second;  // its value
};

class ConfigNode::Iterator {
 public:
  ConfigEntry operator*() const { return {node_.kid(2 * i_), node_.kid(2 * i_ + 1)}; }
  Iterator& operator++() {
    ++i_;
    return *this;
  }
  bool operator!=(const Iterator& o) const { return i_ != o.i_; }

 private:
  friend class ConfigNode;
  Iterator(ConfigNode n, size_t i) : node_(n), i_(i) {}
  ConfigNode node_;
  size_t i_;
};

inline ConfigNode::Iterator ConfigNode::begin() const { return {*this, 0}; }
inline ConfigNode::Iterator ConfigNode::end() const { return {*this, isMap() ? size() : 0}; }

class ConfigTree {
 public:
  // The first document of `text`. Throws SyntaxError. A text with no
  // document (empty, or only comments) gives an absent root.
  static ConfigTree parse(std::string_view text);
  ConfigNode root() const { return nodes_.empty() ? ConfigNode() : ConfigNode(this, 0); }

  ConfigTree(ConfigTree&&) = default;
  ConfigTree& operator=(ConfigTree&&) = default;

 private:
  friend class ConfigNode;
  friend class TreeBuilder;
  enum class Kind : uint8_t { Null, Scalar, Sequence, Map };
  struct Node {
    uint32_t line;
    uint32_t column;
    uint32_t first;  // a scalar's offset in chars_; a container's in kids_
    uint32_t count;  // a scalar's length; a container's children (a map's: key/value pairs)
    Kind kind;
  };
  ConfigTree() = default;
  std::vector<Node> nodes_;
  std::vector<uint32_t> kids_;
  std::string chars_;
};

// YAML's number and boolean spellings, for the loader to read scalars with:
// integers in decimal, 0x hex or 0o octal with an optional sign; booleans
// true/false, yes/no, on/off (any of their usual cases); doubles as
// strtod reads them, whole text only.
bool parseInteger(std::string_view text, long long& out);
bool parseBoolean(std::string_view text, bool& out);
bool parseDouble(std::string_view text, double& out);

inline bool ConfigNode::isNull() const { return tree_ && tree_->nodes_[index_].kind == ConfigTree::Kind::Null; }
inline bool ConfigNode::isScalar() const { return tree_ && tree_->nodes_[index_].kind == ConfigTree::Kind::Scalar; }
inline bool ConfigNode::isSequence() const {
  return tree_ && tree_->nodes_[index_].kind == ConfigTree::Kind::Sequence;
}
inline bool ConfigNode::isMap() const { return tree_ && tree_->nodes_[index_].kind == ConfigTree::Kind::Map; }

}  // namespace switchyard::config
