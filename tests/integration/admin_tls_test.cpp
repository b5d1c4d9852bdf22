// The admin API over TLS (admin.tls), with real clients: curl and
// switchyardctl verify the server's certificate against a test CA; plain HTTP
// gets nothing; a reload picks up a rotated certificate for new connections
// and keeps the old one when the new files are bad; a bad certificate stops
// the start with the file named.
#include <catch2/catch.hpp>

#include <string>

#include "tests/support/admin_client.h"
#include "tests/support/daemon_process.h"
#include "tests/support/process_memory.h"
#include "tests/support/test_topology.h"

using namespace switchyard;
using namespace switchyard::test;

namespace {

// Writes DIR/PREFIX-ca.pem and a server certificate DIR/server.pem + key
// DIR/server.key for IP `ip`, signed by that CA (P-256, valid two days).
void makeCertificates(const std::string& dir, const std::string& prefix, const std::string& ip) {
  std::string ca = dir + "/" + prefix + "-ca";
  std::string cmd =
      "cd " + dir + " && printf 'subjectAltName=IP:" + ip + "\\n' > san.ext && "
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout " + ca + ".key -out " + ca +
      ".pem -days 2 -subj /CN=" + prefix + "-test-ca 2>&1 && "
      "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout next.key -out next.csr "
      "-subj /CN=switchyard-admin 2>&1 && "
      "openssl x509 -req -in next.csr -CA " + ca + ".pem -CAkey " + ca + ".key -CAcreateserial -out next.pem "
      "-days 2 -extfile san.ext 2>&1 && mv next.key server.key && mv next.pem server.pem";
  auto r = runShell(cmd);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
}

std::string tlsConfig() {
  std::string text = adminConfig();
  text.replace(text.find("admin: { token_file: admin.token }"), std::string::npos,
               "admin:\n  token_file: admin.token\n  tls: { cert_file: server.pem, key_file: server.key }\n");
  return text;
}

// curl's HTTP status for GET /v1/registries (000: no HTTP answer).
std::string curlStatus(const DaemonProcess& d, const std::string& scheme, const std::string& ca) {
  auto r = runShell("timeout 20 curl -s -o /dev/null -w '%{http_code}' " + (ca.empty() ? "" : "--cacert " + ca) +
                    " -H 'Authorization: Bearer " + d.token() + "' " + scheme + "://" + d.admin().toString() +
                    "/v1/registries");
  return r.output;
}

}  // namespace

TEST_CASE("admin API over TLS: clients verify the certificate, plain HTTP gets nothing, a reload rotates it") {
  DaemonProcess d(tlsConfig(), "", [](const DaemonProcess& p) {
    makeCertificates(p.dir(), "first", p.admin().address.toString());
  });
  REQUIRE(d.running());
  CHECK_THAT(d.log(), Catch::Contains("scheme=https"));
  std::string first_ca = d.dir() + "/first-ca.pem";

  CHECK(curlStatus(d, "https", first_ca) == "200");
  CHECK(curlStatus(d, "https", "") == "000");  // not signed by a system CA: refused
  CHECK(curlStatus(d, "http", "") == "000");   // the port speaks only TLS

  std::string server = "--server https://" + d.admin().toString() + " --token-file " + d.tokenFile() + " ";
  auto listed = runCtl(server + "--cacert " + first_ca + " replication list --registry myregistry");
  INFO(listed.output);
  CHECK(listed.exit_code == 0);
  CHECK_THAT(listed.output, Catch::Contains("westus"));
  auto unverified = runCtl(server + "replication list --registry myregistry");
  INFO(unverified.output);
  CHECK(unverified.exit_code == 3);

  SECTION("a reload with a rotated certificate serves it to new connections") {
    makeCertificates(d.dir(), "second", d.admin().address.toString());
    auto reload = runCtl(server + "--cacert " + first_ca + " reload");
    INFO(reload.output);
    CHECK(reload.exit_code == 0);
    CHECK(curlStatus(d, "https", d.dir() + "/second-ca.pem") == "200");
    CHECK(curlStatus(d, "https", first_ca) == "000");
  }
  SECTION("a reload with a key that does not match keeps the old certificate") {
    REQUIRE(runShell("cd " + d.dir() + " && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "
                     "server.key 2>&1").exit_code == 0);
    auto reload = runCtl(server + "--cacert " + first_ca + " reload");
    CHECK(reload.exit_code == 0);  // the config itself is good
    CHECK_THAT(d.log(), Catch::Contains("event=reload_tls_failed") && Catch::Contains("does not belong to"));
    CHECK(curlStatus(d, "https", first_ca) == "200");
  }
  CHECK(d.running());
}

