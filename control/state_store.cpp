#include "control/state_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

namespace switchyard::control {

namespace {

// The whole file; nullopt when it does not exist (ENOENT, and only that: a
// file that exists but cannot be read is an error, never "absent", or the
// next write would replace what it holds).
Result<std::optional<std::string>> readWhole(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::optional<std::string>();
    return makeError(path + ": cannot open: " + std::strerror(errno));
  }
  std::string text;
  char buf[65536];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      std::string why = std::strerror(errno);
      ::close(fd);
      return makeError(path + ": cannot read: " + why);
    }
    text.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return std::optional<std::string>(std::move(text));
}

// A version-1 state file: null when absent, an error naming the file when
// unreadable or corrupt.
Result<nlohmann::json> readStateFile(const std::string& path) {
  auto text = readWhole(path);
  if (!text) return Error{text.error()};
  if (!*text) return nlohmann::json();
  try {
    auto j = nlohmann::json::parse(**text);
    if (!j.is_object() || j.value("version", 0) != 1) return makeError(path + ": unknown version");
    return j;
  } catch (const nlohmann::json::exception& e) {
    return makeError(path + ": " + e.what());
  }
}

// A key that names no pair cannot be applied to anything: it is skipped
// (with a warning), so one bad entry does not cost every good one.
std::optional<PairKey> key(const std::string& path, const std::string& text) {
  auto k = PairKey::parse(text);
  if (!k) spdlog::warn("event=state_entry_skipped file={} key='{}' (not registry/region)", path, text);
  return k;
}

}  // namespace

Result<HealthStates> StateStore::loadHealth() const {
  HealthStates out;
  if (!enabled()) return out;
  auto file = readStateFile(healthPath());
  if (!file) return Error{file.error()};
  if (file->is_null()) return out;
  const auto& j = *file;
  try {
    for (const auto& [text, value] : j.at("pairs").items()) {
      auto k = key(healthPath(), text);
      std::string s = value.get<std::string>();
      if (!k) continue;
      if (s == "up") out[*k] = policy::Health::Up;
      else if (s == "down") out[*k] = policy::Health::Down;
      else return makeError(healthPath() + ": pair '" + text + "' has unknown state '" + s + "'");
    }
  } catch (const nlohmann::json::exception& e) {
    return makeError(healthPath() + ": " + e.what());
  }
  return out;
}

Result<PairSet> StateStore::loadLagging() const {
  PairSet out;
  if (!enabled()) return out;
  auto file = readStateFile(healthPath());
  if (!file) return Error{file.error()};
  if (file->is_null() || !file->contains("lagging")) return out;
  try {
    for (const auto& text : file->at("lagging")) {
      if (auto k = key(healthPath(), text.get<std::string>())) out.insert(*k);
    }
  } catch (const nlohmann::json::exception& e) {
    return makeError(healthPath() + ": " + e.what());
  }
  return out;
}

std::string StateStore::encodeHealth(const HealthStates& states, const PairSet& lagging) {
  nlohmann::json pairs = nlohmann::json::object();
  for (const auto& [k, h] : states)
    if (h != policy::Health::Unknown) pairs[k.str()] = policy::healthName(h);
  nlohmann::json lag = nlohmann::json::array();
  for (const auto& k : lagging) lag.push_back(k.str());
  // "lagging" is new in version 1 files: readers that predate it ignore it.
  return nlohmann::json{{"version", 1}, {"pairs", pairs}, {"lagging", lag}}.dump(1) + "\n";
}

Result<Overrides> StateStore::loadOverrides() const {
  Overrides out;
  if (!enabled()) return out;
  auto file = readStateFile(overridesPath());
  if (!file) return Error{file.error()};
  if (file->is_null()) return out;
  const auto& j = *file;
  try {
    for (const auto& [text, value] : j.at("globalEndpointRouting").items()) {
      bool enabled = value.get<bool>();  // a non-boolean is corruption: an error, below
      if (auto k = key(overridesPath(), text)) out[*k] = enabled;
    }
  } catch (const nlohmann::json::exception& e) {
    return makeError(overridesPath() + ": " + e.what());
  }
  return out;
}

Result<std::string> StateStore::loadCatalogText() const {
  if (!enabled()) return std::string();
  auto file = readWhole(catalogPath());
  if (!file) return Error{file.error()};
  return file->value_or("");
}

Result<std::string> StateStore::loadJournalText() const {
  if (!enabled()) return std::string();
  auto file = readWhole(journalPath());
  if (!file) return Error{file.error()};
  return file->value_or("");
}

namespace {

void syncDirectoryOf(const std::string& path) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

}  // namespace

Result<bool> StateStore::appendJournal(const std::string& bytes) const {
  const std::string path = journalPath();
  auto fail = [&](const char* what) { return makeError(std::string(what) + " " + path + ": " + std::strerror(errno)); };
  const bool existed = ::access(path.c_str(), F_OK) == 0;
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return fail("open");
  const off_t was = ::lseek(fd, 0, SEEK_END);
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      auto error = fail("write");
      if (was >= 0 && ::ftruncate(fd, was) == 0) ::fdatasync(fd);
      ::close(fd);
      return error;
    }
    done += static_cast<size_t>(n);
  }
  if (::fdatasync(fd) != 0) {
    auto error = fail("fdatasync");
    if (was >= 0 && ::ftruncate(fd, was) == 0) ::fdatasync(fd);
    ::close(fd);
    return error;
  }
  ::close(fd);
  if (!existed) syncDirectoryOf(path);
  return true;
}

Result<bool> StateStore::clearJournal() const {
  const std::string path = journalPath();
  int fd = ::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? Result<bool>(true) : makeError("truncate " + path + ": " + std::strerror(errno));
  bool ok = ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return makeError("fsync " + path + ": " + std::strerror(errno));
  return true;
}

std::string StateStore::encodeOverrides(const Overrides& overrides) {
  nlohmann::json flags = nlohmann::json::object();
  for (const auto& [k, enabled] : overrides) flags[k.str()] = enabled;
  return nlohmann::json{{"version", 1}, {"globalEndpointRouting", flags}}.dump(1) + "\n";
}

Result<uint32_t> StateStore::loadSerialFloor() const {
  if (!enabled()) return 0u;
  auto file = readStateFile(serialPath());
  if (!file) return Error{file.error()};
  if (file->is_null()) return 0u;
  try {
    return file->at("serialFloor").get<uint32_t>();
  } catch (const nlohmann::json::exception& e) {
    return makeError(serialPath() + ": " + e.what());
  }
}

std::string StateStore::encodeSerial(uint32_t floor) {
  return nlohmann::json{{"version", 1}, {"serialFloor", floor}}.dump(1) + "\n";
}

Result<bool> StateStore::writeAtomically(const std::string& path, const std::string& content) {
  std::string tmp = path + ".tmp";
  auto fail = [&](const char* what) { return makeError(std::string(what) + " " + tmp + ": " + std::strerror(errno)); };
  // 0600: the state directory is the daemon's own (catalog.json may hold
  // probe headers with credentials).
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return fail("open");
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      ::close(fd);
      return fail("write");
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    ::close(fd);
    return fail("fsync");
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return fail("rename");
  syncDirectoryOf(path);  // the rename itself must survive a crash
  return true;
}

}  // namespace switchyard::control
