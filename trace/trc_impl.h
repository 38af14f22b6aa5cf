/* SPDX-License-Identifier: MIT */
/* trace/trc_impl.h -- the trace module's internals, shared between its
 * files (and its tests); other modules include only trace/trc.h. */
#ifndef TRACE_TRC_IMPL_H
#define TRACE_TRC_IMPL_H

#include "trace/trc.h"

/* The constrained canonical Digital Link of a GS1 key (host id.gs1.org,
 * finest key only, no CPV, no query), as the event hash writes it. */
cm_err trc_id_canonical_dl(const trc_id *id, cm_buf *out);

/* An xsd:dateTime with a zone as ms since 1970 UTC (trace/trc_hash.c). */
bool trc_time_ms(const char *s, size_t n, int64_t *out);

/* Calls fn for each prefix -> IRI an @context value defines: objects of
 * prefix -> IRI string, alone or in an array (remote contexts are not
 * fetched).  Views borrow from v.  (trace/trc_hash.c) */
typedef void (*trc_prefix_fn)(void *arg, const char *p, size_t pl,
                              const char *iri, size_t il);
void trc_context_prefixes(const cm_json *v, trc_prefix_fn fn, void *arg);

#endif /* TRACE_TRC_IMPL_H */
