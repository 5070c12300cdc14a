/*
 * A binary heap of pointers, soonest first, as tree.h's macros make trees:
 * HEAP_HEAD declares it, HEAP_GENERATE its functions, for a type whose
 * element records its place in the heap (so that it can be taken out).
 */

#ifndef HEAP_H
#define HEAP_H

#define HEAP_HEAD(name, type)						\
struct name {								\
	struct type	**v;						\
	u_int		  n;						\
	u_int		  size;						\
}

/* before(a, b): whether a comes first; field: the element's place. */
#define HEAP_GENERATE(name, type, field, before)			\
static void								\
name##_swap(struct name *h, u_int i, u_int j)				\
{									\
	struct type	*t = h->v[i];					\
									\
	h->v[i] = h->v[j];						\
	h->v[j] = t;							\
	h->v[i]->field = i;						\
	h->v[j]->field = j;						\
}									\
									\
static void __attribute__((unused))					\
name##_fix(struct name *h, u_int i)					\
{									\
	u_int	 l, m;							\
									\
	while (i > 0 && before(h->v[i], h->v[(i - 1) / 2])) {		\
		name##_swap(h, i, (i - 1) / 2);				\
		i = (i - 1) / 2;					\
	}								\
	for (;;) {							\
		m = i;							\
		l = 2 * i + 1;						\
		if (l < h->n && before(h->v[l], h->v[m]))		\
			m = l;						\
		if (l + 1 < h->n && before(h->v[l + 1], h->v[m]))	\
			m = l + 1;					\
		if (m == i)						\
			break;						\
		name##_swap(h, i, m);					\
		i = m;							\
	}								\
}									\
									\
static void __attribute__((unused))					\
name##_push(struct name *h, struct type *e)				\
{									\
	if (h->n == h->size) {						\
		h->size = h->size == 0 ? 64 : h->size * 2;		\
		h->v = xreallocarray(h->v, h->size, sizeof *h->v);	\
	}								\
	e->field = h->n;						\
	h->v[h->n++] = e;						\
	name##_fix(h, e->field);					\
}									\
									\
static void __attribute__((unused))					\
name##_remove(struct name *h, struct type *e)				\
{									\
	u_int	 i = e->field;						\
									\
	if (i != --h->n) {						\
		name##_swap(h, i, h->n);				\
		name##_fix(h, i);					\
	}								\
}

#endif /* HEAP_H */
