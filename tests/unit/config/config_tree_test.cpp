#include <catch2/catch.hpp>

#include <string>

#include "config/config_tree.h"

using namespace switchyard::config;

namespace {

std::string syntaxErrorOf(const std::string& text) {
  try {
    ConfigTree::parse(text);
  } catch (const SyntaxError& e) {
    return std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) + ": " + e.message;
  }
  return "";
}

}  // namespace

TEST_CASE("config tree: maps, lists and scalars with their line and column") {
  auto tree = ConfigTree::parse("zone: example.test\nlist:\n  - a\n  - { b: 2, c: [x, y] }\n");
  ConfigNode root = tree.root();
  REQUIRE(root.isMap());
  CHECK(root.size() == 2);
  CHECK(root["zone"].scalar() == "example.test");
  CHECK(root["zone"].mark().line == 0);
  CHECK(root["zone"].mark().column == 6);
  ConfigNode list = root["list"];
  REQUIRE(list.isSequence());
  CHECK(list.size() == 2);
  CHECK(list[0].view() == "a");
  CHECK(list[0].mark().line == 2);
  CHECK(list[1]["b"].view() == "2");
  CHECK(list[1]["c"][1].view() == "y");
  CHECK(list[1]["c"][1].mark().line == 3);
  // Absent nodes answer every question with "no".
  CHECK_FALSE(root["nope"]);
  CHECK_FALSE(list[2]);
  CHECK_FALSE(root["zone"]["x"]);
  CHECK_FALSE(list["0"]);
  CHECK(root["nope"].size() == 0);
  CHECK(root["nope"].mark().line == -1);
  std::string keys;
  for (auto kv : root) keys += kv.first.scalar() + "=" + std::to_string(kv.second.size()) + ";";
  CHECK(keys == "zone=0;list=2;");
}

TEST_CASE("config tree: null is a plain ~, null or nothing, a quoted one is text") {
  auto tree = ConfigTree::parse("a:\nb: ~\nc: null\nd: \"\"\ne: 'null'\nf: NULL\n");
  ConfigNode r = tree.root();
  CHECK(r["a"].isNull());
  CHECK(r["a"]);  // present, and null
  CHECK(r["b"].isNull());
  CHECK(r["c"].isNull());
  CHECK(r["f"].isNull());
  CHECK(r["d"].isScalar());
  CHECK(r["d"].view().empty());
  CHECK(r["e"].isScalar());
  CHECK(r["e"].view() == "null");
}

TEST_CASE("config tree: duplicate keys are kept for the loader to refuse, the first one answers") {
  auto tree = ConfigTree::parse("a: 1\na: 2\n");
  CHECK(tree.root().size() == 2);
  CHECK(tree.root()["a"].view() == "1");
}

TEST_CASE("config tree: anchors and aliases share the anchored node") {
  auto tree = ConfigTree::parse("base: &h { scheme: http, port: 5000 }\nother: *h\nlist: [&x one, *x]\n");
  ConfigNode r = tree.root();
  CHECK(r["other"]["port"].view() == "5000");
  CHECK(r["other"].mark().line == 0);  // the anchored node's own position
  CHECK(r["list"][1].view() == "one");
  CHECK_THAT(syntaxErrorOf("a: *missing\n"), Catch::Contains("unknown alias '*missing'"));
}

TEST_CASE("config tree: JSON is YAML (catalog.json as the daemon writes it)") {
  auto tree = ConfigTree::parse(
      "{\"registries\": [\n{\"home\":\"eastus\",\"name\":\"acme\",\"replicas\":[{\"addresses\":[\"10.0.0.1\"],"
      "\"region\":\"eastus\"}],\"n\":3,\"b\":true,\"u\":\"caf\\u00e9\\/\"}\n]}\n");
  ConfigNode g = tree.root()["registries"][0];
  CHECK(g["name"].view() == "acme");
  CHECK(g["name"].mark().line == 1);
  CHECK(g["replicas"][0]["addresses"][0].view() == "10.0.0.1");
  CHECK(g["n"].view() == "3");
  CHECK(g["b"].view() == "true");
  CHECK(g["u"].view() == "caf\xc3\xa9/");
}

TEST_CASE("config tree: no document, the first of several, and syntax errors with positions") {
  CHECK_FALSE(ConfigTree::parse("").root());
  CHECK_FALSE(ConfigTree::parse("# only a comment\n").root());
  CHECK(ConfigTree::parse("a: 1\n---\nb: 2\n").root()["a"].view() == "1");
  CHECK_THAT(syntaxErrorOf("zone: [a, b\n"), Catch::StartsWith("2:1: did not find expected ',' or ']'"));
  CHECK_THAT(syntaxErrorOf("zone: [a, b\n"), Catch::Contains("while parsing a flow sequence at line 1, column 7"));
  CHECK_THAT(syntaxErrorOf("a: b: c\n"), Catch::StartsWith("1:5: "));
  CHECK_THAT(syntaxErrorOf("a:\n\t- b\n"), Catch::StartsWith("2:1: "));
}

TEST_CASE("config tree: numbers and booleans as YAML spells them") {
  long long i = 0;
  CHECK((parseInteger("42", i) && i == 42));
  CHECK((parseInteger("-7", i) && i == -7));
  CHECK((parseInteger("+7", i) && i == 7));
  CHECK((parseInteger("0x1F", i) && i == 31));
  CHECK((parseInteger("0o17", i) && i == 15));
  CHECK((parseInteger("9223372036854775807", i) && i == 9223372036854775807LL));
  CHECK((parseInteger("-9223372036854775808", i) && i == (-9223372036854775807LL - 1)));
  CHECK_FALSE(parseInteger("9223372036854775808", i));
  CHECK_FALSE(parseInteger("99999999999999999999999", i));
  for (const char* bad : {"", "-", "0x", "1.5", "12a", " 1", "1 ", "many"}) CHECK_FALSE(parseInteger(bad, i));
  bool b = false;
  for (const char* yes : {"true", "True", "TRUE", "yes", "on", "y"}) CHECK((parseBoolean(yes, b) && b));
  for (const char* no : {"false", "False", "no", "OFF", "n"}) CHECK((parseBoolean(no, b) && !b));
  CHECK_FALSE(parseBoolean("1", b));
  CHECK_FALSE(parseBoolean("truthy", b));
  double d = 0;
  CHECK((parseDouble("37.37", d) && d == Approx(37.37)));
  CHECK((parseDouble("-122", d) && d == Approx(-122)));
  for (const char* bad : {"", "x", "1.5x", " 1", "nan", "inf", "1e999"}) CHECK_FALSE(parseDouble(bad, d));
}
