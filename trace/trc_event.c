/* SPDX-License-Identifier: MIT */
/* trace/trc_event.c -- the EPCIS 2.0 event model and its validation: the
 * rules of the gs1/EPCIS JSON schema (JSON-Schema/schemas/), the rules the
 * schema cannot express (EPCIS 2.0 and the TCR-54 conformance draft), and
 * the identifier rules of trc_id.c.  docs/trace.md section 3 lists each
 * rule and its source. */
#include "trace/trc_impl.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PFX_MAX 32
#define EXT_DEPTH_MAX 16
#define URI_MAX 2048 /* longest URI value accepted */

typedef struct ev_ctx {
	const trc_event_ctx *ec;
	trc_event           *ev;
	cm_diag             *d;
	char                 who[200]; /* "event 2 (urn:uuid:...)" */
	size_t               npfx;
	const char          *pfx[PFX_MAX];
	size_t               pfx_len[PFX_MAX];
} ev_ctx;

static cm_err fail(ev_ctx *c, const char *fmt, ...) CM_PRINTF(2, 3);

static cm_err
fail(ev_ctx *c, const char *fmt, ...)
{
	char    msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cm_diag_clear(c->d);
	return (cm_fail(c->d, CM_EPROTO, "%s: %s", c->who, msg));
}

static bool
is(const char *k, size_t kl, const char *s)
{
	return (cm_bytes_eq_str(CM_BYTES(k, kl), s));
}

static bool
in_list(const char *k, size_t kl, const char *const *list)
{
	for (size_t i = 0; list[i] != NULL; i++)
		if (is(k, kl, list[i]))
			return (true);
	return (false);
}

/* ---- the context: which CURIE prefixes are declared ---------------------- */

/* Prefixes the EPCIS 2.0 context (epcis-context.jsonld) itself defines. */
static const char *const std_prefixes[] = {"epcis",   "cbv", "cbvmda", "gs1",
                                           "xsd",     "rdf", "rdfs",   "owl",
                                           "dcterms", NULL};

static void
pfx_add(void *arg, const char *p, size_t pl, const char *iri, size_t il)
{
	ev_ctx *c = arg;

	(void) iri;
	(void) il;
	if (c->npfx < PFX_MAX) {
		c->pfx[c->npfx] = p;
		c->pfx_len[c->npfx++] = pl;
	}
}

static bool
prefix_declared(const ev_ctx *c, const char *p, size_t pl)
{
	if (in_list(p, pl, std_prefixes))
		return (true);
	for (size_t i = 0; i < c->npfx; i++)
		if (c->pfx_len[i] == pl && memcmp(c->pfx[i], p, pl) == 0)
			return (true);
	return (false);
}

/* A member name outside the standard fields: a CURIE of a declared prefix
 * or an absolute IRI ("https://...", "urn:..."). */
static cm_err
ext_name(ev_ctx *c, const char *where, const char *k, size_t kl)
{
	const char *colon = memchr(k, ':', kl);
	size_t      pl;

	if (colon == NULL || colon == k)
		return (fail(c,
		             "%s: unknown field \"%.*s\" (extensions need a "
		             "namespace: prefix:name)",
		             where, (int) (kl > 64 ? 64 : kl), k));
	pl = (size_t) (colon - k);
	if (kl > pl + 2 && colon[1] == '/' && colon[2] == '/')
		return (CM_OK); /* an absolute IRI */
	if (is(k, pl, "urn"))
		return (CM_OK);
	if (!prefix_declared(c, k, pl))
		return (fail(c,
		             "%s: \"%.*s\": prefix \"%.*s\" is not declared in "
		             "@context",
		             where, (int) (kl > 64 ? 64 : kl), k,
		             (int) (pl > 32 ? 32 : pl), k));
	return (CM_OK);
}

/* An extension value: nested objects' member names follow the same rule. */
static cm_err
ext_value(ev_ctx *c, const char *where, const cm_json *v, int depth)
{
	cm_err rv;

	if (depth > EXT_DEPTH_MAX)
		return (fail(c, "%s: extension nested too deep", where));
	if (cm_json_is_array(v)) {
		for (size_t i = 0; i < cm_json_len(v); i++)
			if ((rv = ext_value(c, where, cm_json_at(v, i),
			                    depth + 1)) != CM_OK)
				return (rv);
		return (CM_OK);
	}
	if (!cm_json_is_object(v))
		return (CM_OK);
	for (size_t i = 0; i < cm_json_len(v); i++) {
		cm_json    *val;
		size_t      kl;
		const char *k = cm_json_key_at(v, i, &val, &kl);

		if (kl > 0 && k[0] == '@')
			continue; /* JSON-LD keywords (@type, @value...) */
		if ((rv = ext_name(c, where, k, kl)) != CM_OK ||
		    (rv = ext_value(c, where, val, depth + 1)) != CM_OK)
			return (rv);
	}
	return (CM_OK);
}

/* The members of a standard object: those in fields are the caller's;
 * every other one must be a namespaced extension. */
static cm_err
object_rest(ev_ctx *c, const char *where, const cm_json *o,
            const char *const *fields)
{
	cm_err rv;

	for (size_t i = 0; i < cm_json_len(o); i++) {
		cm_json    *val;
		size_t      kl;
		const char *k = cm_json_key_at(o, i, &val, &kl);

		if (in_list(k, kl, fields))
			continue;
		if ((rv = ext_name(c, where, k, kl)) != CM_OK ||
		    (rv = ext_value(c, where, val, 1)) != CM_OK)
			return (rv);
		c->ev->next++;
	}
	return (CM_OK);
}

/* ---- scalar values ------------------------------------------------------- */

/* A URI (JSON schema "format": "uri"): a scheme, a colon, then printable
 * ASCII without spaces, at most URI_MAX bytes. */
static bool
uri_ok(const char *s, size_t n)
{
	size_t i = 0;

	if (n == 0 || n > URI_MAX ||
	    !((s[0] | 0x20) >= 'a' && (s[0] | 0x20) <= 'z'))
		return (false);
	for (; i < n && s[i] != ':'; i++) {
		char ch = s[i];

		if (!((ch | 0x20) >= 'a' && (ch | 0x20) <= 'z') &&
		    !(ch >= '0' && ch <= '9') && ch != '+' && ch != '-' &&
		    ch != '.')
			return (false);
	}
	if (i + 1 >= n)
		return (false);
	for (i++; i < n; i++)
		if ((unsigned char) s[i] <= 0x20 ||
		    (unsigned char) s[i] >= 0x7f)
			return (false);
	return (true);
}

static cm_err
get_uri(ev_ctx *c, const char *where, const cm_json *v, cm_bytes *out)
{
	size_t      n;
	const char *s = cm_json_str(v, &n);

	if (s == NULL)
		return (fail(c, "%s: must be a string (a URI)", where));
	if (!uri_ok(s, n))
		return (fail(c, "%s: not a URI", where));
	*out = CM_BYTES(s, n);
	return (CM_OK);
}

