/*
 * split.c: vtysh cutting every router's config into its daemons' parts (realfish/daemon_configs.py).
 *
 * With REALFISH_SPLIT=FILE and REALFISH_SPLIT_DAEMONS="zebra bgpd ...", libreal (inactive otherwise: no
 * controller) makes vtysh's connections to those daemons' vty sockets (DIR/NAME.vty) reach no daemon: connect()
 * succeeds without one, each line vtysh then writes is appended to FILE as "NAME\t" LINE "\0", and its read for
 * the reply gets FRR's success at once ("\0\0\0" CMD_SUCCESS). All in vtysh's own process: one vtysh cuts the
 * configs of hundreds of routers without a round trip to another process per line (about 200 lines per router).
 */
#include "libreal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#define SPLIT_FDS 1024

static int on = -1; /* -1: not looked yet */
static int out = -1;
static const char *wanted;
static char *names[SPLIT_FDS]; /* the daemon a descriptor stands for, NULL if none */
static char buf[1 << 16];
static size_t used;

static void flush(void)
{
	for (size_t done = 0; done < used;) {
		long n = rf_raw_syscall(SYS_write, out, (long)(buf + done), (long)(used - done), 0, 0, 0);
		if (n <= 0)
			break;
		done += n;
	}
	used = 0;
}

__attribute__((destructor)) static void at_exit(void)
{
	if (on > 0)
		flush();
}

static int split_on(void)
{
	if (on < 0) {
		const char *file = getenv("REALFISH_SPLIT");
		wanted = getenv("REALFISH_SPLIT_DAEMONS");
		on = file && *file && wanted;
		if (on)
			out = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		on = on && out >= 0;
	}
	return on;
}

/* A word of REALFISH_SPLIT_DAEMONS. */
static int is_wanted(const char *name, size_t len)
{
	for (const char *p = wanted; *p;) {
		size_t n = strcspn(p, " ");
		if (n == len && strncmp(p, name, len) == 0)
			return 1;
		p += n;
		p += strspn(p, " ");
	}
	return 0;
}

int rf_split_connect(int fd, const struct sockaddr *addr)
{
	if (!addr || addr->sa_family != AF_UNIX || fd < 0 || !split_on())
		return 0;
	const char *path = ((const struct sockaddr_un *)addr)->sun_path;
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	size_t len = strlen(base);
	if (len <= 4 || strcmp(base + len - 4, ".vty") != 0 || !is_wanted(base, len - 4))
		return 0;
	if (fd >= SPLIT_FDS) /* it would reach for a daemon that is not there: a config part lost */
		rf_fatal("vtysh's descriptor %d for %s is beyond the split's table (%d)", fd, base, SPLIT_FDS);
	free(names[fd]);
	names[fd] = strndup(base, len - 4);
	return names[fd] != NULL;
}

int rf_split_fd(int fd)
{
	return on > 0 && fd >= 0 && fd < SPLIT_FDS && names[fd];
}

ssize_t rf_split_write(int fd, const void *data, size_t count)
{
	size_t name = strlen(names[fd]);
	if (used + name + count + 2 > sizeof(buf))
		flush();
	if (name + count + 2 > sizeof(buf))
		return count; /* longer than any vty line (VTY_BUFSIZ): not a config line */
	memcpy(buf + used, names[fd], name);
	buf[used + name] = '\t';
	memcpy(buf + used + name + 1, data, count);
	used += name + 1 + count;
	if (count && ((const char *)data)[count - 1] != 0) /* vtysh writes each line with its NUL */
		buf[used++] = 0;
	return count;
}

ssize_t rf_split_recvmsg(int fd, struct msghdr *msg)
{
	static const char success[4] = {0, 0, 0, 0};
	if (!msg->msg_iovlen || msg->msg_iov[0].iov_len < sizeof(success)) {
		errno = EINVAL;
		return -1;
	}
	memcpy(msg->msg_iov[0].iov_base, success, sizeof(success));
	msg->msg_controllen = 0;
	msg->msg_flags = 0;
	return sizeof(success);
}

void rf_split_close(int fd)
{
	if (rf_split_fd(fd)) {
		free(names[fd]);
		names[fd] = NULL;
	}
}
