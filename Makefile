# Go's concurrency patterns in C - top-level build.
#
#   make            build the core, every lesson and the benchmark (needs only a
#                   C compiler and make; the test binaries need Criterion and
#                   are built by the test targets)
#   make test       run every test: optimised, ASan+UBSan (leaks fatal), TSan,
#                   and the lesson programs under valgrind
#   make help       list every target
#
# Everything is built out of tree: build/ (optimised), build/asan/, build/tsan/.

CC      ?= cc
ifeq ($(origin CC),default)
CC      := gcc
endif
CFLAGS  ?=
WARN    := -Wall -Wextra -Werror
BASE    := -std=c11 -pthread -I. $(WARN)
# The core (common/) is built with no -D at all, as DESIGN.md promises: each
# file asks for the feature-test macros it needs, and common/os.c alone knows
# the platform. Tests, lessons and tools still get glibc's full set (tests
# read Linux's /proc and call gettid); pattern-specific: empty for common/.
GNU_DEFS := -D_GNU_SOURCE
LDLIBS  := -pthread -lm

CRITERION_LIBS := $(shell pkg-config --libs criterion 2>/dev/null || echo -lcriterion)

# The three configurations: where they build and how they compile.
release_DIR    := build
release_CFLAGS := -O2 -g
# `make` and `make run` need no Criterion: release-tests builds the tests.
release_PROGRAMS_ONLY := 1
asan_DIR       := build/asan
asan_CFLAGS    := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
tsan_DIR       := build/tsan
tsan_CFLAGS    := -O1 -g -fsanitize=thread -Itests/tsan
# Criterion cannot run under TSan: its tests use the in-process runner.
tsan_SHIM      := 1
# A configuration may name its own compiler and archiver (NAME_CC, NAME_AR:
# clang or a cross compiler in mk/platforms.mk); otherwise $(CC) and ar.
cc_of = $(or $($(1)_CC),$(CC))

