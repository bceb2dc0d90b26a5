/* The exported libc entry points. Each is thin: it looks the descriptor up and dispatches to tcp.c, netlink.c
 * or raw.c; descriptors that are not emulated go straight to libc. */
#include "libreal.h"

#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include <linux/netlink.h>
#include <linux/sockios.h>

static const char *family_name(int d)
{
	switch (d) {
	case AF_INET: return "AF_INET";
	case AF_INET6: return "AF_INET6";
	case AF_NETLINK: return "AF_NETLINK";
	case AF_PACKET: return "AF_PACKET";
	default: return "AF_?";
	}
}

RF_EXPORT int socket(int domain, int type, int protocol)
{
	RF_INIT();
	if (!rf_active())
		return rf_real.socket(domain, type, protocol);
	int base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
	if ((domain == AF_INET || domain == AF_INET6) && base == SOCK_STREAM &&
	    (protocol == 0 || protocol == IPPROTO_TCP))
		return rf_tcp_socket(domain, type, protocol);
	if (domain == AF_NETLINK && protocol == NETLINK_ROUTE)
		return rf_nl_socket(type, protocol);
	if (domain == AF_INET && base == SOCK_RAW)
		return rf_raw_socket(domain, type, protocol);
	if (domain == AF_INET6 && base == SOCK_RAW)
		return rf_raw6_socket(type, protocol); /* zebra's router advertisements, ospf6d's OSPFv3 */
	if ((domain == AF_INET || domain == AF_INET6) && base == SOCK_DGRAM) {
		/* zebra's ethtool ioctl socket: a placeholder that never reaches the host stack. */
		int fd = rf_real.socket(AF_UNIX, SOCK_DGRAM | (type & (SOCK_NONBLOCK | SOCK_CLOEXEC)), 0);
		struct rf_sock *s = fd >= 0 ? rf_new(fd, RF_INERT) : NULL;
		if (s) {
			s->family = domain;
			s->type = base;
			s->protocol = protocol;
		}
		return fd;
	}
	if (domain == AF_INET || domain == AF_INET6 || domain == AF_NETLINK || domain == AF_PACKET) {
		rf_log("refusing socket(%s, type %d, protocol %d): not emulated, and the host network is off limits",
		       family_name(domain), base, protocol);
		errno = EACCES;
		return -1;
	}
	return rf_real.socket(domain, type, protocol);
}

RF_EXPORT int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
	RF_INIT();
	struct rf_sock *s = rf_get(fd);
	if (!s)
		return rf_real.bind(fd, addr, len);
	if (s->kind == RF_TCP)
		return rf_tcp_bind(s, fd, addr, len);
	if (s->kind == RF_NETLINK)
		return rf_nl_bind(s, addr, len);
	if (s->kind == RF_RAW)
		return rf_raw_bind(s, addr, len);
	return 0;
}

RF_EXPORT int listen(int fd, int backlog)
{
	RF_INIT();
	struct rf_sock *s = rf_get(fd);
	if (s && s->kind == RF_TCP)
		return rf_tcp_listen(s, fd, backlog);
	return rf_real.listen(fd, backlog);
}

RF_EXPORT int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	RF_INIT();
	struct rf_sock *s = rf_get(fd);
	if (!s) {
		if (rf_split_connect(fd, addr))
			return 0;
		int r = rf_real.connect(fd, addr, len);
		if (r == 0 && addr && addr->sa_family == AF_UNIX)
			rf_track_if_local_stream(fd);
		return r;
	}
	if (s->kind == RF_TCP)
		return rf_tcp_connect(s, fd, addr, len);
	rf_log("connect() on an inert socket refused");
	errno = ENETUNREACH;
	return -1;
}

RF_EXPORT int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
	RF_INIT();
	struct rf_sock *s = rf_get(fd);
	if (s && s->kind == RF_TCP)
		return rf_tcp_accept(s, fd, addr, len, flags);
	int c = rf_real.accept4(fd, addr, len, flags);
	if (c >= 0)
		rf_track_if_local_stream(c);
	return c;
}

