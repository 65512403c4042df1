# DFCSpice — the two commands of the README, plus a few helpers.
#   make demo   install what is missing, build, run the student–teacher example, write a report
#   make test   install what is missing, build, run the whole test suite (Swift, then the Python package's)
#   make bench  the performance figures of docs/results.md (not part of the tests)
#   make test-kernels  the whole suite under each OpenBLAS kernel set this CPU can run (not part of CI)
#   make fuzz   libFuzzer on the .npy, .npz, config, IDX and raw-file readers (FUZZ_RUNS, FUZZ_SECONDS)

SHELL := /bin/bash
APT_PACKAGES := ngspice libngspice0-dev libopenblas-dev liblapacke-dev pkg-config zlib1g-dev dataset-fashion-mnist slurm-wlm munge
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
SWIFT ?= swift
DEMO_OUT ?= out/demo

# OpenBLAS 0.3.21 falls back to its SSE3 kernels on CPUs it does not know (6× slower
# dgemm here); the test process cannot re-execute itself as dfcspice does, so make picks
# the kernels from the CPU flags (the rule of LinearAlgebra's BLASCore.recommended).
ifeq ($(origin OPENBLAS_CORETYPE),undefined)
OPENBLAS_CORETYPE := $(shell f=$$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null); \
  has() { for x in "$$@"; do echo " $$f " | grep -q " $$x " || return 1; done; }; \
  if has avx512f avx512bw avx512vl avx512dq avx512_bf16; then echo Cooperlake; \
  elif has avx512f avx512bw avx512vl avx512dq; then echo SkylakeX; \
  elif has avx2 fma; then echo Haswell; fi)
ifneq ($(OPENBLAS_CORETYPE),)
export OPENBLAS_CORETYPE
endif
endif

.PHONY: deps build release demo test test-kernels fuzz hostile bench fidelity clean

deps:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi
	@command -v python3 >/dev/null || { $(SUDO) apt-get install -y -qq python3 >/dev/null; }
	@python3 -c "import numpy" 2>/dev/null || { echo "installing numpy (test-only helper)"; \
	  python3 -m pip install -q numpy || DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq python3-numpy >/dev/null; }
	@python3 -c "import pytest" 2>/dev/null || { echo "installing pytest (test-only helper)"; \
	  python3 -m pip install -q pytest || DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq python3-pytest >/dev/null; }
	@command -v $(SWIFT) >/dev/null || { echo "error: swift not found (Swift 6 toolchain needed)"; exit 1; }

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

demo: release
	.build/release/dfcspice demo --config Examples/student-teacher.yaml --out $(DEMO_OUT)
	@echo; cat $(DEMO_OUT)/report.md
	@echo; echo "open $(DEMO_OUT)/compare/report.html for the circuit-versus-ideal plots"

test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test
	DFCSPICE_BIN=$(CURDIR)/.build/debug/dfcspice python3 -m pytest -q -p no:cacheprovider python/tests

# The suite once per OpenBLAS kernel set, to show that no test depends on BLAS's bits
# (docs/training.md, "What is bit-exact"). "default" runs with OPENBLAS_CORETYPE unset:
# OpenBLAS's own choice in the test process, dfcspice's re-executed choice in the CLI tests.
# Kernel sets the CPU lacks (AVX-512 ones on an AVX2 machine) are skipped with a line.
KERNELS ?= Haswell SkylakeX Cooperlake Zen Sandybridge default
test-kernels: deps
	$(SWIFT) build --build-tests
	@flags=$$(grep -m1 '^flags' /proc/cpuinfo); failed=""; \
	for k in $(KERNELS); do \
	  case $$k in SkylakeX|Cooperlake) echo " $$flags " | grep -q ' avx512f ' || { echo "== $$k: skipped (no AVX-512 on this CPU)"; continue; };; esac; \
	  case $$k in Cooperlake) echo " $$flags " | grep -q ' avx512_bf16 ' || { echo "== $$k: skipped (no AVX-512 BF16 on this CPU)"; continue; };; esac; \
	  echo "== OPENBLAS_CORETYPE=$$k"; \
	  if [ $$k = default ]; then env -u OPENBLAS_CORETYPE $(SWIFT) test --skip-build > .build/test-kernel-$$k.log 2>&1; \
	  else OPENBLAS_CORETYPE=$$k $(SWIFT) test --skip-build > .build/test-kernel-$$k.log 2>&1; fi \
	    && tail -1 .build/test-kernel-$$k.log || { failed="$$failed $$k"; grep -E '✘' .build/test-kernel-$$k.log | head -20; }; \
	done; \
	if [ -n "$$failed" ]; then echo "failed under:$$failed (logs in .build/test-kernel-*.log)"; exit 1; fi

# libFuzzer with AddressSanitizer (and so LeakSanitizer) on every reader of untrusted bytes.
# Each target runs until FUZZ_RUNS executions or FUZZ_SECONDS, from the seeds in
# Tests/fuzz/seeds and the corpus it grew before (.build-fuzz/corpus); findings are written
# to .build-fuzz/findings. The memory budget is lowered so that refusals are exercised.
FUZZ_TARGETS ?= npy npz config idx raw
FUZZ_RUNS ?= 1000000
FUZZ_SECONDS ?= 1200
fuzz: deps
	$(SWIFT) build -c release --product dfcspice-fuzz --scratch-path .build-fuzz \
	  -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -DFUZZING -Xcc -fsanitize=fuzzer-no-link,address
	@mkdir -p .build-fuzz/findings; failed=""; \
	for t in $(FUZZ_TARGETS); do \
	  mkdir -p .build-fuzz/corpus/$$t; \
	  DFCSPICE_FUZZ_TARGET=$$t DFCSPICE_MAX_MEMORY=256M ASAN_OPTIONS=detect_leaks=1 \
	    .build-fuzz/release/dfcspice-fuzz -runs=$(FUZZ_RUNS) -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 \
	    -artifact_prefix=.build-fuzz/findings/$$t- -print_final_stats=1 .build-fuzz/corpus/$$t Tests/fuzz/seeds/$$t \
	    > .build-fuzz/$$t.log 2>&1 || failed="$$failed $$t"; \
	  printf '%-7s %s, %s\n' $$t "$$(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' .build-fuzz/$$t.log | grep -o '[0-9]*$$') executions" \
	    "$$(grep -m1 -o 'stat::average_exec_per_sec: *[0-9]*' .build-fuzz/$$t.log | grep -o '[0-9]*$$')/s"; \
	done; \
	if [ -n "$$failed" ]; then echo "findings in:$$failed (see .build-fuzz/<target>.log and .build-fuzz/findings)"; exit 1; fi

# The hostile-input corpus alone, with every case's error line (it also runs in make test).
hostile: build
	python3 Tests/hostile/corpus.py .build/debug/dfcspice --verbose

bench: release
	.build/release/dfcspice bench --figure .build/epoch-seconds.svg
	.build/release/dfcspice bench --netlist-only
	.build/release/dfcspice bench --spice-only

# Circuit against ideal for every circuit option and the realistic preset (about 15 minutes):
# the table of docs/results.md, "Circuits as hardware builds them".
fidelity: release
	Examples/circuits/fidelity.sh .build/release/dfcspice

clean:
	rm -rf .build out
