// The operator status page (control/status_page/: plain HTML, JS and CSS, no
// build step), compiled into the binary by embed.cmake. The admin server
// serves these without authentication: they hold no data; the page reads
// GET /v1/status with the admin token the operator gives it.
// Thread safety: immutable.
#pragma once

#include <string_view>
#include <vector>

namespace switchyard::control {

struct StaticAsset {
  std::string_view path;          // "/status", "/status/status.js"
  std::string_view content_type;
  std::string_view body;
};

const std::vector<StaticAsset>& statusPageAssets();

}  // namespace switchyard::control