RF_EXPORT int accept(int fd, struct sockaddr *addr, socklen_t *len)
{
	RF_INIT();
	struct rf_sock *s = rf_get(fd);
	if (s && s->kind == RF_TCP)
		return rf_tcp_accept(s, fd, addr, len, 0);
	int c = rf_real.accept(fd, addr, len);
	if (c >= 0)
		rf_track_if_local_stream(c);
	return c;
}

RF_EXPORT int getsockname(int fd, struct sockaddr *addr, socklen_t *len)
{
	RF_INIT();
	struct rf_sock *s = rf_get(fd);
	if (s && s->kind == RF_TCP)
		return rf_tcp_getname(s, 0, addr, len);
	if (s && s->kind == RF_NETLINK)
		return rf_nl_getsockname(s, addr, len);
	if (s && s->kind == RF_RAW)
		return rf_raw_getsockname(s, addr, len);
	return rf_real.getsockname(fd, addr, len);
}

RF_EXPORT int getpeername(int fd, struct sockaddr *addr, socklen_t *len)
{
	RF_INIT();
	struct rf_sock *s = rf_get(fd);
	if (s && s->kind == RF_TCP)
		return rf_tcp_getname(s, 1, addr, len);
	if (s) {
		errno = ENOTCONN;
		return -1;
	}
	return rf_real.getpeername(fd, addr, len);
}

RF_EXPORT int setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	RF_INIT();
	struct rf_sock *s = rf_get(fd);
	if (!s)
		return rf_real.setsockopt(fd, level, name, val, len);
	if (s->kind == RF_TCP)
		return rf_tcp_setsockopt(s, fd, level, name, val, len);
	if (s->kind == RF_NETLINK)
		return rf_nl_setsockopt(s, level, name, val, len);
	if (s->kind == RF_RAW)
		return rf_raw_setsockopt(s, fd, level, name, val, len);
	if (s->kind == RF_RAW6)
		return rf_raw6_setsockopt(fd, level, name, val, len);
	return 0;
}

RF_EXPORT int getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
	RF_INIT();
	struct rf_sock *s = rf_get(fd);
	if (!s)
		return rf_real.getsockopt(fd, level, name, val, len);
	if (s->kind == RF_TCP)
		return rf_tcp_getsockopt(s, fd, level, name, val, len);
	if (s->kind == RF_NETLINK)
		return rf_nl_getsockopt(s, level, name, val, len);
	if (s->kind == RF_RAW)
		return rf_raw_getsockopt(s, level, name, val, len);
	if (s->kind == RF_RAW6)
		return rf_raw6_getsockopt(fd, level, name, val, len);
	if (len && *len >= sizeof(int)) {
		memset(val, 0, sizeof(int));
		*len = sizeof(int);
	}
	return 0;
}

RF_EXPORT int close(int fd)
{
	RF_INIT();
	struct rf_sock *s = rf_get(fd);
	if (s) {
		if (s->kind == RF_TCP)
			rf_tcp_close(s, fd);
		else if (s->kind == RF_NETLINK)
			rf_nl_close(s);
		else if (s->kind == RF_RAW)
			rf_raw_close(s);
		else if (s->kind == RF_RAW6)
			rf_raw6_close(fd);
		rf_forget(fd);
	} else {
		rf_split_close(fd);
		rf_untrack(fd);
	}
	return rf_real.close(fd);
}

