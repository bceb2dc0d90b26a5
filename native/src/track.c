/*
 * track.c: the local channels of a router's daemons (pipes; UNIX stream sockets: zserv between zebra and its
 * clients, vty) are shown to the controller, which keeps a duplicate of each and counts the bytes waiting on them
 * as it counts bytes on emulated connections: while any wait to be read, the virtual clock does not move.
 *
 * Why: a thread the kernel wakes with bytes on such a channel (FRR's thread masters wake each other through a
 * pipe; bgpd's messages to zebra) runs before it can tell the clock so. The scheduler otherwise has only the
 * kernel's word for it (the thread's state in /proc, the run queues' length), and a wakeup the kernel queues for
 * another CPU is not yet on any run queue: the clock could move past work that was already due. Bytes in a
 * buffer are there as soon as the write returns.
 *
 * Only with the virtual clock. "TRACK id" carries the descriptor; "UNTRACK id" when the daemon closes it; the
 * controller closes what a dead process left.
 */
#include "libreal.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

static int *ids;	/* per descriptor: its tracking id, 0 if not tracked */
/* Pipes a zygote made before it forks (FRR's thread masters wake themselves through one): each child gets its
 * own, or a byte one child writes to wake itself could wake a sibling instead. */
#define RF_ZYGOTE_PIPES 64
static struct { int r, w; } zpipes[RF_ZYGOTE_PIPES];
static int nzpipes;
static int next_id = 1;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

void rf_track_fork(enum rf_fork_phase phase)
{
	static pthread_mutex_t *const locks[] = {&lock};
	rf_fork_locks(phase, locks, 1);
}

void rf_track(int fd)
{
	if (!rf_active() || !rf_vt_active() || fd < 0 || fd >= RF_MAX_FD)
		return;
	pthread_mutex_lock(&lock);
	if (!ids)
		ids = calloc(RF_MAX_FD, sizeof(*ids)); /* untouched pages cost nothing */
	int id = ids ? next_id++ : 0;
	if (ids)
		ids[fd] = id;
	pthread_mutex_unlock(&lock);
	if (!id)
		return;
	char msg[32];
	snprintf(msg, sizeof(msg), "TRACK %d", id);
	rf_ctl_send_fd(msg, fd);
}

void rf_untrack(int fd)
{
	if (!ids || fd < 0 || fd >= RF_MAX_FD)
		return;
	pthread_mutex_lock(&lock);
	int id = ids[fd];
	ids[fd] = 0;
	pthread_mutex_unlock(&lock);
	if (!id)
		return;
	char msg[32];
	snprintf(msg, sizeof(msg), "UNTRACK %d", id);
	rf_ctl_send(msg);
}

/* A connected or accepted socket: tracked if it is a UNIX stream socket. */
void rf_track_if_local_stream(int fd)
{
	int domain = 0, type = 0;
	socklen_t l = sizeof(int);
	if (rf_real.getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &l) < 0 || domain != AF_UNIX)
		return;
	l = sizeof(int);
	if (rf_real.getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l) < 0 || type != SOCK_STREAM)
		return;
	rf_track(fd);
}

RF_EXPORT int pipe2(int fds[2], int flags)
{
	RF_INIT();
	int r = rf_real.pipe2(fds, flags);
	if (r == 0) {
		if (rf_zygote() && nzpipes < RF_ZYGOTE_PIPES) {
			zpipes[nzpipes].r = fds[0];
			zpipes[nzpipes++].w = fds[1];
		} else if (rf_zygote()) {
			rf_fatal("more than %d pipes before the fork point", RF_ZYGOTE_PIPES);
		}
		rf_track(fds[0]);
	}
	return r;
}

RF_EXPORT int pipe(int fds[2])
{
	RF_INIT();
	return pipe2(fds, 0);
}

static int same_pipe(int r, int w)
{
	struct stat a, b;
	return fstat(r, &a) == 0 && fstat(w, &b) == 0 && S_ISFIFO(a.st_mode) && a.st_ino == b.st_ino &&
	       a.st_dev == b.st_dev;
}

/* In a zygote's child: a fresh pipe at the numbers of every pipe the zygote made and still holds, shown to the
 * child's controller channel (what the zygote tracked was tracked on the zygote's). */
void rf_track_refork(void)
{
	if (ids)
		memset(ids, 0, RF_MAX_FD * sizeof(*ids));
	for (int i = 0; i < nzpipes; i++) {
		int r = zpipes[i].r, w = zpipes[i].w, n[2];
		if (!same_pipe(r, w))
			continue; /* closed (or the numbers reused) before the fork point */
		if (rf_raw_syscall(SYS_pipe2, (long)n, O_CLOEXEC, 0, 0, 0, 0) < 0 || rf_replace_fd(r, n[0]) < 0 || rf_replace_fd(w, n[1]) < 0) {
			rf_log("cannot remake pipe %d/%d: %s", r, w, strerror(errno));
			abort();
		}
		rf_track(r);
	}
	nzpipes = 0;
}
