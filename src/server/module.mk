# server: the HTTP server (`semcode serve`) links libmicrohttpd (Debian
# libmicrohttpd-dev, in scripts/setup.sh). The commit id shown by GET / is
# baked into handle.o at build time.
.DEFAULT_GOAL := all

LDLIBS += -lmicrohttpd
SC_GIT_COMMIT := $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
$(BUILD)/src/server/handle.o: ALL_CFLAGS += -DSC_GIT_COMMIT=\"$(SC_GIT_COMMIT)\"

# The web page (web.c): web/ and highlight.js from node_modules become
# $(BUILD)/gen/web_assets.c (tools/embed_web.sh), compiled into the library.
WEB_FILES := web/index.html web/app.css web/app.js
WEB_GEN := $(BUILD)/gen/web_assets.c
EXTRA_OBJS += $(BUILD)/gen/web_assets.o
SETUP_CHECK += node_modules/highlight.js/lib/core.js
$(WEB_GEN): $(WEB_FILES) tools/embed_web.sh node_modules/highlight.js/package.json
	@mkdir -p $(dir $@)
	bash tools/embed_web.sh $@
$(BUILD)/gen/web_assets.o: $(WEB_GEN)
	$(CC) $(ALL_CFLAGS) -c $< -o $@
