/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "host_stats.h"

/* The whole answer to @cmd, NUL-terminated (malloc'd), or NULL. */
static char *ask(const char *control, const char *cmd)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	snprintf(a.sun_path, sizeof a.sun_path, "%s", control);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return NULL;
	size_t cap = 1 << 16, len = 0;
	char *text = malloc(cap);
	if (!text || connect(fd, (struct sockaddr *)&a, sizeof a) ||
	    write(fd, cmd, strlen(cmd)) != (ssize_t)strlen(cmd)) {
		free(text);
		close(fd);
		return NULL;
	}
	for (;;) {
		if (len + 1 == cap) {
			char *more = realloc(text, cap *= 2);
			if (!more) {
				free(text);
				close(fd);
				return NULL;
			}
			text = more;
		}
		ssize_t n = read(fd, text + len, cap - len - 1);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	text[len] = 0;
	return text;
}

/* Lines `vamos_NAME_total{vm="vmK"} VALUE`: VALUE into @out[K] for K < @n. */
static void pick(const char *text, const char *name, unsigned n, uint64_t *out)
{
	char prefix[64];
	int plen = snprintf(prefix, sizeof prefix, "vamos_%s_total{vm=\"vm", name);
	for (const char *line = text; *line;) {
		if (!strncmp(line, prefix, (size_t)plen)) {
			char *end;
			unsigned long k = strtoul(line + plen, &end, 10);
			if (end[0] == '"' && end[1] == '}' && k < n)
				out[k] = strtoull(end + 2, NULL, 10);
		}
		const char *nl = strchr(line, '\n');
		if (!nl)
			break;
		line = nl + 1;
	}
}

int host_stats(const char *control, unsigned n, uint64_t *requests, uint64_t *batches)
{
	char *text = ask(control, "stats prometheus\n");
	if (!text)
		return -EIO;
	memset(requests, 0, n * sizeof *requests);
	memset(batches, 0, n * sizeof *batches);
	pick(text, "requests", n, requests);
	pick(text, "batches", n, batches);
	free(text);
	return 0;
}
