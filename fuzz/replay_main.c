/* SPDX-License-Identifier: MIT */
/* fuzz/replay_main.c -- runs a libFuzzer target over files (a seed corpus)
 * outside libFuzzer, so `ninja check` replays every corpus under gcc and
 * under ASan+UBSan (SQLite's fuzzcheck).  Prints "<target>: N passed, 0
 * failed"; a crash or sanitizer report fails the test instead. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
main(int argc, char **argv)
{
	const char *base = strrchr(argv[0], '/');
	int         n = 0;

	base = base ? base + 1 : argv[0];
	for (int i = 1; i < argc; i++) {
		FILE    *f = fopen(argv[i], "rb");
		uint8_t *buf;
		long     len;

		if (f == NULL || fseek(f, 0, SEEK_END) != 0 ||
		    (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
			fprintf(stderr, "%s: cannot read %s\n", base, argv[i]);
			printf("%s: %d passed, 1 failed\n", base, n);
			return (1);
		}
		/* An exact-size heap copy, so ASan sees reads past the end. */
		buf = malloc(len > 0 ? (size_t) len : 1);
		if (buf == NULL ||
		    fread(buf, 1, (size_t) len, f) != (size_t) len) {
			fprintf(stderr, "%s: cannot read %s\n", base, argv[i]);
			return (1);
		}
		fclose(f);
		LLVMFuzzerTestOneInput(buf, (size_t) len);
		free(buf);
		n++;
	}
	if (n == 0) {
		fprintf(stderr, "%s: empty corpus\n", base);
		printf("%s: 0 passed, 1 failed\n", base);
		return (1);
	}
	printf("%s: %d passed, 0 failed\n", base, n);
	return (0);
}
