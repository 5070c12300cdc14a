/*
 * "Did you mean": the known word nearest to a mistyped one, if near enough
 * to be a typo (a letter missing, extra, wrong, or two letters swapped).
 */

#include <sys/types.h>

#include <stdlib.h>
#include <string.h>

#include "ml.h"

#define SUGGEST_MAX_LEN	64	/* longer words get no suggestion */

/*
 * The optimal string alignment distance of a and b: insertions, deletions,
 * substitutions and swaps of two neighbours, each 1. Three rows suffice.
 */
static u_int
suggest_distance(const char *a, size_t la, const char *b, size_t lb)
{
	u_int	 rows[3][SUGGEST_MAX_LEN + 1];
	u_int	*prev2 = rows[0], *prev = rows[1], *cur = rows[2], *t;
	u_int	 cost, best;
	size_t	 i, j;

	for (j = 0; j <= lb; j++)
		prev[j] = j;
	for (i = 1; i <= la; i++) {
		cur[0] = i;
		for (j = 1; j <= lb; j++) {
			cost = a[i - 1] == b[j - 1] ? 0 : 1;
			best = prev[j] + 1;
			if (cur[j - 1] + 1 < best)
				best = cur[j - 1] + 1;
			if (prev[j - 1] + cost < best)
				best = prev[j - 1] + cost;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && prev2[j - 2] + 1 < best)
				best = prev2[j - 2] + 1;
			cur[j] = best;
		}
		t = prev2;
		prev2 = prev;
		prev = cur;
		cur = t;
	}
	return (prev[lb]);
}

/*
 * The candidate nearest to word, or NULL when none is near enough: one
 * edit for a word of up to four letters, two for a longer one. The first
 * of equally near ones wins; word itself is never suggested.
 */
const char *
suggest(const char *word, const char *const *cands, size_t n)
{
	const char	*best = NULL;
	size_t		 lw = strlen(word), lc, i;
	u_int		 d, bestd, limit;

	if (lw == 0 || lw > SUGGEST_MAX_LEN)
		return (NULL);
	limit = lw <= 4 ? 1 : 2;
	bestd = limit + 1;
	for (i = 0; i < n; i++) {
		lc = strlen(cands[i]);
		if (lc > SUGGEST_MAX_LEN || strcmp(cands[i], word) == 0)
			continue;
		if ((lc > lw ? lc - lw : lw - lc) > limit)
			continue;
		d = suggest_distance(word, lw, cands[i], lc);
		if (d < bestd) {
			bestd = d;
			best = cands[i];
		}
	}
	return (best);
}
