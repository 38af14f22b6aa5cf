/* SPDX-License-Identifier: MIT */
/* tests/trace/trc_id_test.c -- identifier forms and canonical keys.  The
 * URN -> Digital Link pairs are the published conversions of the event-hash
 * vectors (tests/vectors/epcis-hash/, epcisDocWithAllGS1Keys); the rest
 * follow GS1 TDS 2.x and Digital Link 1.x. */
#include "tests/tst.h"
#include "trace/trc_impl.h"

#define USCC "91350100M000100Y43"

/* Master data: one 12-digit prefix, all others 7 digits. */
static unsigned
gcp7(void *arg, const char *p, size_t len)
{
	(void) arg;
	return (len >= 12 && memcmp(p, "061414112345", 12) == 0 ? 12 : 7);
}

static const trc_id_ctx ctx_gcp = {.gcp_len = gcp7};

/* Parses text and returns the key as a C string (static buffer). */
static const char *
key_of(const char *text, const trc_id_ctx *ctx)
{
	static char buf[TRC_ID_KEY_MAX + 300];
	trc_id      id;
	cm_diag     d;

	cm_diag_clear(&d);
	if (trc_id_parse(CM_BYTES(text, strlen(text)), ctx, &id, &d) != CM_OK) {
		snprintf(buf, sizeof(buf), "ERROR %s", d.msg);
		return (buf);
	}
	memcpy(buf, id.key, id.key_len);
	buf[id.key_len] = '\0';
	return (buf);
}

static const char *
form_of(const char *text, const trc_id_ctx *ctx, trc_id_form form)
{
	static char buf[TRC_ID_TEXT_MAX + 1];
	trc_id      id;
	cm_buf      b = {0};
	cm_diag     d;

	cm_diag_clear(&d);
	if (trc_id_parse(CM_BYTES(text, strlen(text)), ctx, &id, &d) != CM_OK) {
		snprintf(buf, sizeof(buf), "ERROR %s", d.msg);
		return (buf);
	}
	if (trc_id_format(&id, form, &b) != CM_OK || b.len >= sizeof(buf)) {
		cm_buf_fini(&b);
		return ("ERROR format");
	}
	memcpy(buf, b.p, b.len);
	buf[b.len] = '\0';
	cm_buf_fini(&b);
	return (buf);
}

/* A refusal: CM_EPROTO, this message, and *out untouched. */
static void
refused(const char *text, const trc_id_ctx *ctx, const char *want, int line)
{
	trc_id  id, before;
	cm_diag d;
	cm_err  rv;

	memset(&id, 0xa5, sizeof(id));
	before = id;
	cm_diag_clear(&d);
	rv = trc_id_parse(CM_BYTES(text, strlen(text)), ctx, &id, &d);
	if (rv != CM_EPROTO || strcmp(d.msg, want) != 0 ||
	    memcmp(&id, &before, sizeof(id)) != 0) {
		fprintf(stderr,
		        "%s:%d: %s -> %s \"%s\", want CM_EPROTO \"%s\"\n",
		        __FILE__, line, text, cm_errname(rv), d.msg, want);
		tst_case_failed = 1;
	}
}
#define REFUSED(text, ctx, want) refused(text, ctx, want, __LINE__)

static void
test_check_digit(void)
{
	/* GS1 General Specifications' worked example and the vectors. */
	TST_TRUE(trc_gs1_check_digit("629104150021", 12) == '3');
	TST_TRUE(trc_gs1_check_digit("0401234512345", 13) == '6');
	TST_TRUE(trc_gs1_check_digit("1061414107346", 13) == '4');
	TST_TRUE(trc_gs1_check_digit("401234500011", 12) == '5');
	TST_TRUE(trc_gs1_check_digit("04012345000000333", 17) == '8');
	TST_TRUE(trc_gs1_check_digit("0000000", 7) == '0');
}

