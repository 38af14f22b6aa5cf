/* SPDX-License-Identifier: MIT */
/* tools/cli_trace_master.c -- `tally trace bind|claim|confirm|delegate|
 * undelegate|name|parties`: trace's master data (trace/trc.h, docs/trace.md
 * section 6).  Each write builds its record with trc_master_encode (a
 * malformed field is refused here, naming it), signs it with KEYFILE and
 * appends it; the ledger checks who may write it.  parties reads. */
#include "tools/cli.h"
#include "trace/trc.h"

#include <stdio.h>
#include <string.h>

const char cli_trace_master_usage[] =
    "       tally trace bind KEY --owner USCC --data DIR --key REGKEY "
    "[--json]\n"
    "       tally trace claim KEY --data DIR --key ENTKEY [--json]\n"
    "       tally trace confirm KEY --owner USCC --data DIR --key REGKEY\n"
    "                           [--json]\n"
    "       tally trace delegate|undelegate PREFIX --to USCC --data DIR\n"
    "                           --key ENTKEY [--json]\n"
    "       tally trace name ID --name TEXT [--attr ID=VALUE]... --data DIR\n"
    "                        --key KEYFILE [--json]\n"
    "       tally trace parties [ID] --data DIR [--owner USCC] [--json]\n"
    "Master data (docs/trace.md section 6).  KEY is a GS1 company prefix\n"
    "(6 to 12 digits) or a GLN (13 digits).  bind: a regulator with the\n"
    "scope trace.master registers KEY to the enterprise USCC; claim: an\n"
    "enterprise claims KEY for itself (unconfirmed until a regulator\n"
    "confirms: confirm); delegate: the owner of PREFIX lets the enterprise\n"
    "USCC (a contract manufacturer, an importer) commission under it,\n"
    "undelegate stops that; name: a name (and attributes) for a location\n"
    "or party ID (13 digits: a GLN); an enterprise names its own GLNs,\n"
    "its names of others' are shown as claims.  Each prints the receipt.\n"
    "parties lists every bound prefix and GLN (of USCC) with its status\n"
    "and delegations, and every name with its standing; with ID, the\n"
    "owner of ID (by the longest bound prefix) and its name.  Exit 1 when\n"
    "the ledger refuses the record (nothing is written) or ID has none.\n";

static bool
is_digits(const char *s)
{
	if (*s == '\0')
		return (false);
	for (; *s != '\0'; s++)
		if (*s < '0' || *s > '9')
			return (false);
	return (true);
}

static int
master_write(const opts *o, trc_master_in *in)
{
	cm_buf     rec = {0};
	cm_diag    d;
	ldg_store *s;
	cm_key    *k;
	cm_bytes   r;
	int        ex;

	cm_diag_clear(&d);
	if (trc_master_encode(in, &rec, &d) != CM_OK)
		die(EX_NO, "%s; nothing was written", d.msg);
	k = key_load(need(o, "key"));
	s = store_open(need(o, "data"), false);
	r = cm_buf_bytes(&rec);
	ex = sign_and_append(s, k, &r, 1, opt(o, "json") != NULL);
	ldg_close(s);
	cm_key_free(k);
	cm_buf_fini(&rec);
	return (ex);
}

/* ID as text trc_id_parse takes: 13 digits are a GLN. */
static const char *
id_text(const char *id, char *buf, size_t cap)
{
	if (strlen(id) == 13 && is_digits(id)) {
		snprintf(buf, cap, "https://id.gs1.org/414/%s", id);
		return (buf);
	}
	return (id);
}

static int
master_name(const opts *o, trc_master_in *in)
{
	static char ids[TRC_ATTRS_MAX][TRC_ATTR_MAX + 1];
	char        buf[TRC_ID_TEXT_MAX + 32];

	in->id = id_text(o->pos[0], buf, sizeof(buf));
	in->name = need(o, "name");
	for (size_t i = 0; i < o->n; i++) {
		const char *v = o->val[i], *eq;
		size_t      l;

		if (strcmp(o->name[i], "attr") != 0)
			continue;
		if (in->nattrs == TRC_ATTRS_MAX)
			die(EX_USAGE, "at most %d --attr", TRC_ATTRS_MAX);
		if ((eq = strchr(v, '=')) == NULL || eq == v ||
		    (l = (size_t) (eq - v)) > TRC_ATTR_MAX)
			die(EX_USAGE, "--attr must be ID=VALUE, not \"%s\"", v);
		memcpy(ids[in->nattrs], v, l);
		ids[in->nattrs][l] = '\0';
		in->attr_id[in->nattrs] = ids[in->nattrs];
		in->attr_val[in->nattrs] = eq + 1;
		in->nattrs++;
	}
	return (master_write(o, in));
}

