/*
** Fuzz target for the gRPC front end's request path (server_grpc_call:
** the nesting check, protobuf-c's unpacking, the protobuf -> REST JSON
** translation, server_handle and every endpoint behind it, the reply built
** back), without sockets. Input: the first byte picks the method (modulo
** the served ones; 0xff = an unknown method), the second the key (admin,
** tenant, read, none), the rest is the serialized request message. The
** status must be a known gRPC code, an OK call must come with a reply that
** protobuf-c packed, an error with a message; anything else traps. The
** store (a collection `c` of 4-d points with a keyword index) lives in a
** temporary directory made at the first input and removed at exit.
**
** FUZZ_SOURCES: @lib
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/server.h"
#include "fuzz_server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz__init(void) {
    fuzz__open("grpc");
    fuzz__request("PUT", "/collections/c", "{\"vectors\":{\"size\":4,\"distance\":\"Cosine\"}}", FUZZ_ADMIN_KEY);
    fuzz__request("PUT", "/collections/c/points",
                  "{\"points\":[{\"id\":1,\"vector\":[1,0,0,0],\"payload\":{\"k\":\"x\",\"n\":1}},"
                  "{\"id\":\"00000000-0000-4000-8000-000000000003\",\"vector\":[0,0,1,0]}]}",
                  FUZZ_ADMIN_KEY);
    fuzz__request("PUT", "/collections/c/index", "{\"field_name\":\"k\",\"field_schema\":\"keyword\"}", FUZZ_ADMIN_KEY);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!fuzz__ctx) fuzz__init();
    if (size < 2 || size > 65536) return 0;
    size_t n_methods = 0;
    while (server_grpc_method(n_methods)) n_methods++;
    const char *method = data[0] == 0xff ? "/qdrant.Collections/ListShardKeys" : server_grpc_method(data[0] % n_methods);
    static const char *const keys[] = {FUZZ_ADMIN_KEY, FUZZ_TENANT_KEY, FUZZ_READ_KEY, NULL};
    uint8_t *reply = NULL;
    size_t reply_size = 0;
    char msg[SERVER_GRPC_MSG_SIZE];
    int code = server_grpc_call(fuzz__ctx, method, strlen(method), data + 2, size - 2, keys[data[1] % 4], NULL,
                                &reply, &reply_size, msg);
    if (code < 0 || code > 16) __builtin_trap();
    if (code == 0 && !reply) __builtin_trap();
    if (code != 0 && (reply || !msg[0])) __builtin_trap();
    free(reply);
    return 0;
}