static ssize_t nl_gather_send(struct rf_sock *s, const struct msghdr *msg)
{
	size_t total = 0;
	for (size_t i = 0; i < msg->msg_iovlen; i++)
		total += msg->msg_iov[i].iov_len;
	if (msg->msg_iovlen == 1)
		return rf_nl_send(s, msg->msg_iov[0].iov_base, total);
	char *buf = malloc(total ? total : 1);
	if (!buf) {
		errno = ENOBUFS;
		return -1;
	}
	size_t off = 0;
	for (size_t i = 0; i < msg->msg_iovlen; i++) {
		memcpy(buf + off, msg->msg_iov[i].iov_base, msg->msg_iov[i].iov_len);
		off += msg->msg_iov[i].iov_len;
	}
	ssize_t r = rf_nl_send(s, buf, total);
	free(buf);
	return r;
}

static ssize_t inert_send(struct rf_sock *s)
{
	rf_log("send on an inert %s datagram socket dropped: the host network is off limits", family_name(s->family));
	errno = ENETUNREACH;
	return -1;
}

RF_EXPORT ssize_t send(int fd, const void *buf, size_t len, int flags)
{
	RF_INIT();
	struct rf_sock *s = rf_get(fd);
	if (s && s->kind == RF_NETLINK)
		return rf_nl_send(s, buf, len);
	if (s && s->kind == RF_INERT)
		return inert_send(s);
	if (s && (s->kind == RF_RAW || s->kind == RF_RAW6)) {
		errno = EDESTADDRREQ; /* an emulated raw socket is never connected */
		return -1;
	}
	ssize_t n = rf_real.send(fd, buf, len, flags);
	if (s && s->kind == RF_TCP)
		rf_record_write(fd, n);
	return n;
}

RF_EXPORT ssize_t sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *to, socklen_t tl)
{
	RF_INIT();
	struct rf_sock *s = rf_get(fd);
	if (s && s->kind == RF_NETLINK)
		return rf_nl_send(s, buf, len);
	if (s && s->kind == RF_INERT)
		return inert_send(s);
	if (s && s->kind == RF_TCP) {
		ssize_t n = rf_real.send(fd, buf, len, flags);
		rf_record_write(fd, n);
		return n;
	}
	if (s && (s->kind == RF_RAW || s->kind == RF_RAW6)) {
		struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
		struct msghdr msg = {.msg_name = (void *)to, .msg_namelen = tl, .msg_iov = &iov, .msg_iovlen = 1};
		return s->kind == RF_RAW ? rf_raw_sendmsg(s, &msg, flags) : rf_raw6_sendmsg(fd, &msg);
	}
	return rf_real.sendto(fd, buf, len, flags, to, tl);
}

RF_EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	RF_INIT();
	struct rf_sock *s = rf_get(fd);
	if (s && s->kind == RF_NETLINK)
		return nl_gather_send(s, msg);
	if (s && s->kind == RF_INERT)
		return inert_send(s);
	if (s && s->kind == RF_RAW)
		return rf_raw_sendmsg(s, msg, flags);
	if (s && s->kind == RF_RAW6)
		return rf_raw6_sendmsg(fd, msg);
	if (s && s->kind == RF_TCP) {
		struct msghdr copy = *msg;
		copy.msg_name = NULL;
		copy.msg_namelen = 0;
		ssize_t n = rf_real.sendmsg(fd, &copy, flags);
		rf_record_write(fd, n);
		return n;
	}
	return rf_real.sendmsg(fd, msg, flags);
}

RF_EXPORT ssize_t recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *from, socklen_t *fl)
{
	RF_INIT();
	struct rf_sock *s = rf_get(fd);
	if (!s)
		return rf_real.recvfrom(fd, buf, len, flags, from, fl);
	if (s->kind == RF_RAW || s->kind == RF_RAW6) {
		struct iovec iov = {.iov_base = buf, .iov_len = len};
		struct msghdr msg = {.msg_name = from, .msg_namelen = from && fl ? *fl : 0, .msg_iov = &iov,
				     .msg_iovlen = 1};
		ssize_t r = s->kind == RF_RAW ? rf_raw_recvmsg(s, fd, &msg, flags) : rf_raw6_recvmsg(fd, &msg, flags);
		if (r >= 0 && from && fl)
			*fl = msg.msg_namelen;
		return r;
	}
	ssize_t n = rf_real.recv(fd, buf, len, flags);
	if (n >= 0 && s->kind == RF_NETLINK) {
		rf_nl_fix_source(from, fl);
		rf_nl_after_read(s);
	}
	else if (n >= 0 && s->kind == RF_TCP && from && fl)
		rf_tcp_getname(s, 1, from, fl);
	if (s->kind == RF_TCP && !(flags & MSG_PEEK))
		rf_record_read(fd, buf, n);
	return n;
}