/* ---- parties ---- */

typedef struct party_ctx {
	ldg_txn   *t;
	bool       json;
	cm_cbor_wr w;
	cm_buf     cbor;
	size_t     n;
} party_ctx;

static cm_err
bind_out(void *arg, const trc_binding *b)
{
	party_ctx *p = arg;
	bool       gln = strlen(b->o.digits) == 13;

	p->n++;
	if (p->json) {
		cm_cbor_wr_map(&p->w, 6);
		cm_cbor_wr_cstr(&p->w, "key");
		cm_cbor_wr_cstr(&p->w, b->o.digits);
		cm_cbor_wr_cstr(&p->w, "leaf");
		cm_cbor_wr_uint(&p->w, b->o.leaf);
		cm_cbor_wr_cstr(&p->w, "type");
		cm_cbor_wr_cstr(&p->w, gln ? "gln" : "prefix");
		cm_cbor_wr_cstr(&p->w, "owner");
		cm_cbor_wr_cstr(&p->w, b->o.uscc);
		cm_cbor_wr_cstr(&p->w, "status");
		cm_cbor_wr_cstr(&p->w, b->o.status == TRC_BOUND_REGISTERED
		                           ? "registered"
		                           : "claimed");
		cm_cbor_wr_cstr(&p->w, "delegates");
		cm_cbor_wr_array(&p->w, b->ndeleg);
		for (size_t i = 0; i < b->ndeleg; i++)
			cm_cbor_wr_cstr(&p->w, b->deleg[i]);
		return (CM_OK);
	}
	printf("%s %s %s %s (leaf %llu)", gln ? "gln" : "prefix", b->o.digits,
	       trc_bound_name(b->o.status), b->o.uscc,
	       (unsigned long long) b->o.leaf);
	for (size_t i = 0; i < b->ndeleg; i++)
		printf("%s%s", i == 0 ? ", delegated to " : " ", b->deleg[i]);
	printf("\n");
	return (CM_OK);
}

static cm_err
name_out(void *arg, cm_bytes key, const trc_name *n)
{
	party_ctx *p = arg;
	char       sh[SHOW_MAX];

	p->n++;
	if (p->json) {
		cm_cbor_wr_map(&p->w, 5);
		cm_cbor_wr_cstr(&p->w, "by");
		cm_cbor_wr_cstr(&p->w, n->by);
		cm_cbor_wr_cstr(&p->w, "key");
		cm_cbor_wr_text(&p->w, key);
		cm_cbor_wr_cstr(&p->w, "leaf");
		cm_cbor_wr_uint(&p->w, n->leaf);
		cm_cbor_wr_cstr(&p->w, "name");
		cm_cbor_wr_cstr(&p->w, n->name);
		cm_cbor_wr_cstr(&p->w, "standing");
		cm_cbor_wr_cstr(&p->w, trc_name_standing_name(n->standing));
		return (CM_OK);
	}
	printf("name %.*s %s by %s (leaf %llu, %s)\n", (int) key.len,
	       (const char *) key.p,
	       text_show(CM_BYTES(n->name, strlen(n->name)), sh), n->by,
	       (unsigned long long) n->leaf,
	       trc_name_standing_name(n->standing));
	return (CM_OK);
}

