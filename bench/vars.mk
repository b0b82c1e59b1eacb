# Prints a variable of the main build: `make -f Makefile -f bench/vars.mk print-LDLIBS`.
# bench/bench.mk uses it to link with exactly the libraries libsemcode.a needs.
print-%:
	@echo $($*)
