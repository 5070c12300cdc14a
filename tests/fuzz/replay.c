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

/* Add the files of a directory to the list; -1 if it cannot be read. */
static int
add_dir(const char *dir, char ***paths, size_t *n)
{
	struct dirent	*de;
	DIR		*d;
	char		*path;
	size_t		 len;

	if ((d = opendir(dir)) == NULL)
		return (-1);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		len = strlen(dir) + strlen(de->d_name) + 2;
		path = malloc(len);
		snprintf(path, len, "%s/%s", dir, de->d_name);
		*paths = realloc(*paths, (*n + 1) * sizeof **paths);
		(*paths)[(*n)++] = path;
	}
	closedir(d);
	return (0);
}

int
main(void)
{
	const char	*srcdir;
	char		 dir[4096], **paths = NULL;
	FILE		*f;
	uint8_t		*buf;
	size_t		 n = 0, i, len;
	long		 size;

	if ((srcdir = getenv("ML_SRCDIR")) == NULL)
		srcdir = ".";
	snprintf(dir, sizeof dir, "%s/tests/fuzz/corpus/%s", srcdir, CORPUS);
	if (add_dir(dir, &paths, &n) != 0) {
		printf("1..1\nnot ok 1 - cannot open %s\n", dir);
		return (1);
	}
#ifdef EXTRA
	/* More seeds that live elsewhere in the tree (the example tasks). */
	snprintf(dir, sizeof dir, "%s/%s", srcdir, EXTRA);
	if (add_dir(dir, &paths, &n) != 0) {
		printf("1..1\nnot ok 1 - cannot open %s\n", dir);
		return (1);
	}
#endif
	qsort(paths, n, sizeof *paths, compare);
	printf("1..%zu\n", n);
	for (i = 0; i < n; i++) {
		if ((f = fopen(paths[i], "rb")) == NULL ||
		    fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0) {
			printf("not ok %zu - cannot read %s\n", i + 1,
			    paths[i]);
			continue;
		}
		rewind(f);
		buf = malloc(size + 1);
		len = fread(buf, 1, size, f);
		fclose(f);
		LLVMFuzzerTestOneInput(buf, len);
		free(buf);
		printf("ok %zu - %s on %s\n", i + 1, CORPUS,
		    strrchr(paths[i], '/') + 1);
		fflush(stdout);
		free(paths[i]);
	}
	free(paths);
	return (0);
}
