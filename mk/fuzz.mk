# mk/fuzz.mk - the libFuzzer harness (fuzz/), included by the Makefile.
#
#   make fuzz          fuzz for FUZZ_SECONDS (default 60) from the seeds in fuzz/corpus
#   make fuzz-ci       the same for 30 s
#   make fuzz-replay   only replay the committed seeds (a second; a regression check)
#
# Needs clang with its sanitizer and libFuzzer runtimes (Debian: clang and
# libclang-rt-14-dev). The harness and the whole core are compiled together
# with -fsanitize=fuzzer,address,undefined into build/fuzz/fuzz_core. Inputs
# the fuzzer finds interesting go to build/fuzz/corpus (not committed: the
# seeds in fuzz/corpus stay a small, readable set); a failing input is
# written to build/fuzz/findings/ and the target fails. Replay one with
#     FUZZ_TRACE=1 build/fuzz/fuzz_core build/fuzz/findings/crash-...

FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_DIR     := build/fuzz
FUZZ_CFLAGS  := -std=c11 -pthread -I. $(WARN) -O1 -g \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_SRC     := $(sort $(wildcard fuzz/*.c))

$(FUZZ_DIR)/fuzz_core: $(FUZZ_SRC) $(wildcard fuzz/*.h) $(CORE_SRC) $(wildcard common/*.h)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SRC) $(CORE_SRC) -o $@ $(LDLIBS)

# -timeout: a single input that runs for seconds is a hang (a blocking call
# the model thought could not block); -max_len keeps inputs readable.
.PHONY: fuzz fuzz-ci fuzz-replay
fuzz: $(FUZZ_DIR)/fuzz_core
	@mkdir -p $(FUZZ_DIR)/corpus $(FUZZ_DIR)/findings
	$(FUZZ_DIR)/fuzz_core -max_total_time=$(FUZZ_SECONDS) -timeout=10 -max_len=512 \
		-print_final_stats=1 -artifact_prefix=$(FUZZ_DIR)/findings/ \
		$(FUZZ_DIR)/corpus fuzz/corpus
	@echo "make fuzz: no failure in $(FUZZ_SECONDS) s"

fuzz-ci:
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=30

fuzz-replay: $(FUZZ_DIR)/fuzz_core
	$(FUZZ_DIR)/fuzz_core fuzz/corpus/*
