# mk/layers.mk - the core reads leaf-first (common/README.md): no module of
# common/ includes, directly or through others, a module that includes it.
#
#   make check-layers       fails on an include cycle between the modules of
#                           common/ and prints the circle; otherwise prints
#                           the layers, leaf first (scripts/check-layers.sh)
#   make check-code-quotes  fails if a line of a ```c block of
#                           common/README.md is no longer in common/ or bench/:
#                           the chapter quotes the code as it is
#                           (scripts/check-code-quotes.sh; the outputs the
#                           chapters quote are scripts/check-quotes.py's)

.PHONY: check-layers check-code-quotes
check-layers:
	@scripts/check-layers.sh common

check-code-quotes:
	@scripts/check-code-quotes.sh common/README.md
