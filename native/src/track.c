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

#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/un.h>
#include <unistd.h>

static int *ids;	/* per descriptor: its tracking id, 0 if not tracked */
static int next_id = 1;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

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
	static int (*real_pipe2)(int[2], int);
	if (!real_pipe2)
		*(void **)&real_pipe2 = dlsym(RTLD_NEXT, "pipe2");
	int r = real_pipe2(fds, flags);
	if (r == 0)
		rf_track(fds[0]);
	return r;
}

RF_EXPORT int pipe(int fds[2])
{
	return pipe2(fds, 0);
}
