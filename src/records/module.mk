# records: development records and their sources. The git source reads
# repositories through libgit2 (Debian libgit2-dev, in scripts/setup.sh).

# This file is included before the main targets: keep `make` = `make all`.
.DEFAULT_GOAL := all

LDLIBS += -lgit2
