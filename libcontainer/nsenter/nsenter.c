// See nsenter.go for why this exists and what it reads.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sys/socket.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_JOINS 8

// fail reports "what arg: strerror" on the sync socket as a JSON error
// message (escaping quotes and backslashes) and exits.
static void fail(const char *what, const char *arg)
{
	char msg[512], out[1200];
	const char *sync = getenv("_HUSK_INIT_SYNC");
	size_t n = 0;
	int len = snprintf(msg, sizeof(msg), "%s %s: %s", what, arg, strerror(errno));

	if (len < 0)
		_exit(1);
	n = snprintf(out, sizeof(out), "{\"type\":\"error\",\"step\":\"joining namespaces\",\"msg\":\"");
	for (const char *p = msg; *p && n < sizeof(out) - 8; p++) {
		if (*p == '"' || *p == '\\')
			out[n++] = '\\';
		out[n++] = (*p >= 0x20) ? *p : '?';
	}
	n += snprintf(out + n, sizeof(out) - n, "\"}");
	if (sync == NULL || write(atoi(sync), out, n) < 0)
		fprintf(stderr, "husk: %s\n", msg);
	_exit(1);
}

// new_userns makes a user namespace whose mappings the parent writes
// with newuidmap/newgidmap (husk rootless with subordinate id ranges): an
// unprivileged parent cannot write them itself, and they must be in
// place before the Go runtime starts, as becoming root in the namespace
// needs them.
static void new_userns(void)
{
	const char *sync = getenv("_HUSK_INIT_SYNC");
	const char ask[] = "{\"type\":\"userns\"}";
	char reply[256] = {0};
	int fd = sync ? atoi(sync) : -1;

	if (unshare(CLONE_NEWUSER) < 0)
		fail("unshare", "user namespace");
	if (send(fd, ask, sizeof(ask) - 1, 0) < 0 || recv(fd, reply, sizeof(reply) - 1, 0) <= 0)
		fail("waiting for", "the id mappings");
	if (strstr(reply, "\"userns\"") == NULL) {
		errno = EPROTO;
		fail("waiting for", "the id mappings");
	}
	if (setresgid(0, 0, 0) < 0 || setgroups(0, NULL) < 0 || setresuid(0, 0, 0) < 0)
		fail("becoming root in", "the new user namespace");
}

void husk_nsenter(void)
{
	const char *spec = getenv("_HUSK_NSENTER");
	char *copy, *line, *save = NULL;
	int fds[MAX_JOINS], flags[MAX_JOINS], n = 0;
	char *paths[MAX_JOINS];

	if (spec == NULL) {
		if (getenv("_HUSK_USERNS") != NULL)
			new_userns();
		return;
	}
	copy = strdup(spec);
	if (copy == NULL)
		fail("reading", "_HUSK_NSENTER");
	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *path = NULL;
		unsigned long flag = strtoul(line + 1, &path, 16);

		if (line[0] != 'j' || n == MAX_JOINS || path == NULL || *path != ' ')
			fail("parsing", "_HUSK_NSENTER");
		path++;
		fds[n] = open(path, O_RDONLY | O_CLOEXEC);
		if (fds[n] < 0)
			fail("opening", path);
		paths[n] = path;
		flags[n++] = (int)flag;
	}
	for (int i = 0; i < n; i++) {
		if (setns(fds[i], flags[i]) < 0)
			fail("setns", paths[i]);
		close(fds[i]);
		// The host uid is not mapped in the joined namespace: become its
		// root, so that init (and what it execs) has its capabilities.
		if (flags[i] == CLONE_NEWUSER && (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0))
			fail("becoming root in", paths[i]);
	}
	free(copy);
	if (getenv("_HUSK_USERNS") != NULL)
		new_userns();
}