static cm_err
get_time(ev_ctx *c, const char *where, const cm_json *v, int64_t *ms)
{
	size_t      n;
	const char *s = cm_json_str(v, &n);
	int64_t     t;

	if (s == NULL || !trc_time_ms(s, n, &t))
		return (fail(c,
		             "%s: not a date-time with a zone "
		             "(YYYY-MM-DDThh:mm:ss[.fff](Z|+hh:mm))",
		             where));
	if (ms != NULL)
		*ms = t;
	return (CM_OK);
}

static bool
is_number(const cm_json *v, double *out)
{
	int64_t i;

	if (cm_json_int(v, &i)) {
		*out = (double) i;
		return (true);
	}
	return (cm_json_real(v, out));
}

/* ---- CBV vocabularies ---------------------------------------------------- */

static const char *const biz_steps[] = {"accepting",
                                        "arriving",
                                        "assembling",
                                        "collecting",
                                        "commissioning",
                                        "consigning",
                                        "creating_class_instance",
                                        "cycle_counting",
                                        "decommissioning",
                                        "departing",
                                        "destroying",
                                        "disassembling",
                                        "dispensing",
                                        "encoding",
                                        "entering_exiting",
                                        "holding",
                                        "inspecting",
                                        "installing",
                                        "killing",
                                        "loading",
                                        "other",
                                        "packing",
                                        "picking",
                                        "receiving",
                                        "removing",
                                        "repackaging",
                                        "repairing",
                                        "replacing",
                                        "reserving",
                                        "retail_selling",
                                        "sampling",
                                        "sensor_reporting",
                                        "shipping",
                                        "staging_outbound",
                                        "stock_taking",
                                        "stocking",
                                        "storing",
                                        "transporting",
                                        "unloading",
                                        "unpacking",
                                        "void_shipping",
                                        NULL};

static const char *const dispositions[] = {"active",
                                           "available",
                                           "completeness_inferred",
                                           "completeness_verified",
                                           "conformant",
                                           "container_closed",
                                           "container_open",
                                           "damaged",
                                           "destroyed",
                                           "dispensed",
                                           "disposed",
                                           "encoded",
                                           "expired",
                                           "in_progress",
                                           "in_transit",
                                           "inactive",
                                           "mismatch_class",
                                           "mismatch_instance",
                                           "mismatch_quantity",
                                           "needs_replacement",
                                           "no_pedigree_match",
                                           "non_conformant",
                                           "non_sellable_other",
                                           "partially_dispensed",
                                           "recalled",
                                           "reserved",
                                           "retail_sold",
                                           "returned",
                                           "sellable_accessible",
                                           "sellable_not_accessible",
                                           "stolen",
                                           "unavailable",
                                           "unknown",
                                           NULL};

static const char *const btts[] = {
    "bol",       "cert",   "desadv", "inv",     "pedigree", "po",    "poc",
    "prodorder", "recadv", "rma",    "testprd", "testres",  "upevt", NULL};

static const char *const sdts[] = {"owning_party", "possessing_party",
                                   "location", NULL};

static const char *const error_reasons[] = {"did_not_occur", "incorrect_data",
                                            NULL};

static const char *const alert_types[] = {"ALARM_CONDITION", "ERROR_CONDITION",
                                          NULL};

/* The GS1 Web vocabulary's measurement types (measurement-type schema). */
static const char *const meas_types[] = {"AbsoluteHumidity",
                                         "AbsorbedDose",
                                         "AbsorbedDoseRate",
                                         "Acceleration",
                                         "Activity",
                                         "Altitude",
                                         "AmountOfSubstance",
                                         "AmountOfSubstancePerUnitVolume",
                                         "Angle",
                                         "AngularAcceleration",
                                         "AngularMomentum",
                                         "AngularVelocity",
                                         "Area",
                                         "Capacitance",
                                         "Conductance",
                                         "Conductivity",
                                         "Count",
                                         "Density",
                                         "Dimensionless",
                                         "DoseEquivalent",
                                         "DoseEquivalentRate",
                                         "DynamicViscosity",
                                         "ElectricCharge",
                                         "ElectricCurrent",
                                         "ElectricCurrentDensity",
                                         "ElectricFieldStrength",
                                         "Energy",
                                         "Exposure",
                                         "Force",
                                         "Frequency",
                                         "Illuminance",
                                         "Inductance",
                                         "Irradiance",
                                         "KinematicViscosity",
                                         "Length",
                                         "LinearMomentum",
                                         "Luminance",
                                         "LuminousFlux",
                                         "LuminousIntensity",
                                         "MagneticFlux",
                                         "MagneticFluxDensity",
                                         "MagneticVectorPotential",
                                         "Mass",
                                         "MassConcentration",
                                         "MassFlowRate",
                                         "MassPerAreaTime",
                                         "MemoryCapacity",
                                         "MolalityOfSolute",
                                         "MolarEnergy",
                                         "MolarMass",
                                         "MolarVolume",
                                         "Power",
                                         "Pressure",
                                         "RadiantFlux",
                                         "RadiantIntensity",
                                         "RelativeHumidity",
                                         "Resistance",
                                         "Resistivity",
                                         "SolidAngle",
                                         "SpecificVolume",
                                         "Speed",
                                         "SurfaceDensity",
                                         "SurfaceTension",
                                         "Temperature",
                                         "Time",
                                         "Torque",
                                         "Voltage",
                                         "Volume",
                                         "VolumeFlowRate",
                                         "VolumeFraction",
                                         "VolumetricFlux",
                                         "Wavenumber",
                                         NULL};

typedef struct vocab {
	const char        *what; /* "bizStep" */
	const char        *web;  /* "BizStep-": https://ref.gs1.org/cbv/... */
	const char        *urn;  /* "bizstep": urn:epcglobal:cbv:bizstep:... */
	const char *const *words;
} vocab;

static const vocab voc_bizstep = {"business step", "BizStep-", "bizstep",
                                  biz_steps};
static const vocab voc_disp = {"disposition", "Disp-", "disp", dispositions};
static const vocab voc_btt = {"business transaction type", "BTT-", "btt", btts};
static const vocab voc_sdt = {"source/destination type", "SDT-", "sdt", sdts};
static const vocab voc_er = {"error reason", "ER-", "er", error_reasons};
static const vocab voc_alert = {"sensor alert type", NULL, NULL, alert_types};
static const vocab voc_meas = {"measurement type", NULL, NULL, meas_types};

static bool
starts(const char *s, size_t n, const char *p, size_t *pl)
{
	*pl = strlen(p);
	return (n >= *pl && memcmp(s, p, *pl) == 0);
}

/* A CBV value: a bare word of the vocabulary, or its Web URI
 * https://ref.gs1.org/cbv/<Vocab>-<word> with a word of the list; any other
 * URI is a custom value.  The CBV 1.x URN (urn:epcglobal:cbv:...) is refused
 * as the JSON schema refuses it: in JSON a CBV value is written as its
 * word. */
