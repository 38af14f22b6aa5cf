/* SPDX-License-Identifier: MIT */
/* tools/cli_credit_score.c -- `tally credit score|public|list`: a
 * subject's score at a tree size and an as-of day (credit/crd.h,
 * crd_score_compute), what must be published about it, and the lists for
 * risk-based supervision (by grade, by category since a day).  Reads
 * only: the local administrator's read of the data directory (query
 * records, for readers that name themselves, come with the access
 * commands).  The hooks other parts fill (queries, disputes, repair, the
 * trace inspections) are wired in score_hooks(). */
#include "credit/crd.h"
#include "tools/cli.h"
#include "trace/trc.h"

#include <stdlib.h>
#include <string.h>

static const char usage_score[] =
    "usage: tally credit score USCC --data DIR [--as-of YYYY-MM-DD]\n"
    "                              [--size N] [--json]\n"
    "       tally credit public USCC --data DIR [--as-of YYYY-MM-DD]\n"
    "                               [--size N] [--json]\n"
    "       tally credit list (--grade G | --category C [--since DATE])\n"
    "                         --data DIR [--as-of DATE] [--size N] [--json]\n"
    "score: the subject's score and grade with the scorecard and catalogue\n"
    "adopted in the first N leaves (default: all; rounded down to a\n"
    "commit, printed as used), as of the end of DATE in Asia/Shanghai\n"
    "(default: the day of the log time at N, never the clock): sub-scores\n"
    "per category, the top reasons (leaf, item, points), the query count,\n"
    "the checkpoint, and the days on which the score changes without any\n"
    "action, with the score and grade after each.  Same inputs, same bytes.\n"
    "public: what must be published (public items in their windows, with\n"
    "the day each stops being public) and the public grade.\n"
    "list: subjects with grade G, or events of category C decided on or\n"
    "after DATE (not revoked), one per line.\n";

/* ---- trace's inspections (docs/trace.md section 6.5) ----
 * A regulator's or an inspection body's non-conformant result that trace
 * linked to the producer (trc_inspections) is a fact against it: no item
 * (the scorer takes the catalogue's first item of type inspection),
 * severity general, on the day of the event's time, the event's leaf as
 * its leaf.  This is the one place where trace and credit meet. */
typedef struct insp_ctx {
	crd_fact_fn fn;
	void       *arg;
} insp_ctx;

static cm_err
insp_fact(void *arg, const trc_inspection *in)
{
	insp_ctx *c = arg;
	crd_fact  f;

	memset(&f, 0, sizeof(f));
	f.op = CRD_OP_EVENT;
	f.leaf = f.current = in->leaf;
	memcpy(f.subject, in->producer, sizeof(f.subject));
	memcpy(f.issuer, in->inspector, sizeof(f.issuer));
	f.severity = CRD_GENERAL;
	f.occurred = f.decided =
	    crd_day_of_ms(in->time_ms < 0 ? 0 : (uint64_t) in->time_ms);
	f.ended = f.until = CRD_DAY_NONE;
	return (c->fn(c->arg, &f));
}

static cm_err
hook_inspections(void *arg, ldg_txn *t, const char *uscc, uint64_t size,
                 crd_fact_fn fn, void *fnarg)
{
	insp_ctx c = {fn, fnarg};

	(void) arg;
	return (trc_inspections(t, uscc, size, insp_fact, &c));
}

/* The hooks of the parts that build on scores: the access part's query
 * records, disputes and repairs (crd_access_hooks), and trace's
 * inspections. */
static const crd_hooks *
score_hooks(void)
{
	static crd_hooks h;
	static bool      made;

	if (!made) {
		h = *crd_access_hooks();
		h.extra_facts = hook_inspections;
		made = true;
	}
	return (&h);
}

static crd_day
day_opt(const opts *o, const char *name)
{
	const char *v = opt(o, name);
	crd_day     day;

	if (v == NULL)
		return (CRD_DAY_NONE);
	if (crd_day_parse(v, strlen(v), &day) != CM_OK)
		die(EX_USAGE, "--%s must be a date YYYY-MM-DD, not \"%s\"",
		    name, v);
	return (day);
}

static void
out_write(const cm_buf *b)
{
	if (b->len > 0 && fwrite(b->p, 1, b->len, stdout) != b->len)
		die(EX_USAGE, "cannot write the output");
}

