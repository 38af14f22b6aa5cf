/* SPDX-License-Identifier: MIT */
/* trace/trc_recall.c -- recalls: a regulator's signed recall of a class
 * (lot) or of objects, its scope (the forward set, computed at query time,
 * growing as later events arrive), the affected parties' acknowledgements
 * and lifting (docs/trace.md, Recalls; docs/format.md section 5.4). */
#include "ledger/ldg.h"
#include "trace/trc_impl.h"

#include <string.h>

cm_err
trc_recall_covering(struct ldg_txn *t, const trc_id *id, uint64_t size,
                    uint64_t *out, cm_diag *d)
{
	(void) t;
	(void) id;
	(void) size;
	(void) d;
	*out = 0; /* no recall records yet */
	return (CM_OK);
}