static int
parties_one(const opts *o, ldg_txn *t)
{
	trc_id      id;
	trc_id_ctx  ic = {0};
	trc_owner   ow;
	trc_name    nm;
	cm_diag     d;
	char        buf[TRC_ID_TEXT_MAX + 32], sh[SHOW_MAX];
	const char *text = id_text(o->pos[0], buf, sizeof(buf));
	bool        has_owner, has_name;
	cm_err      rv;

	cm_diag_clear(&d);
	ic.scans = true;
	if (strlen(text) > TRC_ID_TEXT_MAX ||
	    trc_id_parse(CM_BYTES(text, strlen(text)), &ic, &id, &d) != CM_OK)
		die(EX_NO, "ID: %s", d.msg[0] ? d.msg : "too long");
	rv = trc_key_owner(t, trc_id_key(&id), &ow);
	if (rv != CM_OK && rv != CM_ENOTFOUND)
		die(EX_USAGE, "reading the master data failed");
	has_owner = rv == CM_OK;
	rv = trc_name_of(t, trc_id_key(&id), &nm);
	if (rv != CM_OK && rv != CM_ENOTFOUND)
		die(EX_USAGE, "reading the names failed");
	has_name = rv == CM_OK;
	if (opt(o, "json") != NULL) {
		cm_cbor_wr w;
		cm_buf     b = {0};

		cm_cbor_wr_init(&w, &b);
		cm_cbor_wr_map(&w, 4);
		cm_cbor_wr_cstr(&w, "key");
		cm_cbor_wr_text(&w, trc_id_key(&id));
		cm_cbor_wr_cstr(&w, "name");
		if (has_name) {
			cm_cbor_wr_map(&w, 4);
			cm_cbor_wr_cstr(&w, "by");
			cm_cbor_wr_cstr(&w, nm.by);
			cm_cbor_wr_cstr(&w, "leaf");
			cm_cbor_wr_uint(&w, nm.leaf);
			cm_cbor_wr_cstr(&w, "name");
			cm_cbor_wr_cstr(&w, nm.name);
			cm_cbor_wr_cstr(&w, "standing");
			cm_cbor_wr_cstr(&w,
			                trc_name_standing_name(nm.standing));
		} else {
			cm_cbor_wr_null(&w);
		}
		cm_cbor_wr_cstr(&w, "size");
		cm_cbor_wr_uint(&w, ldg_size(t));
		cm_cbor_wr_cstr(&w, "owner");
		if (has_owner) {
			cm_cbor_wr_map(&w, 4);
			cm_cbor_wr_cstr(&w, "key");
			cm_cbor_wr_cstr(&w, ow.digits);
			cm_cbor_wr_cstr(&w, "leaf");
			cm_cbor_wr_uint(&w, ow.leaf);
			cm_cbor_wr_cstr(&w, "uscc");
			cm_cbor_wr_cstr(&w, ow.uscc);
			cm_cbor_wr_cstr(&w, "status");
			cm_cbor_wr_cstr(&w, ow.status == TRC_BOUND_REGISTERED
			                        ? "registered"
			                        : "claimed");
		} else {
			cm_cbor_wr_null(&w);
		}
		json_print(&w, &b);
		cm_buf_fini(&b);
	} else {
		printf("%.*s at tree size %llu\n", (int) id.key_len, id.key,
		       (unsigned long long) ldg_size(t));
		if (has_owner)
			printf("owner %s, %s (%s %s, leaf %llu)\n", ow.uscc,
			       trc_bound_name(ow.status),
			       strlen(ow.digits) == 13 ? "GLN" : "prefix",
			       ow.digits, (unsigned long long) ow.leaf);
		else
			printf("owner none: unconfirmed (no bound prefix or "
			       "GLN)\n");
		if (has_name)
			printf(
			    "name %s by %s (leaf %llu, %s)\n",
			    text_show(CM_BYTES(nm.name, strlen(nm.name)), sh),
			    nm.by, (unsigned long long) nm.leaf,
			    trc_name_standing_name(nm.standing));
	}
	return (has_owner || has_name ? EX_OK : EX_NO);
}