/* Every EPC scheme with a GS1 key, to its canonical Digital Link. */
static const struct {
	const char *urn, *dl;
} urn_dl[] = {
    {"urn:epc:id:sgtin:4012345.012345.12",
     "https://id.gs1.org/01/04012345123456/21/12"},
    {"urn:epc:id:sscc:4012345.0000000333",
     "https://id.gs1.org/00/040123450000003338"},
    {"urn:epc:id:grai:4012345.66666.87",
     "https://id.gs1.org/8003/0401234566666387"},
    {"urn:epc:id:giai:4012345.AAbb", "https://id.gs1.org/8004/4012345AAbb"},
    {"urn:epc:id:gsrn:4012345.9876540000",
     "https://id.gs1.org/8018/401234598765400000"},
    {"urn:epc:id:gsrnp:4012345.0000098765",
     "https://id.gs1.org/8017/401234500000987658"},
    {"urn:epc:id:gdti:4012345.55555.98",
     "https://id.gs1.org/253/401234555555498"},
    {"urn:epc:id:cpi:4012345.ABC.123",
     "https://id.gs1.org/8010/4012345ABC/8011/123"},
    {"urn:epc:id:sgcn:4012345.99999.44",
     "https://id.gs1.org/255/401234599999044"},
    {"urn:epc:id:ginc:4012345.333", "https://id.gs1.org/401/4012345333"},
    {"urn:epc:id:gsin:4012345.999987654",
     "https://id.gs1.org/402/40123459999876541"},
    {"urn:epc:id:itip:4012345.012345.01.02.999",
     "https://id.gs1.org/8006/040123451234560102/21/999"},
    {"urn:epc:id:upui:4012345.012345.AB12",
     "https://id.gs1.org/01/04012345123456/235/AB12"},
    {"urn:epc:class:lgtin:4054739.099914.20160711",
     "https://id.gs1.org/01/04054739999148/10/20160711"},
    {"urn:epc:idpat:sgtin:4054739.099914.*",
     "https://id.gs1.org/01/04054739999148"},
    {"urn:epc:idpat:grai:4012345.66666.*",
     "https://id.gs1.org/8003/04012345666663"},
    {"urn:epc:idpat:gdti:4012345.55555.*",
     "https://id.gs1.org/253/4012345555554"},
    {"urn:epc:idpat:sgcn:4012345.99999.*",
     "https://id.gs1.org/255/4012345999990"},
    {"urn:epc:idpat:cpi:4012345.ABC.*", "https://id.gs1.org/8010/4012345ABC"},
    {"urn:epc:idpat:itip:4012345.012345.01.02.*",
     "https://id.gs1.org/8006/040123451234560102"},
    {"urn:epc:id:sgln:4012345.00011.987",
     "https://id.gs1.org/414/4012345000115/254/987"},
    {"urn:epc:id:sgln:4012345.00011.0", "https://id.gs1.org/414/4012345000115"},
    {"urn:epc:id:pgln:4012345.00011", "https://id.gs1.org/417/4012345000115"},
    /* research note 1.8, from the gs1/EPCIS examples */
    {"urn:epc:id:sgtin:0614141.107346.2017",
     "https://id.gs1.org/01/10614141073464/21/2017"},
    {"urn:epc:id:sgln:0614141.07346.1234",
     "https://id.gs1.org/414/0614141073467/254/1234"},
    /* escapes: URN escapes stay escaped, the marks DL encodes too */
    {"urn:epc:id:sgtin:0614141.107346.a%2Fb!c(d)e*f+g,h:i'j",
     "https://id.gs1.org/01/10614141073464/21/"
     "a%2Fb%21c%28d%29e%2Af%2Bg%2Ch%3Ai'j"},
    {"urn:epc:id:sgtin:0614141.107346.%25%26%3C%3E%3F%22",
     "https://id.gs1.org/01/10614141073464/21/%25%26%3C%3E%3F%22"},
    {"urn:epc:id:cpi:0614141.5PQ7%2FZ43.12345",
     "https://id.gs1.org/8010/06141415PQ7%2FZ43/8011/12345"},
    /* a 12-digit prefix: the location reference is empty */
    {"urn:epc:id:sgln:061414112345..9",
     "https://id.gs1.org/414/0614141123452/254/9"},
};

static void
test_urn_to_dl(void)
{
	for (size_t i = 0; i < sizeof(urn_dl) / sizeof(urn_dl[0]); i++) {
		const char *got = form_of(urn_dl[i].urn, NULL, TRC_FORM_DL);

		if (strcmp(got, urn_dl[i].dl) != 0) {
			fprintf(stderr, "%s -> %s, want %s\n", urn_dl[i].urn,
			        got, urn_dl[i].dl);
			tst_case_failed = 1;
		}
	}
}

/* Back to the URN: from the URN itself (it carries the prefix length), and
 * from the Digital Link with the length from master data; both forms give
 * the same key. */
