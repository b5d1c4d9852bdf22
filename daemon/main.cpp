// switchyard: the authoritative DNS daemon. Wiring only:
//   1. parse the command line, load and validate the config (--check stops here);
//   2. build the Router (routing table + precompiled answers) and publish;
//   3. start the DNS workers on every listen address;
//   4. run the control loop: SIGHUP reloads, SIGTERM/SIGINT drain and exit 0.
#include <uv.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <iostream>
#include <thread>

#include <spdlog/spdlog.h>

#include "config/config_loader.h"
#include "control/router.h"
#include "dns/dns_server.h"

namespace {

struct Daemon {
  std::string config_path;
  switchyard::control::Router* router = nullptr;
};

void onSignal(uv_signal_t* h, int signum) {
  auto* d = static_cast<Daemon*>(h->data);
  if (signum == SIGHUP) {
    auto next = switchyard::config::loadTopologyFile(d->config_path);
    if (!next) {
      spdlog::error("event=reload_failed keeping the running config: {}", next.error());
      return;
    }
    const auto& cur = d->router->topology();
    if ((*next)->listen_dns.size() != cur.listen_dns.size())
      spdlog::warn("event=reload listen addresses changed: takes effect at the next restart");
    d->router->applyTopology(*next);
    return;
  }
  spdlog::info("event=stopping signal={}", signum);
  uv_stop(h->loop);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"switchyard: health-aware authoritative DNS for geo-replicated registries"};
  std::string config = "switchyard.yaml";
  std::string state_dir;
  int threads = 0;
  bool check = false;
  app.add_option("--config,-c", config, "configuration file")->capture_default_str();
  app.add_option("--state-dir", state_dir, "directory for persisted state");
  app.add_option("--threads", threads, "DNS worker threads (overrides the config)")->check(CLI::Range(1, 256));
  app.add_flag("--check", check, "validate the configuration and exit 0 (valid) or 1");
  CLI11_PARSE(app, argc, argv);

  auto topology = switchyard::config::loadTopologyFile(config);
  if (!topology) {
    std::cerr << topology.error() << "\n";
    return 1;
  }
  if (check) {
    std::cout << config << ": ok (" << (*topology)->registries.size() << " registries, "
              << (*topology)->regions.size() << " regions)\n";
    return 0;
  }
  if (!state_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(state_dir, ec);
    if (ec) {
      std::cerr << "--state-dir " << state_dir << ": " << ec.message() << "\n";
      return 1;
    }
  }
  if (threads == 0) threads = (*topology)->threads;
  if (threads == 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));

  switchyard::dns::AnswerPublisher publisher;
  switchyard::control::Router router(*topology, publisher);
  auto server = switchyard::dns::DnsServer::start((*topology)->listen_dns, threads, publisher);
  if (!server) {
    std::cerr << "switchyard: " << server.error() << "\n";
    return 1;
  }
  std::string bound;
  for (const auto& a : (*server)->bound()) bound += (bound.empty() ? "" : " ") + a.toString();
  spdlog::info("event=serving zone={} dns=[{}] threads={} registries={} generation={}",
               (*topology)->zone.toString(), bound, threads, (*topology)->registries.size(),
               router.table()->generation);

  Daemon daemon{config, &router};
  uv_loop_t* loop = uv_default_loop();
  uv_signal_t signals[3];
  int signums[3] = {SIGHUP, SIGTERM, SIGINT};
  for (int i = 0; i < 3; ++i) {
    uv_signal_init(loop, &signals[i]);
    signals[i].data = &daemon;
    uv_signal_start(&signals[i], onSignal, signums[i]);
  }
  uv_run(loop, UV_RUN_DEFAULT);
  (*server)->stop();
  for (auto& s : signals) uv_close(reinterpret_cast<uv_handle_t*>(&s), nullptr);
  uv_run(loop, UV_RUN_DEFAULT);
  uv_loop_close(loop);
  spdlog::info("event=stopped");
  return 0;
}
