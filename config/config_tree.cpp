#include "config/config_tree.h"

#include <yaml.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <unordered_map>

namespace switchyard::config {

std::string_view ConfigNode::view() const {
  if (!isScalar()) return {};
  const auto& n = tree_->nodes_[index_];
  return std::string_view(tree_->chars_).substr(n.first, n.count);
}

size_t ConfigNode::size() const {
  if (!isSequence() && !isMap()) return 0;
  return tree_->nodes_[index_].count;
}

ConfigNode ConfigNode::kid(size_t k) const { return {tree_, tree_->kids_[tree_->nodes_[index_].first + k]}; }

ConfigNode ConfigNode::operator[](size_t i) const {
  if (!isSequence() || i >= size()) return {};
  return kid(i);
}

ConfigNode ConfigNode::operator[](std::string_view key) const {
  if (!isMap()) return {};
  for (size_t e = 0, n = size(); e < n; ++e) {
    ConfigNode k = kid(2 * e);
    if (k.isScalar() && k.view() == key) return kid(2 * e + 1);
  }
  return {};
}

Mark ConfigNode::mark() const {
  if (!tree_) return {};
  const auto& n = tree_->nodes_[index_];
  return {static_cast<int>(n.line), static_cast<int>(n.column)};
}

// Turns libyaml's events into a ConfigTree: a container's node is made at
// its start, its children collected on `open_` and moved into kids_ at its
// end (invariant 1).
class TreeBuilder {
 public:
  explicit TreeBuilder(ConfigTree& t) : t_(t) {}

  // false at the end of the first document (or of a stream without one).
  bool add(const yaml_event_t& e) {
    switch (e.type) {
      case YAML_DOCUMENT_END_EVENT:
      case YAML_STREAM_END_EVENT:
        return false;
      case YAML_SCALAR_EVENT: {
        std::string_view v(reinterpret_cast<const char*>(e.data.scalar.value), e.data.scalar.length);
        bool null = e.data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
                    (v.empty() || v == "~" || v == "null" || v == "Null" || v == "NULL");
        uint32_t at = node(e, null ? ConfigTree::Kind::Null : ConfigTree::Kind::Scalar);
        if (!null) {
          t_.nodes_[at].first = static_cast<uint32_t>(t_.chars_.size());
          t_.nodes_[at].count = static_cast<uint32_t>(v.size());
          t_.chars_.append(v);
        }
        anchor(e.data.scalar.anchor, at);
        break;
      }
      case YAML_SEQUENCE_START_EVENT:
        anchor(e.data.sequence_start.anchor, open(e, ConfigTree::Kind::Sequence));
        break;
      case YAML_MAPPING_START_EVENT:
        anchor(e.data.mapping_start.anchor, open(e, ConfigTree::Kind::Map));
        break;
      case YAML_SEQUENCE_END_EVENT:
      case YAML_MAPPING_END_EVENT:
        close();
        break;
      case YAML_ALIAS_EVENT: {
        auto it = anchors_.find(reinterpret_cast<const char*>(e.data.alias.anchor));
        if (it == anchors_.end())
          throw SyntaxError{"unknown alias '*" + std::string(reinterpret_cast<const char*>(e.data.alias.anchor)) + "'",
                            markOf(e)};
        open_.push_back(it->second);  // shared, not copied (invariant 2)
        break;
      }
      default:
        break;
    }
    return true;
  }

 private:
  static Mark markOf(const yaml_event_t& e) {
    return {static_cast<int>(e.start_mark.line), static_cast<int>(e.start_mark.column)};
  }
  uint32_t node(const yaml_event_t& e, ConfigTree::Kind kind) {
    if (t_.nodes_.size() >= std::numeric_limits<uint32_t>::max() - 1)
      throw SyntaxError{"too many nodes in one document", markOf(e)};
    auto at = static_cast<uint32_t>(t_.nodes_.size());
    t_.nodes_.push_back({static_cast<uint32_t>(e.start_mark.line), static_cast<uint32_t>(e.start_mark.column), 0, 0, kind});
    open_.push_back(at);
    return at;
  }
  uint32_t open(const yaml_event_t& e, ConfigTree::Kind kind) {
    uint32_t at = node(e, kind);
    frames_.push_back({at, open_.size()});
    return at;
  }
  void close() {
    Frame f = frames_.back();
    frames_.pop_back();
    auto& n = t_.nodes_[f.node];
    n.first = static_cast<uint32_t>(t_.kids_.size());
    size_t kids = open_.size() - f.open_from;
    n.count = static_cast<uint32_t>(n.kind == ConfigTree::Kind::Map ? kids / 2 : kids);
    t_.kids_.insert(t_.kids_.end(), open_.begin() + static_cast<std::ptrdiff_t>(f.open_from), open_.end());
    open_.resize(f.open_from);
  }
  void anchor(const yaml_char_t* name, uint32_t at) {
    if (name) anchors_[reinterpret_cast<const char*>(name)] = at;
  }

