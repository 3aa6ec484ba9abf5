# mk/platforms.mk - the core and the lessons on other platforms, from this
# Linux x86-64 machine (included by the top-level Makefile).
#
#   make check-portable  the core with every Linux-only path compiled out
#                        (-DGOC_OS_PORTABLE: the path macOS and the BSDs take
#                        in common/os.c) and the portable context switch
#                        (-DGOC_CORO_UCONTEXT: what a CPU other than x86-64
#                        and aarch64 takes in common/coro.c), and the whole
#                        Criterion suite on it
#   make check-clang     the release build and the Criterion suite with clang
#   make check-aarch64   the core, lessons and tests cross-compiled for aarch64
#                        and run under qemu-user; tests through the in-process
#                        runner (tests/tsan/runner.c, without TSan), because
#                        Criterion is not packaged for the cross target
#   make check-musl      the core and the lessons with musl-gcc, each lesson
#                        run with its defaults and a few flags
#   make check-platforms all four
#   make preflight       before a workshop: can this machine do the exercises?
#
# Every check runs under each of $(RUNTIMES) (M:N and threads), as make test
# does. Each configuration is one more NAME in the Makefile's CONFIG_RULES, built
# into its own folder (build/portable, build/clang, build/aarch64,
# build/musl), so the checks can run side by side (make -j2 check-portable
# check-musl). Each check first says what it needs and installs what is
# missing through scripts/install-deps.sh, as `make test` does.

portable_DIR    := build/portable
portable_CFLAGS := -O2 -g -DGOC_OS_PORTABLE -DGOC_CORO_UCONTEXT
clang_DIR       := build/clang
clang_CC        := clang
clang_CFLAGS    := -O2 -g
aarch64_DIR     := build/aarch64
aarch64_CC      := aarch64-linux-gnu-gcc
aarch64_AR      := aarch64-linux-gnu-ar
aarch64_CFLAGS  := -O2 -g -Itests/tsan
aarch64_SHIM    := 1
musl_DIR        := build/musl
musl_CC         := musl-gcc
musl_CFLAGS     := -O2 -g
musl_PROGRAMS_ONLY := 1

PLATFORM_CONFIGS := portable clang aarch64 musl
$(foreach c,$(PLATFORM_CONFIGS),$(eval $(call CONFIG_RULES,$(c))))
$(foreach c,$(PLATFORM_CONFIGS),$(foreach l,$(LESSONS),$(eval $(call PROGRAM_RULE,$(c),$(l)))))
$(foreach c,portable clang aarch64,$(foreach t,$(TEST_SRC),$(eval $(call TEST_RULE,$(c),$(t)))))

# qemu-user runs the aarch64 binaries; -L is where the target's loader and
# libraries live. The tests put the same words in front of every lesson
# program they start (tests/support: run_program).
QEMU_AARCH64 := qemu-aarch64 -L /usr/aarch64-linux-gnu

.PHONY: check-portable check-clang check-aarch64 check-musl check-platforms preflight

check-portable:
	@echo "check-portable: needs what make test needs (Criterion, ...): scripts/install-deps.sh"
	@scripts/install-deps.sh test
	@$(MAKE) --no-print-directory portable-tests
	@$(call each_runtime,$(RUN_TESTS) release $(portable_TESTS))

check-clang:
	@echo "check-clang: needs clang and Criterion: scripts/install-deps.sh clang"
	@scripts/install-deps.sh clang
	@$(MAKE) --no-print-directory clang clang-tests
	@$(call each_runtime,$(RUN_TESTS) release $(clang_TESTS))

check-aarch64:
	@echo "check-aarch64: needs gcc-aarch64-linux-gnu, libc6-dev-arm64-cross, qemu-user: scripts/install-deps.sh aarch64"
	@scripts/install-deps.sh aarch64
	@$(MAKE) --no-print-directory aarch64 aarch64-tests
	@$(call each_runtime,GOC_RUN_WRAPPER="$(QEMU_AARCH64)" scripts/check-programs.sh $(aarch64_DIR))
	@$(call each_runtime,GOC_RUN_WRAPPER="$(QEMU_AARCH64)" $(RUN_TESTS) shim $(aarch64_TESTS))

check-musl:
	@echo "check-musl: needs musl-gcc (musl-tools): scripts/install-deps.sh musl"
	@scripts/install-deps.sh musl
	@$(MAKE) --no-print-directory $(musl_PROGS)
	@$(call each_runtime,scripts/check-programs.sh $(musl_DIR))

check-platforms: check-portable check-clang check-aarch64 check-musl

# Before a workshop (WORKSHOP.md): compiler, build, lesson 01, Criterion and
# the exercise-01 starter's known failures; ends with READY or what to install.
preflight:
	@scripts/preflight.sh