static cm_err
get_vocab(ev_ctx *c, const char *where, const cm_json *v, const vocab *vc,
          trc_vocab *out)
{
	size_t      n, pl;
	const char *s = cm_json_str(v, &n);
	char        pre[64];

	if (s == NULL)
		return (fail(c, "%s: must be a string", where));
	if (in_list(s, n, vc->words)) {
		*out = (trc_vocab){CM_BYTES(s, n), true};
		return (CM_OK);
	}
	/* GS1 Web vocabulary terms (web NULL) also as the CURIE gs1:<word> */
	if (vc->web == NULL && n > 4 && memcmp(s, "gs1:", 4) == 0 &&
	    in_list(s + 4, n - 4, vc->words)) {
		*out = (trc_vocab){CM_BYTES(s + 4, n - 4), true};
		return (CM_OK);
	}
	if (memchr(s, ':', n) == NULL)
		return (fail(c,
		             "%s: \"%.*s\" is not a %s %s (custom values "
		             "are URIs)",
		             where, (int) (n > 64 ? 64 : n), s,
		             vc->web != NULL ? "CBV" : "GS1", vc->what));
	if (vc->web != NULL) {
		snprintf(pre, sizeof(pre), "https://ref.gs1.org/cbv/%s",
		         vc->web);
		if (starts(s, n, pre, &pl)) {
			if (!in_list(s + pl, n - pl, vc->words))
				return (fail(c, "%s: \"%.*s\" is not a CBV %s",
				             where, (int) (n > 96 ? 96 : n), s,
				             vc->what));
			*out = (trc_vocab){CM_BYTES(s + pl, n - pl), true};
			return (CM_OK);
		}
		snprintf(pre, sizeof(pre), "urn:epcglobal:cbv:%s:", vc->urn);
		if (starts(s, n, pre, &pl))
			return (
			    fail(c,
			         "%s: write the CBV %s as its word (\"%.*s\"), "
			         "not as a CBV 1.x URN",
			         where, vc->what,
			         (int) (n - pl > 40 ? 40 : n - pl), s + pl));
	}
	if (!uri_ok(s, n))
		return (fail(c, "%s: not a URI", where));
	*out = (trc_vocab){CM_BYTES(s, n), false};
	return (CM_OK);
}

/* ---- identifiers --------------------------------------------------------- */

static cm_err
id_read(ev_ctx *c, const char *where, const cm_json *v, trc_id *id)
{
	trc_id_ctx  ic = {0};
	cm_diag     d;
	size_t      n;
	const char *s = cm_json_str(v, &n);

	if (s == NULL)
		return (fail(c, "%s: must be a string (an identifier)", where));
	ic.field = where;
	ic.uscc = c->ec != NULL ? c->ec->uscc : CM_BYTES(NULL, 0);
	ic.unscoped = c->ec != NULL && c->ec->unscoped;
	cm_diag_clear(&d);
	if (n > TRC_ID_TEXT_MAX)
		return (fail(c, "%s: identifier longer than %d bytes", where,
		             TRC_ID_TEXT_MAX));
	if (trc_id_parse(CM_BYTES(s, n), &ic, id, &d) != CM_OK)
		return (fail(c, "%s", d.msg));
	return (CM_OK);
}

static cm_err
ref_add(ev_ctx *c, const trc_id *id, trc_role role, bool is_class,
        trc_event_ref **out)
{
	trc_event     *ev = c->ev;
	trc_event_ref *r;

	if (ev->nrefs == TRC_EVENT_REFS_MAX)
		return (fail(c, "more than %d identifiers in one event",
		             TRC_EVENT_REFS_MAX));
	if (ev->nrefs == ev->refs_cap) {
		size_t         cap = ev->refs_cap == 0 ? 8 : ev->refs_cap * 2;
		trc_event_ref *p = cm_realloc(ev->refs, cap * sizeof(*p));

		if (p == NULL)
			return (CM_ENOMEM);
		ev->refs = p;
		ev->refs_cap = cap;
	}
	r = &ev->refs[ev->nrefs++];
	memset(r, 0, sizeof(*r));
	r->role = role;
	r->is_class = is_class;
	memcpy(r->lot, id->lot, sizeof(r->lot));
	r->key_len = id->key_len;
	memcpy(r->key, id->key, id->key_len);
	r->key[id->key_len] = '\0';
	*out = r;
	return (CM_OK);
}

/* An instance identifier (epcList and the like, parentID). */
static cm_err
epc_one(ev_ctx *c, const char *where, const cm_json *v, trc_role role)
{
	trc_id         id;
	trc_event_ref *r;
	cm_diag        d;
	cm_err         rv;

	if ((rv = id_read(c, where, v, &id)) != CM_OK)
		return (rv);
	cm_diag_clear(&d);
	if (trc_id_check_pos(&id, TRC_POS_INSTANCE, where, &d) != CM_OK)
		return (fail(c, "%s", d.msg));
	return (ref_add(c, &id, role, false, &r));
}

/* A list field: absent, or an array of at most max entries (0: no bound
 * but the event's). */
static cm_err
list_get(ev_ctx *c, const char *name, const cm_json *l, size_t max)
{
	if (l == NULL)
		return (CM_OK);
	if (!cm_json_is_array(l))
		return (fail(c, "%s: must be an array", name));
	if (max > 0 && cm_json_len(l) > max)
		return (fail(c, "%s: more than %zu entries", name, max));
	return (CM_OK);
}

static int
ref_cmp(const void *a, const void *b)
{
	const trc_event_ref *x = *(const trc_event_ref *const *) a;
	const trc_event_ref *y = *(const trc_event_ref *const *) b;

	return (cm_bytes_cmp(CM_BYTES(x->key, x->key_len),
	                     CM_BYTES(y->key, y->key_len)));
}

/* "uniqueItems": true, by canonical key (one item written two ways is
 * still one item): refs[from..nrefs) are the list's, in order.  Sorting
 * pointers keeps it O(n log n) for large lists. */
static cm_err
list_unique(ev_ctx *c, const char *name, size_t from)
{
	size_t                n = c->ev->nrefs - from;
	const trc_event_ref **v;
	cm_err                rv = CM_OK;

	if (n < 2)
		return (CM_OK);
	if ((v = cm_calloc(n, sizeof(*v))) == NULL)
		return (CM_ENOMEM);
	for (size_t i = 0; i < n; i++)
		v[i] = &c->ev->refs[from + i];
	qsort(v, n, sizeof(*v), ref_cmp);
	for (size_t i = 1; i < n && rv == CM_OK; i++)
		if (ref_cmp(&v[i - 1], &v[i]) == 0) {
			size_t a = (size_t) (v[i - 1] - c->ev->refs) - from;
			size_t b = (size_t) (v[i] - c->ev->refs) - from;

			rv = fail(c, "%s[%zu]: repeats %s[%zu]", name,
			          a > b ? a : b, name, a > b ? b : a);
		}
	cm_free(v);
	return (rv);
}

