/* SPDX-License-Identifier: MIT */
/* tests/ledger/ldg_ident_test.c -- identities: a scope is compared as the
 * bytes it is, with its length, so that no prefix, extension or NUL of a
 * held scope matches it (a regulator with scope "tax" and the type
 * "tax\0.x"; docs/format.md section 5.2). */
#include "tests/tst.h"

#include "ledger/ldg.h"

static void
test_scope_bytes(void)
{
	ldg_identity id;

	memset(&id, 0, sizeof(id));
	id.role = LDG_ROLE_REGULATOR;
	snprintf(id.scopes[0], sizeof(id.scopes[0]), "tax");
	snprintf(id.scopes[1], sizeof(id.scopes[1]), "market");
	id.nscopes = 2;
	TST_TRUE(ldg_identity_has_scope(&id, CM_BYTES("tax", 3)));
	TST_TRUE(ldg_identity_has_scope(&id, CM_BYTES("market", 6)));
	TST_TRUE(!ldg_identity_has_scope(&id, CM_BYTES("tax\0", 4)));
	TST_TRUE(!ldg_identity_has_scope(&id, CM_BYTES("tax\0.x", 6)));
	TST_TRUE(!ldg_identity_has_scope(&id, CM_BYTES("ta", 2)));
	TST_TRUE(!ldg_identity_has_scope(&id, CM_BYTES("taxes", 5)));
	TST_TRUE(!ldg_identity_has_scope(&id, CM_BYTES("Tax", 3)));
	TST_TRUE(!ldg_identity_has_scope(&id, CM_BYTES("", 0)));
	/* Only the first nscopes count. */
	id.nscopes = 1;
	TST_TRUE(!ldg_identity_has_scope(&id, CM_BYTES("market", 6)));
	id.nscopes = 0;
	TST_TRUE(!ldg_identity_has_scope(&id, CM_BYTES("tax", 3)));
}

static void
test_role_from_text(void)
{
	TST_TRUE(ldg_role_from_text(CM_BYTES("regulator", 9)) ==
	         LDG_ROLE_REGULATOR);
	TST_TRUE(ldg_role_from_text(CM_BYTES("operator", 8)) ==
	         LDG_ROLE_OPERATOR);
	TST_TRUE(ldg_role_from_text(CM_BYTES("bank\0", 5)) == LDG_ROLE_NONE);
	TST_TRUE(ldg_role_from_text(CM_BYTES("ban", 3)) == LDG_ROLE_NONE);
	TST_TRUE(ldg_role_from_text(CM_BYTES("none", 4)) == LDG_ROLE_NONE);
	TST_TRUE(ldg_role_parse("enterprise") == LDG_ROLE_ENTERPRISE);
}

TST_MAIN(TST_CASE(test_scope_bytes), TST_CASE(test_role_from_text))
