#include "config/admin_endpoint.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "config/config_tree.h"

namespace switchyard::config {

namespace {

// The top-level blocks `keys` of a block-style YAML file, in file order, with
// blank lines where the rest was, so marks keep their line numbers.
std::string topLevelBlocks(const std::string& text, std::initializer_list<const char*> keys) {
  std::istringstream in(text);
  std::string line, out;
  bool keep = false;
  while (std::getline(in, line)) {
    if (!line.empty() && line[0] != ' ' && line[0] != '#' && line[0] != '-') {
      keep = false;
      for (const char* k : keys)
        if (line.rfind(std::string(k) + ":", 0) == 0) keep = true;
    }
    out += (keep ? line : "") + "\n";
  }
  return out;
}

std::string mark(const std::string& file, const ConfigNode& n) {
  return file + ":" + std::to_string(n.mark().line + 1) + ":" + std::to_string(n.mark().column + 1);
}

std::string resolve(const std::string& dir, const std::string& p) {
  std::filesystem::path path(p);
  return path.is_absolute() ? p : (std::filesystem::path(dir) / path).lexically_normal().string();
}

}  // namespace

std::string AdminEndpoint::url() const { return (tls ? "https://" : "http://") + address.toString(); }

Result<AdminEndpoint> readAdminEndpoint(const std::string& path) {
  std::ifstream in(path);
  if (!in) return makeError(path + ": cannot read the config file");
  std::stringstream whole;
  whole << in.rdbuf();
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  try {
    std::string blocks = topLevelBlocks(whole.str(), {"listen", "admin"});
    ConfigTree tree = ConfigTree::parse(blocks);
    ConfigNode root = tree.root();
    if (!root["listen"] && !root["admin"]) {  // not block style
      tree = ConfigTree::parse(whole.str());
      root = tree.root();
    }
    ConfigNode listen = root["listen"];
    ConfigNode admin_at = listen["admin"];
    if (!admin_at)
      return makeError(path + ": no listen.admin: the daemon serves no admin API (add listen.admin, e.g. \"127.0.0.1:8053\")");
    if (!admin_at.isScalar()) return makeError(mark(path, admin_at) + ": listen.admin: expected HOST:PORT");
    auto sa = SocketAddress::parse(admin_at.scalar());
    if (!sa) return makeError(mark(path, admin_at) + ": listen.admin: " + sa.error());
    AdminEndpoint e;
    e.address = *sa;
    if (sa->address.isUnspecified()) e.address.address = IpAddress::parse(sa->address.isV4() ? "127.0.0.1" : "::1").value();
    if (ConfigNode admin = root["admin"]) {
      if (ConfigNode t = admin["token_file"]) e.token_file = resolve(dir, t.scalar());
      if (ConfigNode tls = admin["tls"]) {
        e.tls = true;
        if (ConfigNode c = tls["cert_file"]) e.tls_cert = resolve(dir, c.scalar());
      }
    }
    return e;
  } catch (const SyntaxError& ex) {
    return makeError(path + ":" + std::to_string(ex.mark.line + 1) + ":" + std::to_string(ex.mark.column + 1) + ": " +
                     ex.message);
  }
}

}  // namespace switchyard::config