static cm_err
epc_list(ev_ctx *c, const char *name, const cm_json *l, trc_role role)
{
	char   where[64];
	size_t from = c->ev->nrefs;
	cm_err rv;

	if ((rv = list_get(c, name, l, 0)) != CM_OK || l == NULL)
		return (rv);
	for (size_t i = 0; i < cm_json_len(l); i++) {
		snprintf(where, sizeof(where), "%s[%zu]", name, i);
		if ((rv = epc_one(c, where, cm_json_at(l, i), role)) != CM_OK)
			return (rv);
	}
	return (list_unique(c, name, from));
}

static const char *const qty_fields[] = {"epcClass", "quantity", "uom", NULL};

/* "^[A-Z0-9]{2,3}$" (UN/ECE Recommendation 20). */
static bool
uom_ok(const char *s, size_t n)
{
	if (n < 2 || n > 3)
		return (false);
	for (size_t i = 0; i < n; i++)
		if (!(s[i] >= 'A' && s[i] <= 'Z') &&
		    !(s[i] >= '0' && s[i] <= '9'))
			return (false);
	return (true);
}

static cm_err
qty_list(ev_ctx *c, const char *name, const cm_json *l, trc_role role)
{
	char   where[80];
	cm_err rv;

	if ((rv = list_get(c, name, l, 0)) != CM_OK || l == NULL)
		return (rv);
	for (size_t i = 0; i < cm_json_len(l); i++) {
		const cm_json *q = cm_json_at(l, i), *u;
		trc_id         id;
		trc_event_ref *r;
		cm_diag        d;
		double         qv;

		snprintf(where, sizeof(where), "%s[%zu]", name, i);
		if (!cm_json_is_object(q))
			return (fail(c, "%s: must be an object", where));
		if (cm_json_get(q, "epcClass") == NULL)
			return (fail(c, "%s: epcClass is missing", where));
		snprintf(where, sizeof(where), "%s[%zu].epcClass", name, i);
		if ((rv = id_read(c, where, cm_json_get(q, "epcClass"), &id)) !=
		    CM_OK)
			return (rv);
		cm_diag_clear(&d);
		if (trc_id_check_pos(&id, TRC_POS_CLASS, where, &d) != CM_OK)
			return (fail(c, "%s", d.msg));
		snprintf(where, sizeof(where), "%s[%zu]", name, i);
		if ((rv = ref_add(c, &id, role, true, &r)) != CM_OK)
			return (rv);
		/* The schema requires quantity (EPCIS 2.0 made it optional in
		 * prose; the schema is followed). */
		if (cm_json_get(q, "quantity") == NULL)
			return (fail(c, "%s: quantity is missing", where));
		if (!is_number(cm_json_get(q, "quantity"), &qv))
			return (
			    fail(c, "%s.quantity: must be a number", where));
		r->has_qty = true;
		r->quantity = qv;
		if ((u = cm_json_get(q, "uom")) != NULL) {
			size_t      n;
			const char *s = cm_json_str(u, &n);

			if (s == NULL || !uom_ok(s, n))
				return (fail(c,
				             "%s.uom: not a UN/ECE Rec 20 "
				             "code (2-3 of A-Z, 0-9)",
				             where));
			memcpy(r->uom, s, n);
		}
		if ((rv = object_rest(c, where, q, qty_fields)) != CM_OK)
			return (rv);
	}
	return (CM_OK);
}

static size_t
list_len(const cm_json *l)
{
	return (cm_json_is_array(l) ? cm_json_len(l) : 0);
}

/* ---- the standard objects ------------------------------------------------ */

static const char *const id_fields[] = {"id", NULL};

static cm_err
place(ev_ctx *c, const char *name, const cm_json *o, trc_place *out)
{
	char   where[48];
	trc_id id;
	cm_err rv;

	if (o == NULL)
		return (CM_OK);
	if (!cm_json_is_object(o))
		return (fail(c, "%s: must be an object", name));
	if (cm_json_get(o, "id") == NULL)
		return (fail(c, "%s: id is missing", name));
	snprintf(where, sizeof(where), "%s.id", name);
	if ((rv = id_read(c, where, cm_json_get(o, "id"), &id)) != CM_OK)
		return (rv);
	out->key_len = id.key_len;
	memcpy(out->key, id.key, id.key_len + 1);
	return (object_rest(c, name, o, id_fields));
}

static cm_err
pdisp(ev_ctx *c, const cm_json *o)
{
	static const char *const f[] = {"set", "unset", NULL};
	char                     where[48];
	cm_err                   rv;

	if (o == NULL)
		return (CM_OK);
	if (!cm_json_is_object(o))
		return (fail(c, "persistentDisposition: must be an object"));
	for (int u = 0; u < 2; u++) {
		const cm_json *l = cm_json_get(o, f[u]);
		size_t        *n = u ? &c->ev->npunset : &c->ev->npset;
		trc_vocab     *out = u ? c->ev->punset : c->ev->pset;

		if (l == NULL)
			continue;
		snprintf(where, sizeof(where), "persistentDisposition.%s",
		         f[u]);
		if ((rv = list_get(c, where, l, TRC_EVENT_LIST_MAX)) != CM_OK)
			return (rv);
		for (size_t i = 0; i < cm_json_len(l); i++) {
			snprintf(where, sizeof(where),
			         "persistentDisposition.%s[%zu]", f[u], i);
			if ((rv = get_vocab(c, where, cm_json_at(l, i),
			                    &voc_disp, &out[i])) != CM_OK)
				return (rv);
			*n = i + 1;
		}
	}
	return (object_rest(c, "persistentDisposition", o, f));
}

static cm_err
biztx_list(ev_ctx *c, const cm_json *l)
{
	static const char *const f[] = {"type", "bizTransaction", NULL};
	char                     where[48], w2[64];
	cm_err                   rv;

	if ((rv = list_get(c, "bizTransactionList", l, TRC_EVENT_LIST_MAX)) !=
	        CM_OK ||
	    l == NULL)
		return (rv);
	for (size_t i = 0; i < cm_json_len(l); i++) {
		const cm_json *o = cm_json_at(l, i);
		trc_biztx     *b = &c->ev->biztx[i];

		snprintf(where, sizeof(where), "bizTransactionList[%zu]", i);
		if (!cm_json_is_object(o))
			return (fail(c, "%s: must be an object", where));
		if (cm_json_get(o, "bizTransaction") == NULL)
			return (
			    fail(c, "%s: bizTransaction is missing", where));
		snprintf(w2, sizeof(w2), "%s.bizTransaction", where);
		if ((rv = get_uri(c, w2, cm_json_get(o, "bizTransaction"),
		                  &b->id)) != CM_OK)
			return (rv);
		snprintf(w2, sizeof(w2), "%s.type", where);
		if (cm_json_get(o, "type") != NULL &&
		    (rv = get_vocab(c, w2, cm_json_get(o, "type"), &voc_btt,
		                    &b->type)) != CM_OK)
			return (rv);
		if ((rv = object_rest(c, where, o, f)) != CM_OK)
			return (rv);
		c->ev->nbiztx = i + 1;
	}
	return (CM_OK);
}

