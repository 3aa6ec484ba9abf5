# mk/html.mk - the timeline pages (trace_write_html, --html FILE), included
# by the Makefile.
#
#   make check-html   every lesson's page loaded in headless Chromium: no
#                     JavaScript error, no request, the lanes and arrows the
#                     trace says; screenshots in build/html/NAME/timeline.png
#   make pictures     each lesson's page as NN-name/timeline.png, the pictures
#                     the chapters show (checked in: run it after a change
#                     that alters what the pages look like)
#
# Both need Chromium: `scripts/install-deps.sh chromium` installs Debian's
# package. scripts/check-html.sh does the work for one lesson.
#
# The page's template, common/trace_page.html, reaches the C code as
# common/trace_page.c (scripts/embed-page.sh); the rule below regenerates it
# when the template changes, and check-html fails if the checked-in copy is
# stale.

common/trace_page.c: common/trace_page.html scripts/embed-page.sh
	scripts/embed-page.sh common/trace_page.html $@

# Small runs whose arrows are known: 05 with n = 20 and one sink crosses
# 20 + 20 + 10 links (see tests/test_05_flags.c).
HTML_CHECK_ARGS_01-worker-pool    := --workers 3 --tasks 8 --work-ms 5
HTML_CHECK_ARGS_02-fan-in-fan-out := --workers 3 --jobs 8 --work-ms 5
HTML_CHECK_ARGS_03-semaphore      := --tasks 6 --limit 2 --work-ms 5
HTML_CHECK_ARGS_04-context        := --task-ms 60 --cancel-after-ms 20 --timeout-ms 20
HTML_CHECK_ARGS_05-pipeline       := --n 20 --sinks 1 --sink-ms 0
HTML_CHECK_ARROWS_05-pipeline     := 50

# The pictures: runs slow enough for spans to show, short enough to read.
HTML_PICTURE_ARGS_01-worker-pool    := --workers 3 --tasks 8 --work-ms 40
HTML_PICTURE_ARGS_02-fan-in-fan-out := --workers 3 --jobs 8 --work-ms 40
HTML_PICTURE_ARGS_03-semaphore      := --tasks 7 --limit 3 --work-ms 40
HTML_PICTURE_ARGS_04-context        := --task-ms 150 --cancel-after-ms 60 --timeout-ms 60
HTML_PICTURE_ARGS_05-pipeline       := --n 8 --sinks 1 --sink-ms 2

.PHONY: check-html pictures

check-html: release
	@mkdir -p build/html
	@scripts/embed-page.sh common/trace_page.html build/html/trace_page.c
	@cmp -s build/html/trace_page.c common/trace_page.c || \
		{ echo "check-html: common/trace_page.c is stale: run make" >&2; exit 1; }
	@$(foreach l,$(LESSONS),scripts/check-html.sh \
		$(if $(HTML_CHECK_ARROWS_$(l)),--arrows $(HTML_CHECK_ARROWS_$(l))) \
		build/$(l) $(HTML_CHECK_ARGS_$(l)) &&) true
	@echo "check-html: every lesson's page passed"

pictures: release
	@$(foreach l,$(LESSONS),scripts/check-html.sh --png $(l)/timeline.png \
		build/$(l) $(HTML_PICTURE_ARGS_$(l)) &&) true
