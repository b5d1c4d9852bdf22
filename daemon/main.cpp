// switchyard: the authoritative DNS daemon. Wiring only: parse the command
// line, validate the config (--check stops here), hand over to ControlPlane.
#include <curl/curl.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <chrono>
#include <filesystem>
#include <iostream>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "config/config_loader.h"
#include "control/control_plane.h"

int main(int argc, char** argv) {
  // Before any thread starts, so every thread inherits it: OpenSSL writes with
  // write(), not send(MSG_NOSIGNAL), and an Unbound control peer over TLS that
  // resets mid-write would otherwise end the daemon (httplib's Server ignores
  // SIGPIPE in its constructor, so only a daemon without an admin listener
  // was exposed; this does not depend on that). A failed write is an error
  // its caller reports (EPIPE).
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app{"switchyard: health-aware authoritative DNS for geo-replicated registries"};
  switchyard::control::DaemonOptions options;
  options.config_path = "switchyard.yaml";
  bool check = false;
  app.add_option("--config,-c", options.config_path, "configuration file")->capture_default_str();
  app.add_option("--state-dir", options.state_dir, "directory for persisted state (health, exclusions)");
  app.add_option("--threads", options.threads, "DNS worker threads (overrides the config)")
      ->check(CLI::Range(1, 256));
  app.add_option("--admin-token-file", options.admin_token_file,
                 "admin bearer token file, instead of admin.token_file (e.g. a systemd credential)");
  app.add_flag("--check", check, "validate the configuration and exit 0 (valid) or 1");
  app.add_flag("--reset-state", options.reset_state,
               "start without the persisted state when a state file is unreadable (operator exclusions are lost)");
  app.add_option("--catalog-journal-limit", options.catalog_journal_limit,
                 "bytes of catalog.journal before catalog.json is written whole again (default: the larger of "
                 "256 KiB and an eighth of the catalog)");
  CLI11_PARSE(app, argc, argv);

  auto parse_start = std::chrono::steady_clock::now();
  auto topology = switchyard::config::loadTopologyFile(options.config_path);
  if (!topology) {
    std::cerr << topology.error() << "\n";
    return 1;
  }
  double parse_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - parse_start).count();
  if (check) {
    std::cout << options.config_path << ": ok (" << (*topology)->registries.size() << " registries, "
              << (*topology)->regions.size() << " regions)\n";
    return 0;
  }
  if (!options.state_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(options.state_dir, ec);
    if (ec) {
      std::cerr << "--state-dir " << options.state_dir << ": " << ec.message() << "\n";
      return 1;
    }
  }
  // Events go to stderr, one flushed line each: they are rare and an operator
  // (or a test) tailing a redirected log must see them when they happen.
  spdlog::set_default_logger(spdlog::stderr_color_mt("switchyard"));
  spdlog::flush_on(spdlog::level::info);
  spdlog::info("event=config_loaded file={} registries={} parse_ms={:.1f}", options.config_path,
               (*topology)->registries.size(), parse_ms);
  // Before any thread exists (libcurl's rule).
  curl_global_init(CURL_GLOBAL_DEFAULT);
  int rc = switchyard::control::ControlPlane(options, *topology).run();
  curl_global_cleanup();
  return rc;
}
