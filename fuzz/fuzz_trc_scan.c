/* SPDX-License-Identifier: MIT */
/* fuzz/fuzz_trc_scan.c -- trc_scan_attr (the data attributes a scanned
 * code carries, for verify) on arbitrary bytes, for the AIs verify reads
 * and a small output buffer.  Oracle: a value found is non-empty, fits the
 * buffer and occurs in the input. */
#include "trace/trc.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const ais[] = {"10", "15", "17", "21", "8011"};
	char                     out[8];

	for (size_t i = 0; i < sizeof(ais) / sizeof(ais[0]); i++) {
		size_t n;

		if (!trc_scan_attr(CM_BYTES(data, size), ais[i], out,
		                   sizeof(out)))
			continue;
		n = strlen(out);
		if (n == 0 || n >= sizeof(out))
			abort();
		if (size < n)
			abort();
		{
			bool found = false;

			for (size_t k = 0; k + n <= size && !found; k++)
				found = memcmp(data + k, out, n) == 0;
			if (!found)
				abort();
		}
	}
	return (0);
}
