# server: the HTTP server (`semcode serve`) links libmicrohttpd (Debian
# libmicrohttpd-dev, in scripts/setup.sh). The commit id shown by GET / is
# baked into handle.o at build time.
.DEFAULT_GOAL := all

LDLIBS += -lmicrohttpd
SC_GIT_COMMIT := $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
$(BUILD)/src/server/handle.o: ALL_CFLAGS += -DSC_GIT_COMMIT=\"$(SC_GIT_COMMIT)\"
