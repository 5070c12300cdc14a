/*
 * Runs a fuzz target over its seed corpus, for make check: the targets are
 * built and replayed without libFuzzer (tests/fuzz/README for fuzzing).
 * Prints TAP, one line per file.
 */

#include <sys/types.h>

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Sort directory entries by name. */
static int
compare(const void *a, const void *b)
{
	return (strcmp(*(char * const *)a, *(char * const *)b));
}

int
main(void)
{
	const char	*srcdir;
	char		 dir[4096], path[8192], **names = NULL;
	struct dirent	*de;
	DIR		*d;
	FILE		*f;
	uint8_t		*buf;
	size_t		 n = 0, i, len;
	long		 size;

	if ((srcdir = getenv("ML_SRCDIR")) == NULL)
		srcdir = ".";
	snprintf(dir, sizeof dir, "%s/tests/fuzz/corpus/%s", srcdir, CORPUS);
	if ((d = opendir(dir)) == NULL) {
		printf("1..1\nnot ok 1 - cannot open %s\n", dir);
		return (1);
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		names = realloc(names, (n + 1) * sizeof *names);
		names[n++] = strdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof *names, compare);
	printf("1..%zu\n", n);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		if ((f = fopen(path, "rb")) == NULL ||
		    fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0) {
			printf("not ok %zu - cannot read %s\n", i + 1, path);
			continue;
		}
		rewind(f);
		buf = malloc(size + 1);
		len = fread(buf, 1, size, f);
		fclose(f);
		LLVMFuzzerTestOneInput(buf, len);
		free(buf);
		printf("ok %zu - %s on %s\n", i + 1, CORPUS, names[i]);
		fflush(stdout);
		free(names[i]);
	}
	free(names);
	return (0);
}
