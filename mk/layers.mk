# mk/layers.mk - the core reads leaf-first (common/README.md): no module of
# common/ includes, directly or through others, a module that includes it.
#
#   make check-layers   fails on an include cycle between the modules of
#                       common/ and prints the circle; otherwise prints the
#                       layers, leaf first (scripts/check-layers.sh)

.PHONY: check-layers
check-layers:
	@scripts/check-layers.sh common