static void
test_urn_round_trip(void)
{
	for (size_t i = 0; i < sizeof(urn_dl) / sizeof(urn_dl[0]); i++) {
		const char *u = urn_dl[i].urn;
		char        k[TRC_ID_KEY_MAX + 1];

		TST_EQ_STR(form_of(u, NULL, TRC_FORM_URN), u);
		TST_EQ_STR(form_of(urn_dl[i].dl, &ctx_gcp, TRC_FORM_URN), u);
		snprintf(k, sizeof(k), "%s", key_of(u, NULL));
		TST_EQ_STR(key_of(urn_dl[i].dl, NULL), k);
		TST_TRUE(k[0] == '/');
	}
	/* Without the prefix length a URN answer is a Digital Link. */
	TST_EQ_STR(form_of("https://id.gs1.org/01/04012345123456/21/12", NULL,
	                   TRC_FORM_URN),
	           "https://id.gs1.org/01/04012345123456/21/12");
	TST_EQ_STR(form_of("https://id.gs1.org/01/04012345123456/21/12",
	                   &ctx_gcp, TRC_FORM_URN),
	           "urn:epc:id:sgtin:4012345.012345.12");
	/* The original form is the text as given. */
	TST_EQ_STR(form_of("https://example.com/01/4012345123456/21/12", NULL,
	                   TRC_FORM_ORIGINAL),
	           "https://example.com/01/4012345123456/21/12");
}

static void
test_dl_forms(void)
{
	const char *k = "/01/04012345123456/21/12";

	/* Any host, a path prefix, a query, short GTINs padded to 14. */
	TST_EQ_STR(key_of("https://id.gs1.org/01/04012345123456/21/12", NULL),
	           k);
	TST_EQ_STR(key_of("https://brand.example.com/shop/01/4012345123456/"
	                  "21/12?17=250101#x",
	                  NULL),
	           k);
	TST_EQ_STR(key_of("HTTP://example.org/01/04012345123456/21/12/", NULL),
	           k);
	/* A lot beside a serial is recorded, not keyed; so is a CPV. */
	{
		trc_id      id;
		cm_diag     d;
		const char *t =
		    "https://id.gs1.org/01/04012345123456/22/V1/10/L%2F7/21/12";

		TST_OK(trc_id_parse(CM_BYTES(t, strlen(t)), NULL, &id, &d));
		TST_EQ_STR(id.key, k);
		TST_EQ_STR(id.lot, "L/7");
		TST_EQ_STR(id.cpv, "V1");
		TST_EQ_STR(id.serial, "12");
		TST_TRUE(!id.is_class && id.kind == TRC_ID_GS1 &&
		         id.src == TRC_SRC_DL);
	}
	TST_EQ_STR(key_of("https://id.gs1.org/01/04012345123456/10/ABC", NULL),
	           "/01/04012345123456/10/ABC");
	TST_EQ_STR(key_of("https://id.gs1.org/01/12345670", NULL),
	           "/01/00000012345670");
	TST_EQ_STR(key_of("https://id.gs1.org/01/614141073467", NULL),
	           "/01/00614141073467");
	/* 8018 with its SRIN qualifier has no URN: DL in every form. */
	TST_EQ_STR(form_of("https://id.gs1.org/8018/401234598765400000/8019/7",
	                   &ctx_gcp, TRC_FORM_URN),
	           "https://id.gs1.org/8018/401234598765400000/8019/7");
	/* A URI that is not a Digital Link is opaque. */
	TST_EQ_STR(key_of("https://example.com/news/2020/01/15", NULL),
	           "https://example.com/news/2020/01/15");
	TST_EQ_STR(key_of("https://example.com/", NULL),
	           "https://example.com/");
}

static void
test_party(void)
{
	const char *k = "/414/4012345000115";

	TST_EQ_STR(key_of("urn:epc:id:pgln:4012345.00011", NULL), k);
	TST_EQ_STR(key_of("urn:epc:id:sgln:4012345.00011.0", NULL), k);
	TST_EQ_STR(key_of("https://id.gs1.org/414/4012345000115", NULL), k);
	TST_EQ_STR(key_of("https://example.com/417/4012345000115", NULL), k);
	TST_EQ_STR(key_of("https://id.gs1.org/414/4012345000115/254/0", NULL),
	           k);
	/* A sub-location is another thing. */
	TST_EQ_STR(key_of("urn:epc:id:sgln:4012345.00011.1", NULL),
	           "/414/4012345000115/254/1");
	/* Each keeps its own form in answers. */
	TST_EQ_STR(form_of("urn:epc:id:pgln:4012345.00011", NULL, TRC_FORM_DL),
	           "https://id.gs1.org/417/4012345000115");
	TST_EQ_STR(
	    form_of("urn:epc:id:sgln:4012345.00011.0", NULL, TRC_FORM_URN),
	    "urn:epc:id:sgln:4012345.00011.0");
}