static cm_err
party_list(ev_ctx *c, const char *name, const char *member, bool dest,
           const cm_json *l)
{
	const char *const f[] = {"type", member, NULL};
	char              where[48], w2[64];
	cm_err            rv;

	if ((rv = list_get(c, name, l, 0)) != CM_OK || l == NULL)
		return (rv);
	for (size_t i = 0; i < cm_json_len(l); i++) {
		const cm_json *o = cm_json_at(l, i);
		trc_party     *p;
		trc_id         id;

		snprintf(where, sizeof(where), "%s[%zu]", name, i);
		if (c->ev->nparties == TRC_EVENT_LIST_MAX)
			return (fail(c,
			             "%s: more than %d sources and "
			             "destinations",
			             where, TRC_EVENT_LIST_MAX));
		p = &c->ev->parties[c->ev->nparties];
		p->dest = dest;
		if (!cm_json_is_object(o))
			return (fail(c, "%s: must be an object", where));
		if (cm_json_get(o, "type") == NULL)
			return (fail(c, "%s: type is missing", where));
		if (cm_json_get(o, member) == NULL)
			return (fail(c, "%s: %s is missing", where, member));
		snprintf(w2, sizeof(w2), "%s.type", where);
		if ((rv = get_vocab(c, w2, cm_json_get(o, "type"), &voc_sdt,
		                    &p->type)) != CM_OK)
			return (rv);
		snprintf(w2, sizeof(w2), "%s.%s", where, member);
		if ((rv = id_read(c, w2, cm_json_get(o, member), &id)) != CM_OK)
			return (rv);
		p->who.key_len = id.key_len;
		memcpy(p->who.key, id.key, id.key_len + 1);
		if ((rv = object_rest(c, where, o, f)) != CM_OK)
			return (rv);
		c->ev->nparties++;
	}
	return (CM_OK);
}

static const char *const meta_uris[] = {"deviceID", "deviceMetadata",
                                        "rawData",  "dataProcessingMethod",
                                        "bizRules", NULL};
static const char *const meta_times[] = {"time", "startTime", "endTime", NULL};
static const char *const report_uris[] = {
    "deviceID",      "deviceMetadata",    "rawData",  "dataProcessingMethod",
    "microorganism", "chemicalSubstance", "uriValue", NULL};
static const char *const report_nums[] = {"value",     "minValue", "maxValue",
                                          "meanValue", "sDev",     "percRank",
                                          "percValue", NULL};
static const char *const report_other[] = {"type",
                                           "exception",
                                           "time",
                                           "component",
                                           "stringValue",
                                           "booleanValue",
                                           "hexBinaryValue",
                                           "uom",
                                           "coordinateReferenceSystem",
                                           NULL};

/* Members of o named in uris must be URIs, in times times, in nums numbers;
 * those in other are the caller's; the rest extensions. */
static cm_err
typed_members(ev_ctx *c, const char *where, const cm_json *o,
              const char *const *uris, const char *const *times,
              const char *const *nums, const char *const *other)
{
	char   w[160];
	cm_err rv;

	for (size_t i = 0; i < cm_json_len(o); i++) {
		cm_json    *v;
		size_t      kl;
		const char *k = cm_json_key_at(o, i, &v, &kl);
		cm_bytes    u;
		double      x;

		snprintf(w, sizeof(w), "%s.%.*s", where,
		         (int) (kl > 40 ? 40 : kl), k);
		if (in_list(k, kl, uris))
			rv = get_uri(c, w, v, &u);
		else if (times != NULL && in_list(k, kl, times))
			rv = get_time(c, w, v, NULL);
		else if (nums != NULL && in_list(k, kl, nums))
			rv = is_number(v, &x)
			         ? CM_OK
			         : fail(c, "%s: must be a number", w);
		else if (other != NULL && in_list(k, kl, other))
			rv = CM_OK;
		else if ((rv = ext_name(c, where, k, kl)) == CM_OK &&
		         (rv = ext_value(c, where, v, 1)) == CM_OK)
			c->ev->next++;
		if (rv != CM_OK)
			return (rv);
	}
	return (CM_OK);
}

