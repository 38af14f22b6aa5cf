/* SPDX-License-Identifier: MIT */
/* trace/trc_impl.h -- the trace module's internals, shared between its
 * files (and its tests); other modules include only trace/trc.h. */
#ifndef TRACE_TRC_IMPL_H
#define TRACE_TRC_IMPL_H

#include "trace/trc.h"

/* The constrained canonical Digital Link of a GS1 key (host id.gs1.org,
 * finest key only, no CPV, no query), as the event hash writes it. */
cm_err trc_id_canonical_dl(const trc_id *id, cm_buf *out);

#endif /* TRACE_TRC_IMPL_H */