static void
test_restricted(void)
{
	trc_id_ctx  c = {.uscc = CM_BYTES(USCC, 18)};
	trc_id_ctx  bad = {.uscc = CM_BYTES("91350100M000100Y44", 18)};
	trc_id      id;
	cm_diag     d;
	const char *t = "https://id.gs1.org/01/02012345678903/21/1";

	TST_OK(trc_id_parse(CM_BYTES(t, strlen(t)), &c, &id, &d));
	TST_TRUE(id.restricted);
	TST_EQ_STR(id.key, "@" USCC "/01/02012345678903/21/1");
	/* The answer is the GS1 form; the scope is the key's only. */
	TST_EQ_STR(form_of(t, &c, TRC_FORM_DL), t);
	TST_EQ_STR(key_of("https://id.gs1.org/01/00412345678903", &c),
	           "@" USCC "/01/00412345678903");
	TST_EQ_STR(key_of("https://id.gs1.org/01/02912345678906", &c),
	           "@" USCC "/01/02912345678906");
	/* 03 and 1x are global. */
	TST_EQ_STR(key_of("https://id.gs1.org/01/00312345678906", &c),
	           "/01/00312345678906");
	REFUSED(t, NULL,
	        "GTIN 02012345678903 is a restricted circulation number: it "
	        "needs the submitter's USCC");
	REFUSED(t, &bad,
	        "GTIN 02012345678903 is a restricted circulation number and "
	        "the submitter's USCC is invalid: check character at position "
	        "18 is '4', expected '3'");
}

static void
test_element_strings(void)
{
	trc_id_ctx  s = {.scans = true};
	const char *k = "/01/04012345123456/21/12";

	TST_EQ_STR(key_of("(01)04012345123456(21)12", &s), k);
	TST_EQ_STR(key_of("(01)04012345123456(17)250101(10)AB(21)12", &s), k);
	TST_EQ_STR(key_of("]d2010401234512345621"
	                  "12",
	                  &s),
	           k);
	TST_EQ_STR(key_of("]d20104012345123456"
	                  "10AB\x1d"
	                  "2112",
	                  &s),
	           k);
	TST_EQ_STR(key_of("]C1"
	                  "00040123450000003338",
	                  &s),
	           "/00/040123450000003338");
	TST_EQ_STR(key_of("\x1d"
	                  "4144012345000115",
	                  &s),
	           "/414/4012345000115");
	TST_EQ_STR(key_of("(414)4012345000115(254)987", &s),
	           "/414/4012345000115/254/987");
	TST_EQ_STR(key_of("]Q3"
	                  "3103000500"
	                  "0104012345123456",
	                  &s),
	           "/01/04012345123456");
	/* Only where scans are allowed. */
	REFUSED("(01)04012345123456(21)12", NULL,
	        "not an identifier: want an EPC URN, a GS1 Digital Link or "
	        "another absolute URI");
	REFUSED("(01)04012345123457(21)12", &s,
	        "GTIN (AI 01): check digit is 7, want 6");
	REFUSED("(01)04012345123456(21)12(414)4012345000115", &s,
	        "two GS1 keys (AI 01 and AI 414) in one identifier");
	REFUSED("(17)250101", &s, "no GS1 key (such as AI 01, 00, 414)");
	REFUSED("(99X)1", &s, "element string: unknown AI (99X)");
	REFUSED("(01)04012345123456(21)1(21)2", &s, "AI 21 appears twice");
	REFUSED("]d1010401234512345621", &s,
	        "element string: unknown symbology identifier (want ]d2, ]C1, "
	        "]e0, ]Q3 or ]J1)");
	REFUSED(
	    "]d299", &s,
	    "company internal information (AI 91-99) has 0 characters, want "
	    "1 to 90");
}

