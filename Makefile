# The README's two commands, from a fresh clone on Debian 12:
#   make run    install the missing Debian packages, build, start the node on its defaults
#   make test   the same set-up, then the whole test suite (what .ci/run runs)
# Everything else is plain CMake + CTest; see README.md.

BUILD ?= build
JOBS ?= 2
# Everything the build, the tests, the benches (wrk, nginx-light: bench/edge_sold_out.sh) and
# the node need, as Debian 12 ships it.
PACKAGES := cmake g++ make pkg-config libcaf-dev libnats-dev nats-server libcpp-httplib-dev \
            nlohmann-json3-dev libsqlite3-dev libgtest-dev libssl-dev libjemalloc-dev chromium \
            haproxy prometheus-cpp-dev prometheus libjs-chart.js python3-jsonschema python3-yaml \
            dpkg-dev file curl systemd adduser iproute2 iptables openssl debian-archive-keyring \
            libcli11-dev wrk nginx-light clang-format
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: deps build run test format format-check

deps:
	@missing=$$(for p in $(PACKAGES); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; \
	done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:" $$missing; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@# Cluster mode and its tests need nats-server >= 2.12 (docs/NATS.md); Debian 12 ships 2.9.10.
	@# Debian unstable's package, unpacked into the build tree with a private apt state.
	$(SUDO) sh packaging/fetch-nats-server.sh $(BUILD)/deps/nats

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build $(BUILD) -j$(JOBS)

run: build
	$(BUILD)/cli/flashsale serve

test: build format-check
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS) --timeout 900

# Every C++ source as .clang-format has it (Debian 12's clang-format 14). `make format` fixes.
SOURCES = $$(find actors bench cli cluster config events fuzz http node payments persistence tests \
            -name '*.cpp' -o -name '*.hpp')

format-check: deps
	@clang-format --dry-run --Werror $(SOURCES) || \
	  { echo "sources differ from .clang-format: run 'make format'"; exit 1; }

format:
	clang-format -i $(SOURCES)