  struct Frame {
    uint32_t node;
    size_t open_from;  // where its children start in open_
  };
  ConfigTree& t_;
  std::vector<uint32_t> open_;  // children of the open containers, innermost last
  std::vector<Frame> frames_;
  std::unordered_map<std::string, uint32_t> anchors_;
};

ConfigTree ConfigTree::parse(std::string_view text) {
  ConfigTree t;
  // About one node per 5 bytes of a registry list (measured on
  // bench/scale_bench.sh's file): one allocation instead of ~25 doublings.
  t.nodes_.reserve(text.size() / 5 + 16);
  t.kids_.reserve(text.size() / 5 + 16);
  t.chars_.reserve(text.size() / 2 + 16);
  yaml_parser_t parser;
  if (!yaml_parser_initialize(&parser)) throw SyntaxError{"out of memory", {}};
  yaml_parser_set_input_string(&parser, reinterpret_cast<const unsigned char*>(text.data()), text.size());
  TreeBuilder b(t);
  try {
    for (;;) {
      yaml_event_t e;
      if (!yaml_parser_parse(&parser, &e)) {
        SyntaxError err{parser.problem ? parser.problem : "not YAML",
                        {static_cast<int>(parser.problem_mark.line), static_cast<int>(parser.problem_mark.column)}};
        if (parser.context)
          err.message += std::string(" (") + parser.context + " at line " +
                         std::to_string(parser.context_mark.line + 1) + ", column " +
                         std::to_string(parser.context_mark.column + 1) + ")";
        throw err;
      }
      // The event owns its strings: freed however add() ends (it throws on
      // an unknown alias).
      struct Owned {
        yaml_event_t* e;
        ~Owned() { yaml_event_delete(e); }
      } owned{&e};
      if (!b.add(e)) break;
    }
  } catch (...) {
    yaml_parser_delete(&parser);
    throw;
  }
  yaml_parser_delete(&parser);
  return t;
}

bool parseInteger(std::string_view s, long long& out) {
  bool negative = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) base = 16;
  else if (s.size() > 2 && s[0] == '0' && (s[1] == 'o' || s[1] == 'O')) base = 8;
  if (base != 10) s.remove_prefix(2);
  if (s.empty()) return false;
  unsigned long long v = 0;
  for (char c : s) {
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : 99;
    if (d >= base) return false;
    if (v > (std::numeric_limits<unsigned long long>::max() - static_cast<unsigned>(d)) / static_cast<unsigned>(base))
      return false;
    v = v * static_cast<unsigned>(base) + static_cast<unsigned>(d);
  }
  constexpr auto kMax = static_cast<unsigned long long>(std::numeric_limits<long long>::max());
  if (v > kMax + (negative ? 1 : 0)) return false;
  out = negative ? static_cast<long long>(0 - v) : static_cast<long long>(v);
  return true;
}

bool parseBoolean(std::string_view s, bool& out) {
  for (std::string_view t : {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON", "y", "Y"})
    if (s == t) return out = true, true;
  for (std::string_view f : {"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF", "n", "N"})
    if (s == f) return out = false, true;
  return false;
}

bool parseDouble(std::string_view s, double& out) {
  if (s.empty() || s.front() == ' ' || s.size() > 64) return false;
  std::string text(s);  // strtod needs the NUL
  errno = 0;
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size() || errno == ERANGE || !std::isfinite(v)) return false;
  out = v;
  return true;
}

}  // namespace switchyard::config