static void
test_tally_forms(void)
{
	trc_id_ctx  s = {.scans = true};
	trc_id      id;
	cm_diag     d;
	const char *b = "urn:tally:batch:" USCC ":P-1:L%3A2%2F";

	TST_EQ_STR(key_of("urn:tally:cndrug:81234567890123456789", NULL),
	           "urn:tally:cndrug:81234567890123456789");
	TST_EQ_STR(key_of("81234567890123456789", &s),
	           "urn:tally:cndrug:81234567890123456789");
	TST_EQ_STR(form_of("81234567890123456789", &s, TRC_FORM_DL),
	           "urn:tally:cndrug:81234567890123456789");
	REFUSED("urn:tally:cndrug:8123456789012345678", NULL,
	        "Chinese drug traceability code: want 20 digits");
	REFUSED("urn:tally:cndrug:8123456789012345678X", NULL,
	        "Chinese drug traceability code: want 20 digits");
	/* Bare numerals are a scan, not an EPCIS identifier. */
	REFUSED("81234567890123456789", NULL,
	        "not an identifier: want an EPC URN, a GS1 Digital Link or "
	        "another absolute URI");

	TST_OK(trc_id_parse(CM_BYTES(b, strlen(b)), NULL, &id, &d));
	TST_TRUE(id.kind == TRC_ID_BATCH && id.is_class);
	TST_EQ_STR(id.key, "urn:tally:batch:" USCC ":P-1:L%3A2%2F");
	TST_EQ_STR(id.lot, "L:2/");
	/* Needless escapes are canonicalised away. */
	TST_EQ_STR(key_of("urn:tally:batch:" USCC ":%50-1:L%3a2%2f", NULL),
	           "urn:tally:batch:" USCC ":P-1:L%3A2%2F");
	REFUSED("urn:tally:batch:91350100M000100Y44:P:L", NULL,
	        "batch: USCC 91350100M000100Y44: check character at position "
	        "18 is '4', expected '3'");
	REFUSED("urn:tally:batch:" USCC ":P", NULL,
	        "batch: want urn:tally:batch:<USCC>:<product>:<lot>");
	REFUSED("urn:tally:batch:" USCC ":P:L:X", NULL,
	        "batch: want urn:tally:batch:<USCC>:<product>:<lot>");
	REFUSED("urn:tally:batch:" USCC "::L", NULL, "batch: empty product");
	REFUSED("urn:tally:batch:" USCC ":P:L#", NULL,
	        "batch lot: character '#' at 2 is not allowed in an EPC URN");
	REFUSED("urn:tally:thing:1", NULL,
	        "unknown urn:tally: form (want cndrug or batch)");

	/* Opaque URIs are kept as written. */
	TST_EQ_STR(key_of("geo:22.54,114.06", NULL), "geo:22.54,114.06");
	TST_EQ_STR(
	    key_of("urn:uuid:8a3b2c10-0000-4000-8000-000000000001", NULL),
	    "urn:uuid:8a3b2c10-0000-4000-8000-000000000001");
	TST_OK(trc_id_parse(CM_BYTES("geo:1,2", 7), NULL, &id, &d));
	TST_TRUE(id.kind == TRC_ID_OPAQUE && id.src == TRC_SRC_OTHER);
	REFUSED("geo:1, 2", NULL,
	        "URI: byte 0x20 at 7 (write it percent-encoded)");
	REFUSED("geo:", NULL, "URI has nothing after its scheme");
	REFUSED("no scheme", NULL,
	        "not an identifier: want an EPC URN, a GS1 Digital Link or "
	        "another absolute URI");
	/* gid: an EPC without a GS1 key. */
	TST_EQ_STR(key_of("urn:epc:id:gid:95100000.12345.400", NULL),
	           "urn:epc:id:gid:95100000.12345.400");
	REFUSED("urn:epc:id:gid:951.012.4", NULL,
	        "GID object class must be a decimal number without leading "
	        "zeros");
	REFUSED("urn:epc:id:gid:268435456.1.1", NULL,
	        "GID manager number is above 268435455");
}