TEST_CASE("admin API over TLS: a missing or mismatched certificate stops the start with the file named") {
  std::string dir = makeTempDir();
  makeCertificates(dir, "only", "127.0.0.1");
  std::string text = tlsConfig();
  std::string listen = "[\"" + freeLoopback().toString() + "\"]";
  text.replace(text.find("@DNS@"), 5, listen);
  text.replace(text.find("@ADMIN@"), 7, freeLoopback().toString());
  writeFile(dir + "/admin.token", "0123456789abcdef0123\n");

  writeFile(dir + "/switchyard.yaml", text);
  REQUIRE(runShell("cd " + dir + " && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "
                   "server.key 2>&1").exit_code == 0);
  auto mismatched = runDaemon("--config " + dir + "/switchyard.yaml");
  CHECK(mismatched.exit_code == 1);
  CHECK_THAT(mismatched.output, Catch::Contains("server.key does not belong to the certificate in"));

  writeFile(dir + "/server.pem", "not a certificate\n");
  auto garbage = runDaemon("--config " + dir + "/switchyard.yaml");
  CHECK(garbage.exit_code == 1);
  CHECK_THAT(garbage.output, Catch::Contains("admin.tls.cert_file " + dir + "/server.pem: not a PEM certificate"));
  runShell("rm -rf " + dir);
}

TEST_CASE("admin API over TLS: a header that never ends is dropped at the read budget, not buffered") {
  // cpp-httplib reads header lines unbounded; over TLS the bytes come through
  // OpenSSL's read(), which the admin threads' read budget bounds too
  // (control/read_budget.h).
  DaemonProcess d(tlsConfig(), "", [](const DaemonProcess& p) {
    makeCertificates(p.dir(), "first", p.admin().address.toString());
  });
  REQUIRE(d.running());
  std::string ca = d.dir() + "/first-ca.pem";
  // A TLS client that sends one header line of up to 50 MB (curl refuses to).
  std::string client = d.dir() + "/long_header.py";
  writeFile(client,
            "import socket, ssl, sys\n"
            "host, port, ca = sys.argv[1], int(sys.argv[2]), sys.argv[3]\n"
            "ctx = ssl.create_default_context(cafile=ca)\n"
            "s = ctx.wrap_socket(socket.create_connection((host, port), timeout=10), server_hostname=host)\n"
            "s.sendall(b'GET /healthz HTTP/1.1\\r\\nHost: x\\r\\nX-Long: ')\n"
            "sent = 0\n"
            "try:\n"
            "    for _ in range(50):\n"
            "        s.sendall(b'a' * (1 << 20))\n"
            "        sent += 1 << 20\n"
            "    print('sent all', sent)\n"
            "except OSError as e:\n"
            "    print('dropped after', sent)\n");
  long before = procStatusKiB(d.pid(), "VmRSS");
  REQUIRE(resetPeakRss(d.pid()));
  auto r = runShell("timeout 60 python3 " + client + " " + d.admin().address.toString() + " " +
                    std::to_string(d.admin().port) + " " + ca);
  long peak = procStatusKiB(d.pid(), "VmHWM");
  INFO("client: " << r.output << "; RSS " << before << " KiB, peak " << peak << " KiB");
  CHECK_THAT(r.output, Catch::Contains("dropped after"));
  if (kRssMeaningful) CHECK(peak - before < 8 * 1024);
  CHECK(curlStatus(d, "https", ca) == "200");  // and the next client is served
  // switchyardctl --config sees admin.tls and speaks HTTPS (the CA-signed
  // certificate still needs its CA).
  auto listed = runCtl("--config " + d.dir() + "/switchyard.yaml replication list --registry myregistry --cacert " + ca);
  INFO(listed.output);
  CHECK(listed.exit_code == 0);
}