static int
master_parties(const opts *o)
{
	ldg_store  *s;
	party_ctx   p;
	const char *owner = opt(o, "owner");
	cm_buf      out = {0};
	size_t      nb;
	int         ex = EX_OK;

	if (o->npos > 1)
		die(EX_USAGE, "parties takes at most one ID (see --help)");
	if (owner != NULL && strlen(owner) != 18)
		die(EX_USAGE, "--owner must be a USCC (18 characters)");
	s = store_open(need(o, "data"), true);
	memset(&p, 0, sizeof(p));
	p.t = rtxn(s);
	p.json = opt(o, "json") != NULL;
	if (o->npos == 1) {
		ex = parties_one(o, p.t);
	} else {
		cm_cbor_wr_init(&p.w, &p.cbor);
		if (!p.json)
			printf("master data at tree size %llu\n",
			       (unsigned long long) ldg_size(p.t));
		if (trc_bindings(p.t, owner, bind_out, &p) != CM_OK)
			die(EX_USAGE, "reading the master data failed");
		nb = p.n;
		if (p.json) {
			cm_cbor_wr w;
			cm_buf     bc = p.cbor;

			memset(&p.cbor, 0, sizeof(p.cbor));
			cm_cbor_wr_init(&p.w, &p.cbor);
			p.n = 0;
			if (owner == NULL &&
			    trc_names(p.t, name_out, &p) != CM_OK)
				die(EX_USAGE, "reading the names failed");
			cm_cbor_wr_init(&w, &out);
			cm_cbor_wr_map(&w, 3);
			cm_cbor_wr_cstr(&w, "size");
			cm_cbor_wr_uint(&w, ldg_size(p.t));
			cm_cbor_wr_cstr(&w, "names");
			cm_cbor_wr_array(&w, p.n);
			cm_cbor_wr_raw(&w, cm_buf_bytes(&p.cbor));
			cm_cbor_wr_cstr(&w, "bindings");
			cm_cbor_wr_array(&w, nb);
			cm_cbor_wr_raw(&w, cm_buf_bytes(&bc));
			json_print(&w, &out);
			cm_buf_fini(&bc);
		} else if (owner == NULL &&
		           trc_names(p.t, name_out, &p) != CM_OK) {
			die(EX_USAGE, "reading the names failed");
		}
	}
	cm_buf_fini(&out);
	cm_buf_fini(&p.cbor);
	ldg_txn_end(p.t);
	ldg_close(s);
	return (ex);
}

int
cli_trace_master(int argc, char **argv)
{
	static const struct {
		const char   *name;
		trc_master_op op;
		const char   *who; /* the option naming the other party */
	} cmds[] = {{"bind", TRC_M_BIND, "owner"},
	            {"claim", TRC_M_CLAIM, NULL},
	            {"confirm", TRC_M_CONFIRM, "owner"},
	            {"delegate", TRC_M_DELEGATE, "to"},
	            {"undelegate", TRC_M_UNDELEGATE, "to"},
	            {"name", TRC_M_NAME, NULL}};
	const char   *sub = argc > 0 ? argv[0] : "";
	static char   usage[sizeof(cli_trace_master_usage) + 8];
	opts          o;
	trc_master_in in;
	char          allowed[80];
	int           ex;

	/* The lines continue tally trace's usage; alone they start one. */
	snprintf(usage, sizeof(usage), "usage:%s", cli_trace_master_usage + 6);
	if (strcmp(sub, "parties") == 0) {
		if ((ex = group_parse(argc, argv, " data owner json! ", usage,
		                      &o)) >= 0)
			return (ex);
		return (master_parties(&o));
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(sub, cmds[i].name) != 0)
			continue;
		snprintf(allowed, sizeof(allowed), " data key json! %s ",
		         cmds[i].op == TRC_M_NAME ? "name attr"
		         : cmds[i].who != NULL    ? cmds[i].who
		                                  : "");
		if ((ex = group_parse(argc, argv, allowed, usage, &o)) >= 0)
			return (ex);
		if (o.npos != 1)
			die(EX_USAGE, "%s needs one %s (see --help)", sub,
			    cmds[i].op == TRC_M_NAME ? "ID" : "KEY");
		memset(&in, 0, sizeof(in));
		in.op = cmds[i].op;
		if (in.op == TRC_M_NAME)
			return (master_name(&o, &in));
		in.key = o.pos[0];
		if (cmds[i].who != NULL)
			in.uscc = need(&o, cmds[i].who);
		return (master_write(&o, &in));
	}
	return (-1);
}