static void
test_refusals(void)
{
	trc_id_ctx f = {.field = "epcList[3]"};

	REFUSED("https://id.gs1.org/01/10614141073465/21/2017", &f,
	        "epcList[3]: GTIN (AI 01): check digit is 5, want 4");
	REFUSED("https://id.gs1.org/00/040123450000003339", NULL,
	        "SSCC (AI 00): check digit is 9, want 8");
	REFUSED("https://id.gs1.org/414/4012345000116", NULL,
	        "GLN (AI 414): check digit is 6, want 5");
	REFUSED("https://id.gs1.org/01/0401234512345", NULL,
	        "GTIN (AI 01): check digit is 5, want 3");
	REFUSED("https://id.gs1.org/01/040123451234567", NULL,
	        "Digital Link: no GS1 primary key in the path");
	REFUSED("https://id.gs1.org/01/04012345123456/21/"
	        "123456789012345678901",
	        NULL, "serial (AI 21) has 21 characters, want 1 to 20");
	REFUSED("https://id.gs1.org/01/04012345123456/21/a%23b", NULL,
	        "serial (AI 21): character '#' at 2 is not allowed (GS1 AI "
	        "encodable character set 82)");
	REFUSED("https://id.gs1.org/01/04012345123456/21/a%2", NULL,
	        "serial: bad percent escape at 2");
	REFUSED("https://id.gs1.org/01/04012345123456/21/a\"b", NULL,
	        "serial: byte 0x22 at 2 must be percent-encoded");
	REFUSED("https://id.gs1.org/21/12/01/04012345123456", NULL,
	        "Digital Link order: /21/ comes before the primary key /01/");
	REFUSED("https://id.gs1.org/01/04012345123456/21/12/10/L", NULL,
	        "Digital Link order: /10/ must come before /21/");
	REFUSED("https://id.gs1.org/01/04012345123456/254/1", NULL,
	        "AI 254 is not a key qualifier of AI 01 in a Digital Link");
	REFUSED("https://id.gs1.org/01/04012345123456/17/250101", NULL,
	        "AI 17 is not a key qualifier of AI 01 in a Digital Link");
	REFUSED("https://id.gs1.org/01/04012345123456/21/1/235/2", NULL,
	        "AI 21 and AI 235 in one identifier");
	REFUSED("https://id.gs1.org/8003/1401234566666387", NULL,
	        "GRAI (AI 8003) must start with 0");
	REFUSED("https://id.gs1.org/8006/040123451234560302/21/1", NULL,
	        "ITIP (AI 8006): piece 03 of 02 is not a piece of the total");
	REFUSED("https://id.gs1.org/8010/4012345abc", NULL,
	        "CPID (AI 8010): character 'a' at 8 is not allowed (GS1 "
	        "character set 39)");
	REFUSED("https://id.gs1.org/about", NULL,
	        "Digital Link: no GS1 primary key in the path");

	REFUSED("urn:epc:id:sgtin:0614141.107346", NULL,
	        "EPC URN sgtin: want 3 components separated by '.'");
	REFUSED("urn:epc:id:sgtin:0614141.10734.1", NULL,
	        "EPC URN sgtin: company prefix and the next component must "
	        "be 13 digits");
	REFUSED("urn:epc:id:sgtin:06141.1073461.1", NULL,
	        "EPC URN sgtin: company prefix must be 6 to 12 digits");
	REFUSED("urn:epc:id:sgtin:0614141.107346.a/b", NULL,
	        "EPC URN serial: character '/' at 2 is not allowed in an EPC "
	        "URN");
	REFUSED("urn:epc:id:sgtin:0614141.107346.%23", NULL,
	        "EPC URN serial: escape %23 at 1 is not in GS1 AI encodable "
	        "character set 82");
	REFUSED("urn:epc:id:sgtin:0614141.107346.", NULL,
	        "EPC URN sgtin: the last component is empty");
	REFUSED("urn:epc:id:sgtin:0614141.107346.123456789012345678901", NULL,
	        "serial (AI 21) has 21 characters, want 1 to 20");
	REFUSED("urn:epc:id:sgtin:0614141.107346."
	        "1234567890123456789012345678901",
	        NULL, "EPC URN serial: longer than 30 characters");
	REFUSED("urn:epc:id:foo:1.2", NULL, "EPC URN: unknown scheme \"foo\"");
	REFUSED("urn:epc:id:lgtin:4054739.099914.1", NULL,
	        "EPC URN: lgtin is a class (urn:epc:class:lgtin:)");
	REFUSED("urn:epc:class:sgtin:4054739.099914.1", NULL,
	        "EPC class URN: only lgtin is a class");
	REFUSED("urn:epc:idpat:sscc:4012345.*", NULL,
	        "EPC pattern: sscc has no pattern form");
	REFUSED("urn:epc:idpat:sgtin:4012345.*.*", NULL,
	        "EPC pattern sgtin: only the last component may be '*'");
	REFUSED("urn:epc:idpat:sgtin:4012345.012345.1", NULL,
	        "EPC pattern sgtin: only the last component may be '*', and "
	        "it must be");
	REFUSED("urn:epc:tag:sgtin-96:1.0614141.107346.1", NULL,
	        "EPC URN: want urn:epc:id:, urn:epc:class: or urn:epc:idpat:");
	REFUSED("URN:EPC:id:sgtin:0614141.107346.1", NULL,
	        "EPC URN: write urn:epc: in lower case");
	REFUSED("urn:epc:id:itip:4012345.012345.1.02.999", NULL,
	        "EPC URN itip: piece and total must be 2 digits each");
	REFUSED("", NULL, "empty identifier");
	{
		char big[TRC_ID_TEXT_MAX + 2];

		memset(big, 'a', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		memcpy(big, "geo:", 4);
		REFUSED(big, NULL, "identifier longer than 400 bytes");
	}
}

static void
test_positions(void)
{
	static const struct {
		const char *text;
		trc_id_pos  pos;
		const char *want; /* "" if allowed */
	} cases[] = {
	    {"urn:epc:id:sgtin:0614141.107346.2017", TRC_POS_INSTANCE, ""},
	    {"urn:epc:idpat:sgtin:4054739.099914.*", TRC_POS_CLASS, ""},
	    {"urn:epc:class:lgtin:4054739.099914.1", TRC_POS_CLASS, ""},
	    {"https://id.gs1.org/01/04054739999148", TRC_POS_CLASS, ""},
	    {"geo:1,2", TRC_POS_CLASS, ""},
	    {"geo:1,2", TRC_POS_INSTANCE, ""},
	    {"urn:epc:idpat:sgtin:4054739.099914.*", TRC_POS_INSTANCE,
	     "epcList: urn:epc:idpat:sgtin:4054739.099914.* is an EPC "
	     "pattern, only valid as an epcClass"},
	    {"https://id.gs1.org/01/04054739999148/10/1", TRC_POS_INSTANCE,
	     "epcList: https://id.gs1.org/01/04054739999148/10/1 names a "
	     "class, only valid as an epcClass"},
	    {"urn:epc:id:sgtin:0614141.107346.2017", TRC_POS_CLASS,
	     "epcList: urn:epc:id:sgtin:0614141.107346.2017 is an instance, "
	     "not a class"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		trc_id  id;
		cm_diag d;
		cm_err  rv;

		cm_diag_clear(&d);
		TST_OK(
		    trc_id_parse(CM_BYTES(cases[i].text, strlen(cases[i].text)),
		                 NULL, &id, &d));
		rv = trc_id_check_pos(&id, cases[i].pos, "epcList", &d);
		TST_ERR(rv, cases[i].want[0] ? CM_EPROTO : CM_OK);
		TST_EQ_STR(d.msg, cases[i].want);
	}
}

static void
test_form_names(void)
{
	trc_id_form f = TRC_FORM_ORIGINAL;

	TST_OK(trc_id_form_parse(CM_BYTES("dl", 2), &f));
	TST_TRUE(f == TRC_FORM_DL);
	TST_OK(trc_id_form_parse(CM_BYTES("urn", 3), &f));
	TST_TRUE(f == TRC_FORM_URN);
	TST_OK(trc_id_form_parse(CM_BYTES("original", 8), &f));
	TST_TRUE(f == TRC_FORM_ORIGINAL);
	TST_ERR(trc_id_form_parse(CM_BYTES("DL", 2), &f), CM_EINVAL);
	TST_ERR(trc_id_form_parse(CM_BYTES("dl\0", 3), &f), CM_EINVAL);
}

TST_MAIN(TST_CASE(test_check_digit), TST_CASE(test_urn_to_dl),
         TST_CASE(test_urn_round_trip), TST_CASE(test_dl_forms),
         TST_CASE(test_party), TST_CASE(test_restricted),
         TST_CASE(test_element_strings), TST_CASE(test_tally_forms),
         TST_CASE(test_refusals), TST_CASE(test_positions),
         TST_CASE(test_form_names))
