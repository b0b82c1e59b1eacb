/*
** semcode: semantic search for source code. Umbrella header of the public
** C API; include this one. Each layer has its own header beside it.
*/
#ifndef SEMCODE_H
#define SEMCODE_H

#include "common.h"
#include "store.h"
#include "snapshot.h"
#include "provider.h"
#include "repo.h"
#include "parse.h"
#include "walk.h"
#include "embed.h"
#include "transformer.h"
#include "rank.h"
#include "records.h"
#include "workspace.h"
#include "watch.h"
#include "mcp.h"

#endif /* SEMCODE_H */
