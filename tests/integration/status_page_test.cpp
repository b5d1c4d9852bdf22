// The status page in a real headless Chromium (Debian `chromium`): it loads
// from the daemon's admin listener, reads /v1/status with the token, and after
// an exclusion shows the new routing. A screenshot is kept as an artifact
// (ARTIFACT_DIR/status_page.png) for a human to look at.
#include <catch2/catch.hpp>

#include <filesystem>

#include "tests/support/admin_client.h"
#include "tests/support/daemon_process.h"
#include "tests/support/test_topology.h"

using namespace switchyard;
using namespace switchyard::test;

namespace {

// Flags as Debian's Chromium needs them here: root (no sandbox), no GPU, and
// no background connections (the network is closed; they would only fail).
std::string chromium(const std::string& profile, const std::string& what, const std::string& url) {
  return "timeout 90 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
         "--disable-background-networking --disable-component-update --disable-sync --disable-dev-shm-usage "
         "--user-data-dir=" + profile + " --window-size=1400,900 --virtual-time-budget=4000 " + what + " '" + url +
         "' 2>/dev/null";
}

// The DOM of the routing cell for (registry, client region), up to its </td>.
std::string cell(const std::string& dom, const std::string& registry, const std::string& client) {
  auto at = dom.find("data-registry=\"" + registry + "\" data-client=\"" + client + "\"");
  if (at == std::string::npos) return "";
  return dom.substr(at, dom.find("</td>", at) - at);
}

bool hasChip(const std::string& html, const std::string& replica) {
  return html.find("data-replica=\"" + replica + "\"") != std::string::npos;
}

}  // namespace

TEST_CASE("status page in headless Chromium shows routing, and the new routing after an exclusion") {
  REQUIRE(runShell("command -v chromium").exit_code == 0);  // `make test` installs Debian's chromium
  DaemonProcess d(adminConfig());
  REQUIRE(d.running());
  AdminClient api(d);
  std::string profile = makeTempDir();
  std::string page = d.adminUrl() + "/status#token=" + d.token();

  auto before = runShell(chromium(profile, "--dump-dom", page));
  INFO(before.output.substr(0, 4000));
  REQUIRE(before.exit_code == 0);
  std::string east = cell(before.output, "myregistry", "eastus");
  CHECK(hasChip(east, "eastus"));
  CHECK(!hasChip(east, "westus"));
  CHECK(hasChip(cell(before.output, "teamb", "southeastasia"), "southeastasia"));
  CHECK(before.output.find("No injected faults, no exclusions.") != std::string::npos);

  REQUIRE(api.send("PATCH", "/v1/registries/myregistry/replications/eastus", R"({"globalEndpointRouting":false})")
              .first == 200);
  REQUIRE(api.send("POST", "/v1/registries/teamb/replications/westeurope/fault", R"({"health":"down"})").first == 200);

  auto after = runShell(chromium(profile, "--dump-dom", page));
  INFO(after.output.substr(0, 4000));
  REQUIRE(after.exit_code == 0);
  east = cell(after.output, "myregistry", "eastus");
  CHECK(!hasChip(east, "eastus"));
  CHECK(hasChip(east, "westus"));
  CHECK(hasChip(east, "westeurope"));
  CHECK(east.find("failover-spread") != std::string::npos);
  // Sticky sharing: each sharing replica's share of the region's client subnets.
  CHECK(east.find("50% of subnets") != std::string::npos);
  CHECK(east.find("one replica per /24 (IPv6 /56) client subnet") != std::string::npos);
  CHECK(cell(after.output, "myregistry", "westus").find("% of subnets") == std::string::npos);
  CHECK(after.output.find("myregistry/eastus: excluded from global routing") != std::string::npos);
  CHECK(after.output.find("teamb/westeurope: injected down") != std::string::npos);
  CHECK(!hasChip(cell(after.output, "teamb", "westeurope"), "westeurope"));
  CHECK(after.output.find("chip online excluded") != std::string::npos);
  CHECK(after.output.find("exclusion") != std::string::npos);  // the event list

  std::filesystem::create_directories(ARTIFACT_DIR);
  std::string shot = std::string(ARTIFACT_DIR) + "/status_page.png";
  std::filesystem::remove(shot);
  auto screenshot = runShell(chromium(profile, "--screenshot=" + shot, page));
  CHECK(screenshot.exit_code == 0);
  CHECK(std::filesystem::exists(shot));
  CHECK(std::filesystem::file_size(shot) > 10'000);
}

TEST_CASE("status page without a valid token shows the token form and no data") {
  REQUIRE(runShell("command -v chromium").exit_code == 0);
  DaemonProcess d(adminConfig());
  REQUIRE(d.running());
  std::string profile = makeTempDir();
  auto wrong = runShell(chromium(profile, "--dump-dom", d.adminUrl() + "/status#token=not-the-token"));
  REQUIRE(wrong.exit_code == 0);
  CHECK(wrong.output.find("The token was refused: invalid token") != std::string::npos);
  CHECK(wrong.output.find("data-registry=") == std::string::npos);
  auto none = runShell(chromium(makeTempDir(), "--dump-dom", d.adminUrl() + "/"));  // redirects to /status
  REQUIRE(none.exit_code == 0);
  CHECK(none.output.find("<form id=\"login\">") != std::string::npos);
}
