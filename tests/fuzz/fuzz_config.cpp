// libFuzzer target: any bytes as a config file. The loader must not crash,
// throw or hang, and every error must say where: "fuzz.yaml:LINE:COLUMN: ..."
// or at least "fuzz.yaml: ..." for a file-level problem.
#include <cstddef>
#include <cstdint>
#include <string>

#include "config/config_loader.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto result = switchyard::config::loadTopologyText(text, "fuzz.yaml");
  if (!result) FUZZ_EXPECT(result.error().rfind("fuzz.yaml:", 0) == 0);
  return 0;
}
