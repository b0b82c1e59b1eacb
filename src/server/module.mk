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

# ==== gRPC (grpc.c, grpc_conv.c) ====
# Qdrant's gRPC API on Debian's gRPC C core (libgrpc-dev) and protobuf-c
# (libprotobuf-c-dev, protobuf-c-compiler). The C message code is generated
# at build time into $(BUILD)/gen/qdrant/ from the file descriptors embedded
# in the pinned npm package @qdrant/js-client-grpc (tools/grpc_descriptors.mjs
# writes them as a FileDescriptorSet; protoc runs protoc-gen-c on it).
# Nothing generated is committed (docs/ARCHITECTURE.md, "gRPC").
LDLIBS += -lgrpc -lgpr -lprotobuf-c
GRPC_GEN := $(BUILD)/gen/qdrant
GRPC_PROTOS := json_with_int qdrant_common collections collections_service points points_service \
               snapshots_service qdrant
GRPC_GEN_SRCS := $(patsubst %,$(GRPC_GEN)/%.pb-c.c,$(GRPC_PROTOS)) $(GRPC_GEN)/google/protobuf/timestamp.pb-c.c
GRPC_GEN_OBJS := $(patsubst $(BUILD)/gen/%.c,$(BUILD)/gen-obj/%.o,$(GRPC_GEN_SRCS))
GRPC_STAMP := $(GRPC_GEN)/.stamp
GRPC_CLIENT_PKG := node_modules/@qdrant/js-client-grpc/package.json

$(GRPC_STAMP): tools/grpc_descriptors.mjs $(GRPC_CLIENT_PKG)
	@rm -rf $(GRPC_GEN) && mkdir -p $(GRPC_GEN)
	node tools/grpc_descriptors.mjs $(GRPC_GEN)/qdrant.pb
	protoc --descriptor_set_in=$(GRPC_GEN)/qdrant.pb --c_out=$(GRPC_GEN) \
	  $(patsubst %,%.proto,$(GRPC_PROTOS)) google/protobuf/timestamp.proto
	@touch $@
$(GRPC_GEN_SRCS): $(GRPC_STAMP)

# Generated code: its own quieter flags (not our warning set).
$(BUILD)/gen-obj/%.o: $(BUILD)/gen/%.c
	@mkdir -p $(dir $@)
	$(CC) -std=c17 $(OPTFLAGS) $(SANFLAGS) -fPIC -fvisibility=hidden -I$(GRPC_GEN) -c $< -o $@

EXTRA_OBJS += $(GRPC_GEN_OBJS)
GRPC_OBJS := $(BUILD)/src/server/grpc.o $(BUILD)/src/server/grpc_conv.o
$(GRPC_OBJS): ALL_CFLAGS += -isystem $(GRPC_GEN)
$(GRPC_OBJS): | $(GRPC_STAMP)
# Before set-up: name the fix instead of a compiler error.
SETUP_CHECK += /usr/include/grpc/grpc.h /usr/include/protobuf-c/protobuf-c.h /usr/bin/protoc-gen-c
/usr/include/grpc/grpc.h /usr/include/protobuf-c/protobuf-c.h /usr/bin/protoc-gen-c:
	@echo "semcode: $@ not found; run scripts/setup.sh (libgrpc-dev, libprotobuf-c-dev, protobuf-c-compiler)" >&2; exit 1
