# Entry points a person types. CMake does the real work (see CMakePresets.json).
PRESET ?= release
BUILD_DIR := build/$(PRESET)

.PHONY: deps build run test test-unit test-integration test-asan test-tsan fuzz check bench bench-full bench-cluster cluster deb clean

deps:
	@bash scripts/install-deps.sh

build: deps
	@cmake --preset $(PRESET) >/dev/null
	@cmake --build --preset $(PRESET)

# Builds and starts natterd on its embedded defaults (data in ./natter-data).
run: build
	$(BUILD_DIR)/natterd

# Everything CI runs: unit tests, then integration tests against real natterd processes.
test: build
	@bash scripts/run-tests.sh $(BUILD_DIR)

# The same suites under AddressSanitizer with UBSan, and under ThreadSanitizer.
test-asan:
	@$(MAKE) --no-print-directory test PRESET=asan

test-tsan:
	@$(MAKE) --no-print-directory test PRESET=tsan

# libFuzzer targets (fuzz/), each for FUZZ_SECONDS on its seed corpus.
FUZZ_SECONDS ?= 60
fuzz: deps
	@bash scripts/fuzz.sh $(FUZZ_SECONDS)

# Everything CI runs (.ci/run).
check: test test-asan test-tsan fuzz

test-unit: build
	@cd $(BUILD_DIR) && ctest --output-on-failure -L unit

test-integration: build
	@cd $(BUILD_DIR) && ctest --output-on-failure -L integration

# Load tests (docs/benchmarks.md): natter-bench against a natterd of their own,
# reports in bench-results/. Quick: every scenario, small sizes, under 3 minutes.
bench:
	@bash scripts/bench.sh quick

# The sizes of design.md section 5 (19,000 connections, 1,000-member groups...).
bench-full:
	@bash scripts/bench.sh full

# A local cluster on loopback (docs/operations.md): build, then start it.
cluster: build
	@bash scripts/cluster.sh start

# The same load through HAProxy against a local cluster of three nodes.
bench-cluster:
	@bash scripts/bench-cluster.sh

# The Debian package (docs/operations.md, "Packaging"), always from the release preset:
# build/release/natter_<version>_<arch>.deb.
deb: deps
	@cmake --preset release >/dev/null
	@cmake --build --preset release
	@cd build/release && cpack -G DEB

clean:
	rm -rf build