static int
score_one(const opts *o, bool public_)
{
	ldg_store  *s;
	ldg_txn    *t;
	crd_score   sc;
	cm_buf      b = {0};
	cm_diag     d;
	const char *u;
	cm_err      rv;

	if (o->npos != 1)
		die(EX_USAGE, "%s needs one USCC (see --help)",
		    public_ ? "public" : "score");
	u = o->pos[0];
	s = store_open(need(o, "data"), true);
	t = rtxn(s);
	cm_diag_clear(&d);
	rv = crd_score_compute(t, u, opt_u64(o, "size", 0), day_opt(o, "as-of"),
	                       public_, score_hooks(), &sc, &d);
	if (rv == CM_EINVAL || rv == CM_ENOTFOUND)
		die(EX_NO, "%s", d.msg[0] ? d.msg : cm_strerror(rv));
	if (rv != CM_OK)
		die(exit_for(rv), "cannot score %s: %s", u,
		    d.msg[0] ? d.msg : cm_strerror(rv));
	rv = public_ ? crd_public_render(&sc, opt(o, "json") != NULL, &b)
	             : crd_score_render(&sc, opt(o, "json") != NULL, &b);
	if (rv != CM_OK)
		die(EX_USAGE, "out of memory");
	out_write(&b);
	cm_buf_fini(&b);
	crd_score_fini(&sc);
	ldg_txn_end(t);
	ldg_close(s);
	return (EX_OK);
}

typedef struct lister {
	ldg_txn    *t;
	uint64_t    size;
	crd_day     as_of, since;
	const char *grade, *category;
	bool        json;
	cm_buf      out;
	size_t      n;
} lister;

static cm_err
list_grade(void *arg, const char *uscc)
{
	lister   *l = arg;
	crd_score sc;
	cm_diag   d;
	cm_err    rv;

	cm_diag_clear(&d);
	if ((rv = crd_score_compute(l->t, uscc, l->size, l->as_of, false,
	                            score_hooks(), &sc, &d)) != CM_OK) {
		crd_score_fini(&sc);
		/* A subject a USCC exception admitted may no longer be
		 * scorable: skip only what is no valid code. */
		return (rv == CM_EINVAL ? CM_OK : rv);
	}
	if (strcmp(sc.grade, l->grade) == 0) {
		if (l->json)
			(void) cm_buf_printf(
			    &l->out,
			    "%s{\"subject\":\"%s\",\"score\":%d,"
			    "\"grade\":\"%s\"}",
			    l->n ? "," : "", uscc, sc.score, sc.grade);
		else
			(void) cm_buf_printf(&l->out, "%s %d %s\n", uscc,
			                     sc.score, sc.grade);
		l->n++;
	}
	crd_score_fini(&sc);
	return (CM_OK);
}

static cm_err
list_fact(void *arg, const crd_fact *f)
{
	lister *l = arg;
	char    day[11];

	if (f->revoked != 0 || strcmp(f->category, l->category) != 0 ||
	    f->decided < l->since)
		return (CM_OK);
	crd_day_format(f->decided, day);
	if (l->json)
		(void) cm_buf_printf(
		    &l->out,
		    "%s{\"subject\":\"%s\",\"leaf\":%llu,"
		    "\"current\":%llu,\"item\":\"%s\","
		    "\"severity\":\"%s\",\"decided\":\"%s\","
		    "\"issuer\":\"%s\"}",
		    l->n ? "," : "", f->subject, (unsigned long long) f->leaf,
		    (unsigned long long) f->current, f->item,
		    crd_severity_name(f->severity), day, f->issuer);
	else
		(void) cm_buf_printf(
		    &l->out, "%s leaf %llu %s %s decided %s by %s\n",
		    f->subject, (unsigned long long) f->leaf, f->item,
		    crd_severity_name(f->severity), day, f->issuer);
	l->n++;
	return (CM_OK);
}

/* The subjects with events of the category decided since the day, from
 * the category index, each listed once, in USCC order, from its record
 * at the size. */
typedef struct subjects {
	char (*u)[LDG_USCC_LEN + 1];
	size_t n, cap;
} subjects;

