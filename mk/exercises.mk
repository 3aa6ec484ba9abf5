# mk/exercises.mk - the learners' exercises (included by the top-level Makefile).
#
#   make exercise-NN            lesson NN's tests, built against the learner's
#                               NN-name/exercises/<module>.c instead of the lesson's
#                               own module, and run (release build)
#   make exercise-NN-solution   the same tests through the same rule, against the
#                               lesson's module: what a finished exercise looks like
#   make check-exercises        for every lesson, proves that the untouched starter
#                               FAILS its tests and the solution passes (CI)
#   make exercises              writes every starter, NN-name/exercises/<module>.c,
#                               from the EXERCISE regions marked in the lesson's
#                               module (scripts/make-exercises.sh says how)
#   make check-exercises-fresh  fails if a committed starter differs from what
#                               its module's regions give (CI)
#
# How the swap works: a lesson's test binary links every .c of the lesson
# folder except main.c (module_src in the Makefile). Here, each of those files
# that has a namesake in NN-name/exercises/ is replaced by it; the test file
# (tests/test_NN_*.c), tests/support and the core are the usual ones. So the
# learner's binary is build/exercises/test_NN_<name>, the solution's
# build/exercises/solution/test_NN_<name>. The end-to-end tests in those files
# run the lesson's program (build/NN-name), built from the solution as usual.
#
# Running goes through scripts/check-exercises.sh, which caps every test's
# timeout (EXERCISE_TIMEOUT, seconds), because a starter or a half-finished
# exercise typically deadlocks and a learner should not wait 20 s per test.

EXERCISE_LESSONS := $(patsubst %/exercises/,%,$(sort $(dir $(wildcard [0-9][0-9]-*/exercises/*.c))))
EXERCISE_TIMEOUT ?= 10
CHECK_EXERCISES  := scripts/check-exercises.sh

# 01-worker-pool -> 01
exercise_nn = $(firstword $(subst -, ,$(1)))
# The test files of lesson $(1): tests/test_NN_*.c
exercise_tests = $(filter tests/test_$(call exercise_nn,$(1))_%,$(TEST_SRC))
# The module sources of lesson $(1), each one with a namesake in exercises/
# replaced by it.
exercise_module = $(foreach f,$(call module_src,$(1)),$(or $(wildcard $(1)/exercises/$(notdir $(f))),$(f)))

# One exercise test binary: $(1) lesson, $(2) test source, $(3) output folder,
# $(4) the module sources to link. Objects come from the release pattern rule
# (build/obj/...), so 01-worker-pool/exercises/worker_pool.c compiles to
# build/obj/01-worker-pool/exercises/worker_pool.o with the usual flags.
define EXERCISE_TEST_RULE
$(3)/$(notdir $(basename $(2))): $$(patsubst %.c,$$(release_DIR)/obj/%.o,$(2) $$(SUPPORT_SRC) $(4)) \
		$$(release_LIB)
	@mkdir -p $$(@D)
	$$(CC) $$(release_CFLAGS) $$^ -o $$@ $$(CRITERION_LIBS) $$(LDLIBS)
endef

define EXERCISE_LESSON_RULES
$(foreach t,$(call exercise_tests,$(1)),$(eval $(call EXERCISE_TEST_RULE,$(1),$(t),build/exercises,$(call exercise_module,$(1)))))
$(foreach t,$(call exercise_tests,$(1)),$(eval $(call EXERCISE_TEST_RULE,$(1),$(t),build/exercises/solution,$(call module_src,$(1)))))

exercise_bins_$(call exercise_nn,$(1)) := $(patsubst tests/%.c,build/exercises/%,$(call exercise_tests,$(1)))
solution_bins_$(call exercise_nn,$(1)) := $(patsubst tests/%.c,build/exercises/solution/%,$(call exercise_tests,$(1)))

# The end-to-end tests run build/NN-name, so it is built too.
exercise-$(call exercise_nn,$(1)): $$(exercise_bins_$(call exercise_nn,$(1))) build/$(1)
	@EXERCISE_TIMEOUT=$$(EXERCISE_TIMEOUT) $$(CHECK_EXERCISES) run $(1) $$(exercise_bins_$(call exercise_nn,$(1)))

exercise-$(call exercise_nn,$(1))-solution: $$(solution_bins_$(call exercise_nn,$(1))) build/$(1)
	@EXERCISE_TIMEOUT=$$(EXERCISE_TIMEOUT) $$(CHECK_EXERCISES) run $(1) $$(solution_bins_$(call exercise_nn,$(1)))

.PHONY: exercise-$(call exercise_nn,$(1)) exercise-$(call exercise_nn,$(1))-solution
endef
$(foreach l,$(EXERCISE_LESSONS),$(eval $(call EXERCISE_LESSON_RULES,$(l))))

# The script builds each lesson's binaries itself (through make), so that a
# starter that does not compile is told apart from one whose tests fail.
.PHONY: check-exercises
check-exercises:
	+@MAKE="$(MAKE)" $(CHECK_EXERCISES) check $(EXERCISE_LESSONS)

# The starters are written from the modules, never edited by hand: a fix to
# a module reaches its starter at the next `make exercises`.
.PHONY: exercises check-exercises-fresh
exercises:
	@scripts/make-exercises.sh write

check-exercises-fresh:
	@scripts/make-exercises.sh check
