# Quick start: `make demo` and `make test` work on a fresh Debian 12 machine.
# Both install missing Debian packages first (only when something is missing).

BUILD      ?= build
JOBS       ?= 2
# Build + test dependencies (Debian 12 package names).
PACKAGES   := build-essential cmake ninja-build pkg-config libuv1-dev libyaml-dev \
              libspdlog-dev libfmt-dev libcli11-dev catch2 libldns-dev dnsutils knot-dnsutils \
              libcurl4-openssl-dev libcpp-httplib-dev libssl-dev nlohmann-json3-dev prometheus-cpp-dev docker-registry openssl \
              prometheus libbenchmark-dev chromium python3-yaml systemd unbound skopeo umoci \
              clang libclang-rt-14-dev etcd-server docker.io pdns-recursor knot-resolver
CMAKE_ARGS ?=
ifeq ($(CI),true)
  CMAKE_ARGS += -DSWITCHYARD_WERROR=ON
endif
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all deps build test demo check asan fuzz clean

all: build

deps:
	@missing=$$(for p in $(PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing missing packages:" $$missing; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; \
	fi

build: deps
	cmake -S . -B $(BUILD) -G Ninja $(CMAKE_ARGS)
	cmake --build $(BUILD) -j $(JOBS)

test: build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS) --timeout 300

# Serves deploy/examples/switchyard.yaml on 127.0.0.1:15353 and [::1]:15353 until Ctrl-C.
# The demo: one docker-registry per replica of deploy/examples/switchyard.yaml,
# then switchyard in the foreground; Ctrl-C stops everything (deploy/demo/run.sh).
demo: build
	bash deploy/demo/run.sh ./$(BUILD)/daemon/switchyard

check: build
	./$(BUILD)/daemon/switchyard --check --config deploy/examples/switchyard.yaml

# Everything under AddressSanitizer and UBSan, in its own build tree.
asan:
	$(MAKE) test BUILD=build-asan CMAKE_ARGS="$(CMAKE_ARGS) -DSWITCHYARD_SANITIZE=address,undefined -DCMAKE_BUILD_TYPE=Debug"

# libFuzzer targets (clang, ASan + UBSan) for the query parser, EDNS/ECS and the
# config loader, each run for FUZZ_SECONDS from the committed seeds (tests/fuzz).
FUZZ_SECONDS ?= 60
fuzz: deps
	cmake -S . -B build-fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DSWITCHYARD_TESTS=OFF -DSWITCHYARD_FUZZ=ON \
	  -DSWITCHYARD_SANITIZE=address,undefined $(CMAKE_ARGS)
	cmake --build build-fuzz -j $(JOBS) --target fuzz_query fuzz_edns fuzz_config
	tests/fuzz/run.sh build-fuzz $(FUZZ_SECONDS)

clean:
	rm -rf build build-asan build-fuzz
