/*
 * spawnloop: the baseline for bench/run.sh. Runs a command N times, one
 * after the other, the way a minimal supervisor would: fork, exec, stdout
 * and stderr through pipes read to EOF, waitpid. Prints the rate.
 *
 * usage: spawnloop N command [argument ...]
 */

#define _GNU_SOURCE

#include <sys/types.h>
#include <sys/wait.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* Seconds on the monotonic clock. */
static double
now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ts.tv_sec + ts.tv_nsec / 1e9);
}

/* One run: the command's output is read and thrown away. */
static void
spawn(char **argv)
{
	struct pollfd	 pfd[2];
	int		 out[2], errp[2], open_fds = 2, status, i;
	char		 buf[65536];
	ssize_t		 n;
	pid_t		 pid;

	if (pipe2(out, O_CLOEXEC) == -1 || pipe2(errp, O_CLOEXEC) == -1)
		err(1, "pipe");
	switch (pid = fork()) {
	case -1:
		err(1, "fork");
	case 0:
		dup2(out[1], 1);
		dup2(errp[1], 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(out[1]);
	close(errp[1]);
	pfd[0].fd = out[0];
	pfd[1].fd = errp[0];
	pfd[0].events = pfd[1].events = POLLIN;
	while (open_fds > 0) {
		if (poll(pfd, 2, -1) == -1 && errno != EINTR)
			err(1, "poll");
		for (i = 0; i < 2; i++) {
			if (pfd[i].fd == -1 || pfd[i].revents == 0)
				continue;
			if ((n = read(pfd[i].fd, buf, sizeof buf)) <= 0) {
				close(pfd[i].fd);
				pfd[i].fd = -1;
				open_fds--;
			}
		}
	}
	if (waitpid(pid, &status, 0) == -1)
		err(1, "waitpid");
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		errx(1, "%s failed", argv[0]);
}

int
main(int argc, char **argv)
{
	double	 start, secs;
	long	 n, i;

	if (argc < 3)
		errx(64, "usage: spawnloop N command [argument ...]");
	n = strtol(argv[1], NULL, 10);
	start = now();
	for (i = 0; i < n; i++)
		spawn(argv + 2);
	secs = now() - start;
	printf("%ld runs in %.3f s: %.1f runs/s, %.3f ms each\n", n, secs,
	    n / secs, secs * 1000 / n);
	return (0);
}