static cm_err
subject_add(void *arg, uint64_t leaf, crd_day decided, const char *uscc)
{
	subjects *s = arg;

	(void) leaf;
	(void) decided;
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 16;
		s->u = xalloc(cm_realloc(s->u, s->cap * sizeof(*s->u)));
	}
	memcpy(s->u[s->n++], uscc, LDG_USCC_LEN + 1);
	return (CM_OK);
}

static int
uscc_cmp(const void *a, const void *b)
{
	return (memcmp(a, b, LDG_USCC_LEN));
}

static cm_err
list_category(lister *l)
{
	subjects s = {0};
	cm_err   rv;

	rv = crd_category_events(
	    l->t, CM_BYTES(l->category, strlen(l->category)),
	    l->since == CRD_DAY_NONE ? 0 : l->since, l->size, subject_add, &s);
	if (s.n > 0)
		qsort(s.u, s.n, sizeof(*s.u), uscc_cmp);
	for (size_t i = 0; i < s.n && rv == CM_OK; i++)
		if (i == 0 || memcmp(s.u[i], s.u[i - 1], LDG_USCC_LEN) != 0)
			rv = crd_facts(l->t, CM_BYTES(s.u[i], LDG_USCC_LEN),
			               l->size, list_fact, l);
	cm_free(s.u);
	return (rv);
}

static int
list(const opts *o)
{
	ldg_store *s = store_open(need(o, "data"), true);
	ldg_txn   *t = rtxn(s);
	lister     l;
	uint64_t   ltime;
	cm_err     rv;

	memset(&l, 0, sizeof(l));
	opt_exclusive(o, "grade", "category");
	if (opt(o, "grade") == NULL && opt(o, "category") == NULL)
		die(EX_USAGE, "list needs --grade or --category (see --help)");
	if (opt(o, "since") != NULL && opt(o, "category") == NULL)
		die(EX_USAGE, "--since goes with --category");
	if (o->npos != 0)
		die(EX_USAGE, "list takes no USCC (see --help)");
	l.t = t;
	l.json = opt(o, "json") != NULL;
	l.grade = opt(o, "grade");
	l.category = opt(o, "category");
	l.since = day_opt(o, "since");
	l.size = opt_u64(o, "size", ldg_size(t));
	if (l.size == 0 || l.size > ldg_size(t))
		die(EX_NO, "size %llu is past the ledger's %llu leaves",
		    (unsigned long long) l.size,
		    (unsigned long long) ldg_size(t));
	if ((rv = crd_size_floor(t, l.size, &l.size, &ltime)) != CM_OK)
		die(exit_for(rv), "cannot read the ledger: %s",
		    cm_strerror(rv));
	l.as_of = day_opt(o, "as-of");
	if (l.as_of == CRD_DAY_NONE)
		l.as_of = crd_day_of_ms(ltime);
	if (l.json)
		(void) cm_buf_printf(&l.out, "{\"size\":%llu,\"items\":[",
		                     (unsigned long long) l.size);
	else
		(void) cm_buf_printf(&l.out, "size %llu\n",
		                     (unsigned long long) l.size);
	rv = l.grade != NULL ? crd_subjects(t, l.size, list_grade, &l)
	                     : list_category(&l);
	if (rv != CM_OK)
		die(exit_for(rv), "cannot list: %s", cm_strerror(rv));
	if (l.json)
		(void) cm_buf_printf(&l.out, "]}\n");
	if (l.out.p == NULL)
		die(EX_USAGE, "out of memory");
	out_write(&l.out);
	cm_buf_fini(&l.out);
	ldg_txn_end(t);
	ldg_close(s);
	return (EX_OK);
}

int
cli_credit_score(int argc, char **argv)
{
	opts o;
	int  ex;

	if ((ex = group_parse(argc, argv,
	                      " data size as-of json! grade category since ",
	                      usage_score, &o)) >= 0)
		return (ex);
	if (strcmp(argv[0], "list") != 0 &&
	    (opt(&o, "grade") || opt(&o, "category") || opt(&o, "since")))
		die(EX_USAGE, "--grade, --category and --since are for list");
	if (strcmp(argv[0], "score") == 0)
		return (score_one(&o, false));
	if (strcmp(argv[0], "public") == 0)
		return (score_one(&o, true));
	return (list(&o));
}
