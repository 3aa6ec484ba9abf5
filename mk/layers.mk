# mk/layers.mk - the core reads leaf-first (common/README.md): no module of
# common/ includes, directly or through others, a module that includes it.
#
#   make check-layers   fails on an include cycle between the modules of
#                       common/ and prints the circle; otherwise prints the
#                       layers, leaf first (scripts/check-layers.sh)
#   make check-quotes   fails if a line of a ```c block of common/README.md
#                       is no longer in common/ or bench/ (the chapter
#                       quotes the code as it is: scripts/check-quotes.sh)

.PHONY: check-layers check-quotes
check-layers:
	@scripts/check-layers.sh common

check-quotes:
	@scripts/check-quotes.sh common/README.md