CORE_SRC    := $(sort $(wildcard common/*.c))
LESSONS     := $(patsubst %/main.c,%,$(sort $(wildcard [0-9][0-9]-*/main.c)))
SUPPORT_SRC := $(sort $(wildcard tests/support/*.c))
TEST_SRC    := $(sort $(wildcard tests/test_*.c))
BENCH_SRC   := $(sort $(wildcard bench/*.c))
TEST_PROG_SRC := $(sort $(wildcard tests/programs/*.c))

# A lesson's code under test: every .c in its folder but main.c and
# article.c (tests link it): the pattern module, and the program's own
# parts main.c calls (a producer, a report, 04's examples). article.c is the article's program with its bugs kept on
# purpose, for the demos of main.c: no test certifies it, and no exercise
# replaces it.
module_src = $(filter-out $(1)/main.c $(1)/article.c,$(wildcard $(1)/*.c))
# Sources a chapter's tests link besides the core: tests/test_bench_*.c
# drive the textbook channel of common/README.md, which lives in bench/.
extra_test_src_bench := bench/textbook_chan.c
# tests/test_01_worker_pool.c -> 01 ; tests/test_common_chan.c -> common
test_chapter = $(word 2,$(subst _, ,$(notdir $(1))))
lesson_of    = $(filter $(1)-%,$(LESSONS))

.DEFAULT_GOAL := all

define CONFIG_RULES
# ---------------------------------------------------------------- $(1)
$(1)_LIB     := $$($(1)_DIR)/lib/libgoc.a
$(1)_PROGS   := $$(addprefix $$($(1)_DIR)/,$$(LESSONS))
$(1)_TESTS   := $$(patsubst tests/%.c,$$($(1)_DIR)/tests/%,$$(TEST_SRC))
$(1)_CCX     := $$(call cc_of,$(1))
$(1)_ARX     := $$(or $$($(1)_AR),ar)
$(1)_BENCH   := $$(if $$(BENCH_SRC),$$($(1)_DIR)/bench)

$$($(1)_DIR)/obj/common/%.o: GNU_DEFS :=
$$($(1)_DIR)/obj/%.o: %.c
	@mkdir -p $$(@D)
	$$($(1)_CCX) $$(BASE) $$(GNU_DEFS) $$($(1)_CFLAGS) $$(CFLAGS) -DGOC_BUILD_DIR='"$$($(1)_DIR)"' -MMD -MP -c $$< -o $$@

$$($(1)_LIB): $$(patsubst %.c,$$($(1)_DIR)/obj/%.o,$$(CORE_SRC))
	@mkdir -p $$(@D)
	rm -f $$@ && $$($(1)_ARX) rcs $$@ $$^

$$($(1)_DIR)/bench: $$(patsubst %.c,$$($(1)_DIR)/obj/%.o,$$(BENCH_SRC)) $$($(1)_LIB)
	$$($(1)_CCX) $$($(1)_CFLAGS) $$^ -o $$@ $$(LDLIBS)

# Helper programs that tests run (tests/programs/*.c, each with a main).
$(1)_TEST_PROGS := $$(patsubst tests/programs/%.c,$$($(1)_DIR)/tests/programs/%,$$(TEST_PROG_SRC))
$$($(1)_DIR)/tests/programs/%: $$($(1)_DIR)/obj/tests/programs/%.o $$($(1)_LIB)
	@mkdir -p $$(@D)
	$$($(1)_CCX) $$($(1)_CFLAGS) $$^ -o $$@ $$(LDLIBS)

# NAME builds what runs without Criterion; NAME-tests adds the test binaries
# (and what they start). In the sanitizer builds NAME includes the tests.
$(1)-tests: $$($(1)_TESTS) $$($(1)_TEST_PROGS) $$($(1)_PROGS) $$($(1)_BENCH)
$(1): $$($(1)_LIB) $$($(1)_PROGS) $$($(1)_BENCH) \
	$$(if $$($(1)_PROGRAMS_ONLY),,$$($(1)_TESTS) $$($(1)_TEST_PROGS))

-include $$(shell find $$($(1)_DIR)/obj -name '*.d' 2>/dev/null)
endef

# One program per lesson: its main.c and module, linked with the core.
define PROGRAM_RULE
$$($(1)_DIR)/$(2): $$(patsubst %.c,$$($(1)_DIR)/obj/%.o,$$(wildcard $(2)/*.c)) $$($(1)_LIB)
	$$($(1)_CCX) $$($(1)_CFLAGS) $$^ -o $$@ $$(LDLIBS)
endef

# One test binary per tests/test_*.c: the test, the support helpers, the
# module of the lesson it tests, the core, and Criterion (or, in a NAME_SHIM
# configuration such as TSan, the small in-process runner in tests/tsan/).
define TEST_RULE
$$($(1)_DIR)/tests/$(notdir $(basename $(2))): $$(patsubst %.c,$$($(1)_DIR)/obj/%.o,$(2) $$(SUPPORT_SRC) \
		$$(call module_src,$$(call lesson_of,$$(call test_chapter,$(2)))) \
		$$(extra_test_src_$$(call test_chapter,$(2))) \
		$$(if $$($(1)_SHIM),tests/tsan/runner.c)) $$($(1)_LIB)
	@mkdir -p $$(@D)
	$$($(1)_CCX) $$($(1)_CFLAGS) $$^ -o $$@ $$(if $$($(1)_SHIM),,$$(CRITERION_LIBS)) $$(LDLIBS)
endef

$(foreach c,release asan tsan,$(eval $(call CONFIG_RULES,$(c))))
$(foreach c,release asan tsan,$(foreach l,$(LESSONS),$(eval $(call PROGRAM_RULE,$(c),$(l)))))
$(foreach c,release asan tsan,$(foreach t,$(TEST_SRC),$(eval $(call TEST_RULE,$(c),$(t)))))

.PHONY: all release release-tests asan asan-tests tsan tsan-tests test test-release test-asan test-tsan test-valgrind \
	check-valgrind test-common run bench bench-go clean format help deps \
	$(foreach l,$(LESSONS),run-$(firstword $(subst -, ,$(l))) test-$(firstword $(subst -, ,$(l))))

all: release

deps:
	@scripts/install-deps.sh

# ---------------------------------------------------------------- tests
# scripts/run-tests.sh CONFIG BIN... runs Criterion binaries (or the TSan
# runner) and fails unless each one ran at least one test and all passed,
# and no sanitizer or valgrind report was written.
RUN_TESTS = scripts/run-tests.sh

test: deps
	@$(MAKE) --no-print-directory release release-tests asan tsan
	@$(MAKE) --no-print-directory -j1 test-release test-asan test-tsan test-valgrind
	@echo "make test: all configurations passed"

# The suite runs under both runtimes (common/sched.h): the M:N scheduler and
# one thread per goroutine. RUNTIMES=mn (or threads) runs only one of them.
RUNTIMES ?= mn threads
# $(call each_runtime,COMMAND): COMMAND once per runtime, stopping at the
# first failure.
each_runtime = set -e; for rt in $(RUNTIMES); do GOC_RUNTIME=$$rt $(1); done

test-release: release-tests
	@$(call each_runtime,$(RUN_TESTS) release $(release_TESTS))
test-asan: asan release
	@$(call each_runtime,$(RUN_TESTS) asan $(asan_TESTS))
test-tsan: tsan release
	@$(call each_runtime,$(RUN_TESTS) tsan $(tsan_TESTS))
test-valgrind: release
	@$(call each_runtime,$(RUN_TESTS) valgrind-programs $(release_PROGS))
check-valgrind: release-tests
	@$(call each_runtime,$(RUN_TESTS) valgrind $(release_TESTS))
	@$(MAKE) --no-print-directory stress-valgrind

test-common: deps
	@$(MAKE) --no-print-directory release release-tests asan tsan
	@$(call each_runtime,$(RUN_TESTS) release $(filter build/tests/test_common_%,$(release_TESTS)))
	@$(call each_runtime,$(RUN_TESTS) asan $(filter build/asan/tests/test_common_%,$(asan_TESTS)))
	@$(call each_runtime,$(RUN_TESTS) tsan $(filter build/tsan/tests/test_common_%,$(tsan_TESTS)))

define CHAPTER_RULES
test-$(1): deps
	@$$(MAKE) --no-print-directory release release-tests asan tsan
	@$$(call each_runtime,$$(RUN_TESTS) release $$(filter build/tests/test_$(1)_%,$$(release_TESTS)))
	@$$(call each_runtime,$$(RUN_TESTS) asan $$(filter build/asan/tests/test_$(1)_%,$$(asan_TESTS)))
	@$$(call each_runtime,$$(RUN_TESTS) tsan $$(filter build/tsan/tests/test_$(1)_%,$$(tsan_TESTS)))
	@$$(call each_runtime,$$(RUN_TESTS) valgrind-programs build/$(2))
run-$(1): build/$(2)
	./build/$(2)
endef
$(foreach l,$(LESSONS),$(eval $(call CHAPTER_RULES,$(firstword $(subst -, ,$(l))),$(l))))

run: release
	@for l in $(LESSONS); do \
		printf '\n======== %s ========\n' "$$l"; ./build/$$l || exit 1; \
	done

bench: release
	@scripts/bench.sh build/bench

bench-go: release
	@scripts/install-deps.sh go
	@scripts/bench-go.sh build/bench

# Further targets live in mk/*.mk (stress, fuzz, exercises, ...).
-include $(sort $(wildcard mk/*.mk))

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build

help:
	@echo "make                 build the core, the lessons and the benchmark (optimised) into build/"
	@echo "make test            every test in every configuration (installs Criterion if missing)"
	@echo "make release-tests   build the optimised test binaries (needs Criterion) without running them"
	@echo "make test-common     the core's tests only"
	@$(foreach l,$(LESSONS),echo "make test-$(firstword $(subst -, ,$(l)))              tests of $(l)";)
	@$(foreach l,$(LESSONS),echo "make run-$(firstword $(subst -, ,$(l)))               run ./build/$(l)";)
	@$(foreach l,$(LESSONS),echo "make exercise-$(firstword $(subst -, ,$(l)))          tests of $(l) against your $(l)/exercises/ file";)
	@echo "make check-exercises every starter fails its tests, every solution passes"
	@echo "make exercises       write the starters from the EXERCISE regions of the modules"
	@echo "make check-exercises-fresh  fail if a committed starter is not what its regions give"
	@echo "make run             run every lesson, one after another"
	@echo "make asan | tsan     sanitizer builds into build/asan, build/tsan"
	@echo "make check-valgrind  every test binary and the stress programs under valgrind memcheck"
	@echo "make stress          stress programs at full size (stress-ci: CI sizes, release + TSan)"
	@echo "make soak            a 60 s mixed run whose threads and memory must not grow"
	@echo "make fuzz            libFuzzer on the core for FUZZ_SECONDS (fuzz-ci: 30 s; needs clang)"
	@echo "make check-portable  the suite on the POSIX-only path of common/os.c (what macOS and the BSDs take)"
	@echo "make check-clang     the release build and the suite with clang"
	@echo "make check-aarch64   lessons and tests cross-built for aarch64, run under qemu-user"
	@echo "make check-musl      the lessons built with musl-gcc, run with several flags"
	@echo "make preflight       before a workshop: compiler, build, Criterion, exercise 01; READY or what to install"
	@echo "make check-layers    fail on an include cycle in common/; print its layers, leaf first"
	@echo "make check-code-quotes  fail if common/README.md quotes a line of code that is gone"
	@echo "make check-html      every lesson's timeline page in headless Chromium (needs chromium)"
	@echo "make pictures        each lesson's page as NN-name/timeline.png (needs chromium)"
	@echo "make bench           the benchmark workloads (bench/README.md)"
	@echo "make bench-go        the same workloads in Go, side by side (needs golang-go)"
	@echo "make format          clang-format every source file"
	@echo "make clean           remove build/"
