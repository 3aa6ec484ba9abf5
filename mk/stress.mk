# mk/stress.mk - the stress programs (stress/*.c), included by the Makefile.
#
#   make stress        every stress program at the sizes of issue 9 (optimised build)
#   make stress-ci     smaller sizes, optimised AND ThreadSanitizer builds (for CI)
#   make stress-asan   the CI sizes under ASan+UBSan
#   make stress-valgrind  small sizes under valgrind memcheck (part of make check-valgrind)
#   make soak          the mixed run for SOAK_SECONDS (60): threads and RSS must not grow
#
# Each program is a plain pthread program with its own main() (no Criterion,
# so TSan can run it), linked with the core of its configuration:
# build/stress/NAME, build/asan/stress/NAME, build/tsan/stress/NAME. It
# exits 1 with "stress NAME: FAIL: ..." on any violated invariant, or after
# a hang (its watchdog), and ends with one "stress NAME: OK: ..." line.
# `build/stress/NAME --help` lists its sizes.

STRESS_SRC   := $(sort $(wildcard stress/*.c))
STRESS_NAMES := $(filter-out soak,$(notdir $(basename $(STRESS_SRC))))

define STRESS_RULE
$$($(1)_DIR)/stress/$(2): $$($(1)_DIR)/obj/stress/$(2).o $$($(1)_LIB)
	@mkdir -p $$(@D)
	$$(CC) $$($(1)_CFLAGS) $$^ -o $$@ $$(LDLIBS)
endef
$(foreach c,release asan tsan,$(foreach s,$(notdir $(basename $(STRESS_SRC))),\
	$(eval $(call STRESS_RULE,$(c),$(s)))))

# Sizes. Full: the issue's numbers. CI: a few seconds each, optimised. TSan
# runs code 5-15x slower and serialises much of it, hence smaller still.
# --limit-s turns a hang into a failure (with a goroutine dump) that soon.
STRESS_ARGS_mpmc               := --values 10000000
STRESS_ARGS_select_storm       := --threads 32 --channels 16 --sends 50000 --closers 4 --ms 3000
STRESS_ARGS_ctx_storm          := --contexts 10000 --trees 50 --threads 16
STRESS_ARGS_sema_storm         := --threads 16 --rounds 20000
STRESS_CI_ARGS_mpmc            := --values 1000000 --limit-s 60
STRESS_CI_ARGS_select_storm    := --threads 16 --channels 12 --sends 10000 --closers 3 --ms 1000 --limit-s 60
STRESS_CI_ARGS_ctx_storm       := --contexts 10000 --trees 10 --threads 8 --limit-s 60
STRESS_CI_ARGS_sema_storm      := --threads 16 --rounds 5000 --limit-s 60
STRESS_TSAN_ARGS_mpmc          := --values 200000 --limit-s 120
STRESS_TSAN_ARGS_select_storm  := --threads 12 --channels 8 --sends 4000 --closers 2 --ms 1000 --limit-s 120
STRESS_TSAN_ARGS_ctx_storm     := --contexts 10000 --trees 4 --threads 8 --limit-s 120
STRESS_TSAN_ARGS_sema_storm    := --threads 16 --rounds 2000 --limit-s 120
# valgrind runs one thread at a time, 20-50x slower: about 10 s each.
STRESS_VALGRIND_ARGS_mpmc         := --values 100000 --limit-s 300
STRESS_VALGRIND_ARGS_select_storm := --threads 12 --channels 8 --sends 2000 --closers 2 --ms 2000 --limit-s 300
STRESS_VALGRIND_ARGS_ctx_storm    := --contexts 10000 --trees 4 --threads 8 --limit-s 300
STRESS_VALGRIND_ARGS_sema_storm   := --threads 16 --rounds 2000 --limit-s 300

SOAK_SECONDS ?= 60

# $(call run_stress,DIR,ARGS-PREFIX,ENV): runs every program of DIR with its
# arguments and environment, under each of $(RUNTIMES) (the Makefile's), and
# prints how long each took; stops at the first failure.
stress_one = for rt in $(RUNTIMES); do start=$$(date +%s%N); \
	echo "+ GOC_RUNTIME=$$rt $(3) $(1) $(2)"; \
	GOC_RUNTIME=$$rt $(3) $(1) $(2) || exit 1; \
	echo "  ($$(( ($$(date +%s%N) - start) / 1000000 )) ms)"; done;
run_stress = @$(foreach s,$(STRESS_NAMES),$(call stress_one,$(1)/stress/$(s),$($(2)_$(s)),$(3)))

.PHONY: stress stress-ci stress-release-ci stress-tsan-ci stress-asan stress-valgrind soak

stress: $(addprefix $(release_DIR)/stress/,$(STRESS_NAMES))
	$(call run_stress,$(release_DIR),STRESS_ARGS)
	@echo "make stress: every stress program passed"

stress-release-ci: $(addprefix $(release_DIR)/stress/,$(STRESS_NAMES))
	$(call run_stress,$(release_DIR),STRESS_CI_ARGS)

# TSan: halt_on_error so the first race ends the program, with an exit code
# that says so even if the program would have finished.
stress-tsan-ci: $(addprefix $(tsan_DIR)/stress/,$(STRESS_NAMES))
	$(call run_stress,$(tsan_DIR),STRESS_TSAN_ARGS,TSAN_OPTIONS="halt_on_error=1 exitcode=66")

# tests/lsan.supp: the sanitizer's own block held by a thread still
# starting at exit (the file says why); nothing of ours is hidden.
stress-asan: $(addprefix $(asan_DIR)/stress/,$(STRESS_NAMES))
	$(call run_stress,$(asan_DIR),STRESS_CI_ARGS,ASAN_OPTIONS="detect_leaks=1:fast_unwind_on_malloc=0" \
		LSAN_OPTIONS="suppressions=$(CURDIR)/tests/lsan.supp")

# The same leak kinds as scripts/run-tests.sh (it says why "possibly lost"
# is left out); any memcheck error or leak makes valgrind exit 99.
STRESS_VALGRIND := valgrind -q --leak-check=full --show-leak-kinds=definite,indirect \
	--errors-for-leak-kinds=definite,indirect --error-exitcode=99
stress-valgrind: $(addprefix $(release_DIR)/stress/,$(STRESS_NAMES))
	$(call run_stress,$(release_DIR),STRESS_VALGRIND_ARGS,$(STRESS_VALGRIND))

# One after the other even under make -j: they time themselves, and
# sharing two cores would only make both slower.
stress-ci:
	@$(MAKE) --no-print-directory stress-release-ci
	@$(MAKE) --no-print-directory stress-tsan-ci
	@echo "make stress-ci: every stress program passed (optimised and TSan)"

soak: $(release_DIR)/stress/soak
	$(release_DIR)/stress/soak --seconds $(SOAK_SECONDS)