static cm_err
report(ev_ctx *c, const char *where, const cm_json *r)
{
	const cm_json *t = cm_json_get(r, "type"),
	              *e = cm_json_get(r, "exception");
	const cm_json *b = cm_json_get(r, "booleanValue");
	const cm_json *h = cm_json_get(r, "hexBinaryValue");
	char           w[160];
	trc_vocab      tv = {0};
	cm_err         rv;

	if (!cm_json_is_object(r))
		return (fail(c, "%s: must be an object", where));
	if ((rv = typed_members(c, where, r, report_uris, meta_times,
	                        report_nums, report_other)) != CM_OK)
		return (rv);
	/* The schema requires the type: a GS1 Web vocabulary measurement
	 * type (bare or gs1:Temperature) or a URI. */
	if (t == NULL)
		return (fail(c, "%s: type is missing", where));
	snprintf(w, sizeof(w), "%s.type", where);
	if ((rv = get_vocab(c, w, t, &voc_meas, &tv)) != CM_OK)
		return (rv);
	if (b != NULL && cm_json_typeof(b) != CM_JSON_TRUE &&
	    cm_json_typeof(b) != CM_JSON_FALSE)
		return (
		    fail(c, "%s.booleanValue: must be true or false", where));
	if (h != NULL) {
		size_t      n;
		const char *s = cm_json_str(h, &n);
		bool        ok = s != NULL && n > 0;

		for (size_t i = 0; ok && i < n; i++)
			ok = (s[i] >= '0' && s[i] <= '9') ||
			     ((s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'f');
		if (!ok)
			return (fail(c, "%s.hexBinaryValue: not hex digits",
			             where));
	}
	if (cm_json_get(r, "stringValue") != NULL &&
	    cm_json_str(cm_json_get(r, "stringValue"), NULL) == NULL)
		return (fail(c, "%s.stringValue: must be a string", where));
	if (cm_json_get(r, "uom") != NULL &&
	    cm_json_str(cm_json_get(r, "uom"), NULL) == NULL)
		return (fail(c, "%s.uom: must be a string", where));
	c->ev->nsensor_reports++;
	if (e != NULL) {
		trc_sensor_exc *x;

		snprintf(w, sizeof(w), "%s.exception", where);
		if (c->ev->nsensor_exc == TRC_EVENT_LIST_MAX)
			return (fail(c, "%s: more than %d sensor exceptions", w,
			             TRC_EVENT_LIST_MAX));
		x = &c->ev->sensor_exc[c->ev->nsensor_exc];
		if ((rv = get_vocab(c, w, e, &voc_alert, &x->exception)) !=
		    CM_OK)
			return (rv);
		x->type = tv;
		c->ev->nsensor_exc++;
	}
	return (CM_OK);
}

static cm_err
sensors(ev_ctx *c, const cm_json *l)
{
	static const char *const f[] = {"sensorMetadata", "sensorReport", NULL};
	char                     where[64], w2[112];
	cm_err                   rv;

	if ((rv = list_get(c, "sensorElementList", l, 0)) != CM_OK || l == NULL)
		return (rv);
	for (size_t i = 0; i < cm_json_len(l); i++) {
		const cm_json *el = cm_json_at(l, i), *m, *rl;

		snprintf(where, sizeof(where), "sensorElementList[%zu]", i);
		if (!cm_json_is_object(el))
			return (fail(c, "%s: must be an object", where));
		if ((m = cm_json_get(el, "sensorMetadata")) != NULL) {
			snprintf(w2, sizeof(w2), "%s.sensorMetadata", where);
			if (!cm_json_is_object(m))
				return (fail(c, "%s: must be an object", w2));
			if ((rv = typed_members(c, w2, m, meta_uris, meta_times,
			                        NULL, NULL)) != CM_OK)
				return (rv);
		}
		rl = cm_json_get(el, "sensorReport");
		if (!cm_json_is_array(rl) || cm_json_len(rl) == 0)
			return (fail(c,
			             "%s: sensorReport must be a non-empty "
			             "array",
			             where));
		for (size_t k = 0; k < cm_json_len(rl); k++) {
			snprintf(w2, sizeof(w2), "%s.sensorReport[%zu]", where,
			         k);
			if ((rv = report(c, w2, cm_json_at(rl, k))) != CM_OK)
				return (rv);
		}
		if ((rv = object_rest(c, where, el, f)) != CM_OK)
			return (rv);
	}
	return (CM_OK);
}

static cm_err
error_decl(ev_ctx *c, const cm_json *o)
{
	static const char *const f[] = {"declarationTime", "reason",
	                                "correctiveEventIDs", NULL};
	const cm_json           *l;
	char                     where[64];
	cm_err                   rv;

	if (o == NULL)
		return (CM_OK);
	if (!cm_json_is_object(o))
		return (fail(c, "errorDeclaration: must be an object"));
	c->ev->has_error = true;
	if (cm_json_get(o, "declarationTime") == NULL)
		return (
		    fail(c, "errorDeclaration: declarationTime is missing"));
	if ((rv = get_time(c, "errorDeclaration.declarationTime",
	                   cm_json_get(o, "declarationTime"),
	                   &c->ev->error_time_ms)) != CM_OK)
		return (rv);
	if (cm_json_get(o, "reason") != NULL &&
	    (rv = get_vocab(c, "errorDeclaration.reason",
	                    cm_json_get(o, "reason"), &voc_er,
	                    &c->ev->error_reason)) != CM_OK)
		return (rv);
	l = cm_json_get(o, "correctiveEventIDs");
	if ((rv = list_get(c, "errorDeclaration.correctiveEventIDs", l,
	                   TRC_EVENT_LIST_MAX)) != CM_OK)
		return (rv);
	if (l != NULL) {
		for (size_t i = 0; i < cm_json_len(l); i++) {
			snprintf(where, sizeof(where),
			         "errorDeclaration.correctiveEventIDs[%zu]", i);
			if ((rv = get_uri(c, where, cm_json_at(l, i),
			                  &c->ev->corrective[i])) != CM_OK)
				return (rv);
			c->ev->ncorrective = i + 1;
		}
	}
	return (object_rest(c, "errorDeclaration", o, f));
}

/* ilmd: every member is namespaced (the schema: propertyNames are URIs);
 * cbvmda:lotNumber and cbvmda:itemExpirationDate are kept. */
static cm_err
ilmd(ev_ctx *c, const cm_json *o)
{
	static const char *const none[] = {NULL};
	cm_err                   rv;
	size_t                   next = c->ev->next;

	if (o == NULL)
		return (CM_OK);
	if (!cm_json_is_object(o))
		return (fail(c, "ilmd: must be an object"));
	if ((rv = object_rest(c, "ilmd", o, none)) != CM_OK)
		return (rv);
	c->ev->next = next; /* master data, not extensions */
	for (size_t i = 0; i < cm_json_len(o); i++) {
		cm_json    *v;
		size_t      kl, n;
		const char *k = cm_json_key_at(o, i, &v, &kl);
		const char *s = cm_json_str(v, &n);

		if (s == NULL)
			continue;
		if (is(k, kl, "cbvmda:lotNumber") ||
		    is(k, kl, "urn:epcglobal:cbv:mda:lotNumber"))
			c->ev->lot = CM_BYTES(s, n);
		else if (is(k, kl, "cbvmda:itemExpirationDate") ||
		         is(k, kl, "urn:epcglobal:cbv:mda:itemExpirationDate"))
			c->ev->expiry = CM_BYTES(s, n);
	}
	return (CM_OK);
}

/* ---- the event ----------------------------------------------------------- */

static const char *const type_names[] = {
    "ObjectEvent",         "AggregationEvent", "TransactionEvent",
    "TransformationEvent", "AssociationEvent", NULL};

/* The fields each type may hold beyond the common ones (the per-type
 * schemas' properties). */
static const char *const common_fields[] = {"@context",
                                            "type",
                                            "eventTime",
                                            "recordTime",
                                            "eventTimeZoneOffset",
                                            "eventID",
                                            "errorDeclaration",
                                            "certificationInfo",
                                            NULL};
static const char *const object_fields[] = {"epcList",
                                            "quantityList",
                                            "action",
                                            "bizStep",
                                            "disposition",
                                            "persistentDisposition",
                                            "readPoint",
                                            "bizLocation",
                                            "bizTransactionList",
                                            "sourceList",
                                            "destinationList",
                                            "sensorElementList",
                                            "ilmd",
                                            NULL};
static const char *const aggregation_fields[] = {
    "parentID",   "childEPCs",       "childQuantityList",
    "action",     "bizStep",         "disposition",
    "readPoint",  "bizLocation",     "bizTransactionList",
    "sourceList", "destinationList", "sensorElementList",
    NULL};
static const char *const transaction_fields[] = {
    "parentID",   "epcList",         "quantityList",
    "action",     "bizStep",         "disposition",
    "readPoint",  "bizLocation",     "bizTransactionList",
    "sourceList", "destinationList", "sensorElementList",
    NULL};
static const char *const        transformation_fields[] = {"inputEPCList",
                                                           "inputQuantityList",
                                                           "outputEPCList",
                                                           "outputQuantityList",
                                                           "transformationID",
                                                           "bizStep",
                                                           "disposition",
                                                           "persistentDisposition",
                                                           "readPoint",
                                                           "bizLocation",
                                                           "bizTransactionList",
                                                           "sourceList",
                                                           "destinationList",
                                                           "sensorElementList",
                                                           "ilmd",
                                                           NULL};
static const char *const *const type_fields[] = {
    object_fields, aggregation_fields, transaction_fields,
    transformation_fields, aggregation_fields /* association */};

const char *
trc_event_type_name(trc_event_type t)
{
	return ((unsigned) t < 5 ? type_names[t] : "");
}

const char *
trc_action_name(trc_action a)
{
	static const char *const n[] = {"", "ADD", "OBSERVE", "DELETE"};

	return ((unsigned) a < 4 ? n[a] : "");
}

/* "^([+]|[-])((0[0-9]|1[0-3]):([0-5][0-9])|14:00)$" */
static bool
tz_parse(const char *s, size_t n, int *min)
{
	int h, m;

	if (n != 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':')
		return (false);
	for (int i = 1; i < 6; i++)
		if (i != 3 && (s[i] < '0' || s[i] > '9'))
			return (false);
	h = (s[1] - '0') * 10 + (s[2] - '0');
	m = (s[4] - '0') * 10 + (s[5] - '0');
	if (m > 59 || h > 14 || (h == 14 && m != 0))
		return (false);
	*min = (s[0] == '-' ? -1 : 1) * (h * 60 + m);
	return (true);
}

static cm_err
members(ev_ctx *c, const cm_json *e, const char *const *fields)
{
	cm_err rv;

	for (size_t i = 0; i < cm_json_len(e); i++) {
		cm_json    *v;
		size_t      kl;
		const char *k = cm_json_key_at(e, i, &v, &kl);

		if (in_list(k, kl, common_fields) || in_list(k, kl, fields))
			continue;
		if (in_list(k, kl, object_fields) ||
		    in_list(k, kl, transformation_fields) ||
		    in_list(k, kl, aggregation_fields) ||
		    in_list(k, kl, transaction_fields))
			return (fail(c, "%.*s: not a field of %s", (int) kl, k,
			             trc_event_type_name(c->ev->type)));
		if ((rv = ext_name(c, "event", k, kl)) != CM_OK ||
		    (rv = ext_value(c, "event", v, 1)) != CM_OK)
			return (rv);
		c->ev->next++;
	}
	return (CM_OK);
}

static cm_err
header(ev_ctx *c, const cm_json *e)
{
	trc_event  *ev = c->ev;
	const char *s;
	size_t      n;
	cm_json    *ci;
	cm_err      rv;

	s = cm_json_str(cm_json_get(e, "type"), &n);
	if (s == NULL)
		return (fail(c, "type is missing"));
	for (ev->type = 0; type_names[ev->type] != NULL; ev->type++)
		if (is(s, n, type_names[ev->type]))
			break;
	if (type_names[ev->type] == NULL)
		return (fail(c, "type: \"%.*s\" is not an EPCIS 2.0 event type",
		             (int) (n > 40 ? 40 : n), s));
	if (cm_json_get(e, "eventTime") == NULL)
		return (fail(c, "eventTime is missing"));
	if ((rv = get_time(c, "eventTime", cm_json_get(e, "eventTime"),
	                   &ev->time_ms)) != CM_OK)
		return (rv);
	if (cm_json_get(e, "eventTimeZoneOffset") == NULL)
		return (fail(c, "eventTimeZoneOffset is missing"));
	s = cm_json_str(cm_json_get(e, "eventTimeZoneOffset"), &n);
	if (s == NULL || !tz_parse(s, n, &ev->tz_min))
		return (fail(c, "eventTimeZoneOffset: not +hh:mm or -hh:mm "
		                "(-14:00 to +14:00)"));
	if (cm_json_get(e, "recordTime") != NULL &&
	    (rv = get_time(c, "recordTime", cm_json_get(e, "recordTime"),
	                   NULL)) != CM_OK)
		return (rv);
	if (cm_json_get(e, "eventID") != NULL &&
	    (rv = get_uri(c, "eventID", cm_json_get(e, "eventID"),
	                  &ev->event_id)) != CM_OK)
		return (rv);
	if ((ci = cm_json_get(e, "certificationInfo")) != NULL) {
		cm_bytes u;

		if (cm_json_is_array(ci)) {
			for (size_t i = 0; i < cm_json_len(ci); i++) {
				char w[48];

				snprintf(w, sizeof(w), "certificationInfo[%zu]",
				         i);
				if ((rv = get_uri(c, w, cm_json_at(ci, i),
				                  &u)) != CM_OK)
					return (rv);
			}
		} else if ((rv = get_uri(c, "certificationInfo", ci, &u)) !=
		           CM_OK) {
			return (rv);
		}
	}
	return (members(c, e, type_fields[ev->type]));
}

static cm_err
action(ev_ctx *c, const cm_json *e)
{
	static const char *const acts[] = {"ADD", "OBSERVE", "DELETE", NULL};
	const cm_json           *a = cm_json_get(e, "action");
	const char              *s;
	size_t                   n;

	if (c->ev->type == TRC_EV_TRANSFORMATION)
		return (CM_OK); /* not a field of the type: members() */
	if (a == NULL)
		return (fail(c, "action is missing"));
	s = cm_json_str(a, &n);
	for (int i = 0; s != NULL && acts[i] != NULL; i++)
		if (is(s, n, acts[i])) {
			c->ev->action = (trc_action) (TRC_ACT_ADD + i);
			return (CM_OK);
		}
	return (fail(c, "action: must be ADD, OBSERVE or DELETE"));
}

/* The rules of one type that are not about a single field. */
static cm_err
type_rules(ev_ctx *c, const cm_json *e)
{
	const trc_event *ev = c->ev;
	bool             parent = cm_json_get(e, "parentID") != NULL;
	size_t           children = list_len(cm_json_get(e, "childEPCs")) +
	                  list_len(cm_json_get(e, "childQuantityList"));
	bool add = ev->action == TRC_ACT_ADD;
	bool del = ev->action == TRC_ACT_DELETE;

	switch (ev->type) {
	case TRC_EV_OBJECT:
		if (cm_json_get(e, "epcList") == NULL &&
		    list_len(cm_json_get(e, "quantityList")) == 0 &&
		    !(list_len(cm_json_get(e, "sensorElementList")) > 0 &&
		      cm_json_get(e, "readPoint") != NULL))
			return (fail(c, "ObjectEvent needs epcList, a "
			                "non-empty quantityList, or a "
			                "sensorElementList with a readPoint"));
		if (cm_json_get(e, "ilmd") != NULL && !add)
			return (fail(c,
			             "ilmd: only an ObjectEvent with action "
			             "ADD (or a TransformationEvent) carries "
			             "ilmd"));
		break;
	case TRC_EV_AGGREGATION:
	case TRC_EV_ASSOCIATION:
		if ((add || del) && !parent)
			return (fail(c,
			             "parentID is missing (an %s with action "
			             "%s needs one)",
			             trc_event_type_name(ev->type),
			             trc_action_name(ev->action)));
		if (!del && children == 0)
			return (fail(c,
			             "childEPCs or childQuantityList is "
			             "needed (an %s with action %s names its "
			             "children)",
			             trc_event_type_name(ev->type),
			             trc_action_name(ev->action)));
		break;
	case TRC_EV_TRANSACTION:
		if (cm_json_get(e, "bizTransactionList") == NULL)
			return (fail(c, "bizTransactionList is missing (a "
			                "TransactionEvent needs one)"));
		if (cm_json_get(e, "epcList") == NULL &&
		    list_len(cm_json_get(e, "quantityList")) == 0 && !del)
			return (fail(c, "TransactionEvent needs epcList or a "
			                "non-empty quantityList"));
		break;
	case TRC_EV_TRANSFORMATION: {
		size_t in = list_len(cm_json_get(e, "inputEPCList")) +
		            list_len(cm_json_get(e, "inputQuantityList"));
		size_t out = list_len(cm_json_get(e, "outputEPCList")) +
		             list_len(cm_json_get(e, "outputQuantityList"));

		if (!(in > 0 && out > 0) &&
		    !(cm_json_get(e, "transformationID") != NULL &&
		      in + out > 0))
			return (fail(c, "TransformationEvent needs inputs and "
			                "outputs, or a transformationID and "
			                "inputs or outputs"));
		break;
	}
	}
	return (CM_OK);
}

static cm_err
what(ev_ctx *c, const cm_json *e)
{
	cm_err rv;

	if ((rv = epc_list(c, "epcList", cm_json_get(e, "epcList"),
	                   TRC_ROLE_EPC)) != CM_OK ||
	    (rv = qty_list(c, "quantityList", cm_json_get(e, "quantityList"),
	                   TRC_ROLE_EPC)) != CM_OK)
		return (rv);
	if (cm_json_get(e, "parentID") != NULL &&
	    (rv = epc_one(c, "parentID", cm_json_get(e, "parentID"),
	                  TRC_ROLE_PARENT)) != CM_OK)
		return (rv);
	if ((rv = epc_list(c, "childEPCs", cm_json_get(e, "childEPCs"),
	                   TRC_ROLE_CHILD)) != CM_OK ||
	    (rv = qty_list(c, "childQuantityList",
	                   cm_json_get(e, "childQuantityList"),
	                   TRC_ROLE_CHILD)) != CM_OK ||
	    (rv = epc_list(c, "inputEPCList", cm_json_get(e, "inputEPCList"),
	                   TRC_ROLE_INPUT)) != CM_OK ||
	    (rv = qty_list(c, "inputQuantityList",
	                   cm_json_get(e, "inputQuantityList"),
	                   TRC_ROLE_INPUT)) != CM_OK ||
	    (rv = epc_list(c, "outputEPCList", cm_json_get(e, "outputEPCList"),
	                   TRC_ROLE_OUTPUT)) != CM_OK ||
	    (rv = qty_list(c, "outputQuantityList",
	                   cm_json_get(e, "outputQuantityList"),
	                   TRC_ROLE_OUTPUT)) != CM_OK)
		return (rv);
	if (cm_json_get(e, "transformationID") != NULL &&
	    (rv = get_uri(c, "transformationID",
	                  cm_json_get(e, "transformationID"),
	                  &c->ev->transformation_id)) != CM_OK)
		return (rv);
	return (CM_OK);
}

static cm_err
why_where(ev_ctx *c, const cm_json *e)
{
	cm_err rv;

	if (cm_json_get(e, "bizStep") != NULL &&
	    (rv = get_vocab(c, "bizStep", cm_json_get(e, "bizStep"),
	                    &voc_bizstep, &c->ev->biz_step)) != CM_OK)
		return (rv);
	if (cm_json_get(e, "disposition") != NULL &&
	    (rv = get_vocab(c, "disposition", cm_json_get(e, "disposition"),
	                    &voc_disp, &c->ev->disposition)) != CM_OK)
		return (rv);
	if ((rv = pdisp(c, cm_json_get(e, "persistentDisposition"))) != CM_OK ||
	    (rv = place(c, "readPoint", cm_json_get(e, "readPoint"),
	                &c->ev->read_point)) != CM_OK ||
	    (rv = place(c, "bizLocation", cm_json_get(e, "bizLocation"),
	                &c->ev->biz_location)) != CM_OK ||
	    (rv = biztx_list(c, cm_json_get(e, "bizTransactionList"))) !=
	        CM_OK ||
	    (rv = party_list(c, "sourceList", "source", false,
	                     cm_json_get(e, "sourceList"))) != CM_OK ||
	    (rv = party_list(c, "destinationList", "destination", true,
	                     cm_json_get(e, "destinationList"))) != CM_OK ||
	    (rv = sensors(c, cm_json_get(e, "sensorElementList"))) != CM_OK ||
	    (rv = ilmd(c, cm_json_get(e, "ilmd"))) != CM_OK ||
	    (rv = error_decl(c, cm_json_get(e, "errorDeclaration"))) != CM_OK)
		return (rv);
	return (CM_OK);
}

cm_err
trc_event_check(const cm_json *event, const trc_event_ctx *ctx, trc_event *out,
                cm_diag *d)
{
	ev_ctx      c;
	cm_buf      hid = {0}, pre = {0};
	const char *id;
	size_t      idl = 0;
	cm_diag     hd;
	cm_err      rv;

	memset(out, 0, sizeof(*out));
	memset(&c, 0, sizeof(c));
	c.ec = ctx;
	c.ev = out;
	c.d = d;
	out->index = ctx != NULL ? ctx->index : 0;
	id = cm_json_str(cm_json_get(event, "eventID"), &idl);
	/* "event 2 (urn:uuid:...)"; index 0 (a stored event) is "event" */
	if (out->index > 0)
		snprintf(c.who, sizeof(c.who), "event %zu", out->index);
	else
		snprintf(c.who, sizeof(c.who), "event");
	if (id != NULL)
		snprintf(c.who + strlen(c.who), sizeof(c.who) - strlen(c.who),
		         " (%.*s)", (int) (idl > 120 ? 120 : idl), id);
	if (!cm_json_is_object(event))
		return (fail(&c, "must be an object"));
	if (ctx != NULL && ctx->doc != NULL)
		trc_context_prefixes(cm_json_get(ctx->doc, "@context"), pfx_add,
		                     &c);
	trc_context_prefixes(cm_json_get(event, "@context"), pfx_add, &c);
	if ((rv = header(&c, event)) != CM_OK ||
	    (rv = action(&c, event)) != CM_OK ||
	    (rv = type_rules(&c, event)) != CM_OK ||
	    (rv = what(&c, event)) != CM_OK ||
	    (rv = why_where(&c, event)) != CM_OK)
		goto out;
	/* The computed hash (not an ni: eventID as given): a fingerprint
	 * of the content, which a record's id must equal. */
	cm_diag_clear(&hd);
	if ((rv = trc_hash_prehash(ctx != NULL ? ctx->doc : NULL, event, &pre,
	                           &hd)) != CM_OK ||
	    (rv = trc_hash_id(cm_buf_bytes(&pre), &hid)) != CM_OK) {
		if (rv == CM_EPROTO)
			rv = fail(&c, "%s", hd.msg);
		goto out;
	}
	if (hid.len > TRC_HASH_ID_MAX) {
		rv = CM_EINVAL; /* cannot happen: the ID is 89 bytes */
		goto out;
	}
	memcpy(out->hash_id, hid.p, hid.len);
	out->hash_id[hid.len] = '\0';
out:
	cm_buf_fini(&pre);
	cm_buf_fini(&hid);
	return (rv);
}

void
trc_event_fini(trc_event *ev)
{
	if (ev == NULL)
		return;
	cm_free(ev->refs);
	ev->refs = NULL;
	ev->nrefs = ev->refs_cap = 0;
}
