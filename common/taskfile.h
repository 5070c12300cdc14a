/*
 * Shared by the two halves of the task-file parser: taskfile.c reads the
 * header, taskfile_directives.c parses its @directives.
 */

#ifndef TASKFILE_H
#define TASKFILE_H

struct taskdef;
struct taskparam;

/* The state of one parse: the result and the line being read. */
struct parse {
	struct taskdef	*def;
	int		 line;
	int		 seen[32];	/* line of each non-repeatable directive */
};

/* taskfile.c */
int		 taskfile_error(struct parse *, const char *, ...)
		     __attribute__((format(printf, 2, 3)));

/* taskfile_directives.c */
void		 taskfile_directive(struct parse *, const char *);
void		 taskparam_clear(struct taskparam *);

#endif /* TASKFILE_H */
