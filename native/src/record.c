/*
 * record.c: a router's inputs as its daemons read them, so that the router can be replayed alone to the same
 * state (realfish/runtime/recording.py reads the files, replayer.py feeds them back).
 *
 * With REALFISH_RECORD set to a directory, every daemon appends one record per input event to
 * DIR/ROUTER.DAEMON.rec: a fixed header (virtual ns, kind, connection id at the broker, payload length) and
 * the payload. Kinds:
 *   'c' a connect() and the broker's answer       payload "CONNECT ...\nOK id laddr lport" (or PENDING, ERR)
 *   'r' the outcome of a pending connect          payload "OK laddr lport" or "ERR errno"
 *   'a' an accepted connection                    payload the broker's "id laddr lport raddr rport"
 *   'd' bytes read from an emulated connection    payload the bytes, exactly as read (one record per read)
 *   'e' a read that found the connection's end    payload "0" (EOF) or the errno
 *   'w' a write to an emulated connection         payload the bytes written, or minus the errno (the bytes
 *                                                 themselves are the peer's input, in the peer's recording)
 *   'p' a raw IP packet from another router      payload the inbox datagram as read (raw.c's header, then the
 *       (conn: the IP protocol)                  IP packet)
 *   's' a raw IP packet sent                     payload how many other routers it went to
 *   'k' a poll of the daemon's event loop        payload "T" if its timers were due, "I" if descriptors were
 *       returned (clock.c)                       ready, both, or neither
 * Only emulated TCP, raw IP and the event loop's polls are recorded: netlink and the interface table are the router's own config, zserv
 * is between the router's own daemons. The header is written with the payload in one writev on an O_APPEND file,
 * so two threads of a daemon never interleave their records.
 */
#include "libreal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

struct rec_head {
	int64_t vtime;
	uint32_t kind;
	uint32_t len;
	int64_t conn;
};

static int rec_fd = -1;

void rf_record_open(void)
{
	const char *dir = getenv("REALFISH_RECORD");
	if (!dir || !*dir || rf_zygote()) /* a zygote's children are handed their files (rf_record_adopt) */
		return;
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s.%s.rec", dir, rf_router(), rf_daemon());
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0) {
		rf_log("cannot open the recording %s: %s", path, strerror(errno));
		abort(); /* a recording with holes would replay to another state */
	}
	rf_record_adopt(fd);
}

/* The recording file the runtime opened for a zygote's child (zygote.c): the child runs as FRR's user and may not
 * reach the directory, which the runtime (root) can. */
void rf_record_adopt(int fd)
{
	int high = fcntl(fd, F_DUPFD_CLOEXEC, 1000);
	if (high >= 0) {
		rf_real.close(fd);
		fd = high;
	}
	rec_fd = fd;
}

int rf_recording(void)
{
	return rec_fd >= 0;
}

void rf_record(char kind, long conn, const void *data, size_t len)
{
	if (rec_fd < 0)
		return;
	int saved = errno;
	struct rec_head h = {.vtime = rf_vt_active() ? rf_vt_now() : 0, .kind = (uint8_t)kind, .len = (uint32_t)len,
			     .conn = conn};
	struct iovec iov[2] = {{.iov_base = &h, .iov_len = sizeof(h)}, {.iov_base = (void *)data, .iov_len = len}};
	ssize_t (*wv)(int, const struct iovec *, int) = rf_real.writev ? rf_real.writev : writev;
	if (wv(rec_fd, iov, len ? 2 : 1) != (ssize_t)(sizeof(h) + len))
		rf_log("recording: short write (%s)", strerror(errno));
	errno = saved;
}

void rf_record_text(char kind, long conn, const char *text)
{
	rf_record(kind, conn, text, strlen(text));
}

/* After a read on fd returned n (errno set when n < 0): record it if fd is a connected emulated socket. */
void rf_record_read(int fd, const void *buf, ssize_t n)
{
	if (rec_fd < 0)
		return;
	struct rf_sock *s = rf_get(fd);
	if (!s || s->kind != RF_TCP || s->state != RF_T_CONNECTED)
		return;
	if (n > 0) {
		rf_record('d', s->id, buf, (size_t)n);
	} else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
		char e[16];
		snprintf(e, sizeof(e), "%d", n == 0 ? 0 : errno);
		rf_record_text('e', s->id, e);
	}
}

/* After a write on fd returned n: record how it went, if fd is a connected emulated socket. A replay needs it
 * to close a connection where the peer closed it: after the writes that went through, before one that failed. */
void rf_record_write(int fd, ssize_t n)
{
	if (rec_fd < 0)
		return;
	struct rf_sock *s = rf_get(fd);
	if (!s || s->kind != RF_TCP || s->state != RF_T_CONNECTED)
		return;
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	char w[24];
	snprintf(w, sizeof(w), "%zd", n < 0 ? -(ssize_t)errno : n);
	rf_record_text('w', s->id, w);
}

/* bgpd reads its peers with read() and writes with writev(); they are hooked only for the recording. */
RF_EXPORT ssize_t read(int fd, void *buf, size_t count)
{
	RF_INIT();
	ssize_t n = rf_real.read(fd, buf, count);
	if (rec_fd >= 0)
		rf_record_read(fd, buf, n);
	return n;
}

RF_EXPORT ssize_t write(int fd, const void *buf, size_t count)
{
	RF_INIT();
	if (rf_split_fd(fd))
		return rf_split_write(fd, buf, count);
	ssize_t n = rf_real.write(fd, buf, count);
	if (rec_fd >= 0)
		rf_record_write(fd, n);
	return n;
}

RF_EXPORT ssize_t writev(int fd, const struct iovec *iov, int iovcnt)
{
	RF_INIT();
	ssize_t n = rf_real.writev(fd, iov, iovcnt);
	if (rec_fd >= 0)
		rf_record_write(fd, n);
	return n;
}