RF_EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	RF_INIT();
	struct rf_sock *s = rf_get(fd);
	if (!s)
		return rf_split_fd(fd) ? rf_split_recvmsg(fd, msg) : rf_real.recvmsg(fd, msg, flags);
	if (s->kind == RF_RAW)
		return rf_raw_recvmsg(s, fd, msg, flags);
	if (s->kind == RF_RAW6)
		return rf_raw6_recvmsg(fd, msg, flags);
	void *name = msg->msg_name;
	socklen_t namelen = msg->msg_namelen;
	msg->msg_name = NULL;
	msg->msg_namelen = 0;
	ssize_t n = rf_real.recvmsg(fd, msg, flags);
	msg->msg_name = name;
	msg->msg_namelen = namelen;
	if (n >= 0 && s->kind == RF_NETLINK) {
		rf_nl_fix_source(name, &msg->msg_namelen);
		rf_nl_after_read(s);
	}
	else if (n >= 0 && s->kind == RF_TCP && name)
		rf_tcp_getname(s, 1, name, &msg->msg_namelen);
	if (s->kind == RF_TCP && !(flags & MSG_PEEK) && rf_recording()) {
		if (n <= 0 || msg->msg_iovlen == 1) {
			rf_record_read(fd, msg->msg_iovlen ? msg->msg_iov[0].iov_base : NULL, n);
		} else { /* scattered: gathered, so that the record is one read as the daemon made it */
			char *all = malloc((size_t)n);
			size_t off = 0;
			for (size_t i = 0; all && i < msg->msg_iovlen && off < (size_t)n; i++) {
				size_t k = msg->msg_iov[i].iov_len < (size_t)n - off ? msg->msg_iov[i].iov_len : (size_t)n - off;
				memcpy(all + off, msg->msg_iov[i].iov_base, k);
				off += k;
			}
			if (all)
				rf_record_read(fd, all, n);
			else
				rf_log("recording: out of memory, a read of %zd bytes is missing", n);
			free(all);
		}
	}
	return n;
}

RF_EXPORT int ioctl(int fd, unsigned long req, ...)
{
	RF_INIT();
	va_list ap;
	va_start(ap, req);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	struct rf_sock *s = rf_get(fd);
	if (s && s->kind == RF_RAW)
		return rf_raw_ioctl(s, fd, req, arg);
	if (s && s->kind == RF_INERT && req == SIOCETHTOOL)
		return rf_if_ethtool(arg); /* the emulated port's speed, from the interface table */
	if (s && (s->kind == RF_INERT || s->kind == RF_NETLINK || s->kind == RF_RAW6) && (req & 0xff00) == 0x8900) {
		/* The other interface ioctls: no host interface is queried or changed.
		 * FIONBIO, FIONREAD and friends act on our AF_UNIX descriptor as they should. */
		errno = EOPNOTSUPP;
		return -1;
	}
	return rf_real.ioctl(fd, req, arg);
}

RF_EXPORT int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
			  struct addrinfo **res)
{
	RF_INIT();
	if (rf_active() && hints && (hints->ai_flags & AI_ADDRCONFIG)) {
		struct addrinfo h = *hints;
		h.ai_flags &= ~AI_ADDRCONFIG;
		return rf_real.getaddrinfo(node, service, &h, res);
	}
	return rf_real.getaddrinfo(node, service, hints, res);
}
