/* Emulated TCP. A socket is a placeholder AF_UNIX socket until the broker connects it; then the descriptor
 * becomes one end of an AF_UNIX stream socketpair (the broker made it and passed it with SCM_RIGHTS), so
 * read/writev/ppoll work natively and no byte passes through the controller.
 *
 * A connect the broker cannot complete yet (the SYN would go unanswered: no path back, a key mismatch) gets a
 * pipe's read end in its place: never writable, so the daemon waits as for a real SYN; the broker closes the
 * write end when the attempt resolves, the daemon sees POLLHUP, and its SO_ERROR check fetches the outcome.
 */
#include "libreal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/tcp.h>
#include <netinet/ip.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef IPV6_MINHOPCOUNT
#define IPV6_MINHOPCOUNT 73
#endif

static int fam_num(int family)
{
	return family == AF_INET6 ? 6 : 4;
}

static int reply_errno(const char *resp)
{
	int e = 0;
	if (sscanf(resp, "ERR %d", &e) == 1 && e > 0)
		return e;
	return EIO;
}

int rf_tcp_socket(int domain, int type, int protocol)
{
	int fd = rf_real.socket(AF_UNIX, SOCK_STREAM | (type & (SOCK_NONBLOCK | SOCK_CLOEXEC)), 0);
	if (fd < 0)
		return -1;
	struct rf_sock *s = rf_new(fd, RF_TCP);
	if (!s) {
		rf_real.close(fd);
		errno = EMFILE;
		return -1;
	}
	s->family = domain;
	s->type = SOCK_STREAM;
	s->protocol = IPPROTO_TCP;
	s->local.ss_family = domain;
	if (domain == AF_INET6)
		s->ttl = 64;
	return fd;
}

int rf_tcp_bind(struct rf_sock *s, int fd, const struct sockaddr *addr, socklen_t len)
{
	if (addr->sa_family != s->family) {
		errno = EINVAL;
		return -1;
	}
	if (s->bound) {
		errno = EINVAL;
		return -1;
	}
	char a[64], req[128], resp[64];
	int port;
	if (rf_sockaddr_str(addr, a, sizeof(a), &port) < 0)
		return -1;
	snprintf(req, sizeof(req), "BIND %d %s %d", fam_num(s->family), a, port);
	if (rf_ctl_request(req, resp, sizeof(resp), NULL) < 0)
		return -1;
	if (strncmp(resp, "OK", 2) != 0) {
		errno = reply_errno(resp);
		return -1;
	}
	memcpy(&s->local, addr, len < sizeof(s->local) ? len : sizeof(s->local));
	s->bound = 1;
	return 0;
}

static void local_str(struct rf_sock *s, char *a, size_t alen, int *port)
{
	if (rf_sockaddr_str((struct sockaddr *)&s->local, a, alen, port) < 0) {
		strcpy(a, "*");
		*port = 0;
	}
}

int rf_tcp_listen(struct rf_sock *s, int fd, int backlog)
{
	if (s->state == RF_T_LISTEN)
		return 0;
	char a[64], req[160], resp[128];
	int port;
	local_str(s, a, sizeof(a), &port);
	snprintf(req, sizeof(req), "LISTEN %d %s %d %d", fam_num(s->family), a, port, s->v6only);
	int chan = -1;
	if (rf_ctl_request(req, resp, sizeof(resp), &chan) < 0)
		return -1;
	long id;
	int gotport;
	if (sscanf(resp, "OK %ld %d", &id, &gotport) != 2 || chan < 0) {
		if (chan >= 0)
			rf_real.close(chan);
		errno = reply_errno(resp);
		return -1;
	}
	if (rf_replace_fd(fd, chan) < 0)
		return -1;
	s->id = id;
	s->state = RF_T_LISTEN;
	if (s->local.ss_family == AF_INET)
		((struct sockaddr_in *)&s->local)->sin_port = htons(gotport);
	else
		((struct sockaddr_in6 *)&s->local)->sin6_port = htons(gotport);
	/* Options set before listen() apply to the listener too. */
	if (s->minttl) {
		snprintf(req, sizeof(req), "LOPT %ld minttl %d", s->id, s->minttl);
		rf_ctl_send(req);
	}
	for (int i = 0; i < s->nmd5; i++) {
		char ka[64], hex[170], msg[300];
		int p;
		rf_sockaddr_str((struct sockaddr *)&s->md5[i].addr, ka, sizeof(ka), &p);
		rf_hex(s->md5[i].key, s->md5[i].keylen, hex);
		snprintf(msg, sizeof(msg), "LOPT %ld md5 %s %s", s->id, ka, hex);
		rf_ctl_send(msg);
	}
	return 0;
}

static const struct rf_md5 *md5_for(struct rf_sock *s, const struct sockaddr *peer)
{
	char want[64], have[64];
	int p;
	if (rf_sockaddr_str(peer, want, sizeof(want), &p) < 0)
		return NULL;
	for (int i = 0; i < s->nmd5; i++) {
		rf_sockaddr_str((struct sockaddr *)&s->md5[i].addr, have, sizeof(have), &p);
		if (strcmp(want, have) == 0)
			return &s->md5[i];
	}
	return NULL;
}

/* Apply an "OK connid laddr lport" style reply: take the connected descriptor. */
static int become_connected(struct rf_sock *s, int fd, int conn, const char *laddr, int lport)
{
	if (rf_replace_fd(fd, conn) < 0)
		return -1;
	rf_parse_sockaddr(s->family, laddr, lport, &s->local);
	s->state = RF_T_CONNECTED;
	s->so_error = 0;
	return 0;
}

static int resolve(struct rf_sock *s, int fd)
{
	char req[64], resp[160], laddr[64];
	int lport, conn = -1;
	snprintf(req, sizeof(req), "RESOLVE %ld", s->id);
	if (rf_ctl_request(req, resp, sizeof(resp), &conn) < 0)
		return -1;
	if (strncmp(resp, "PENDING", 7) != 0)
		rf_record_text('r', s->id, resp);
	if (sscanf(resp, "OK %63s %d", laddr, &lport) == 2 && conn >= 0)
		return become_connected(s, fd, conn, laddr, lport);
	if (conn >= 0)
		rf_real.close(conn);
	if (strncmp(resp, "PENDING", 7) == 0)
		return 0;
	s->state = RF_T_FAILED;
	s->so_error = reply_errno(resp);
	return 0;
}

int rf_tcp_connect(struct rf_sock *s, int fd, const struct sockaddr *addr, socklen_t len)
{
	if (s->state == RF_T_CONNECTING) {
		errno = EALREADY;
		return -1;
	}
	if (s->state == RF_T_CONNECTED) {
		errno = EISCONN;
		return -1;
	}
	if (addr->sa_family != s->family) {
		errno = EAFNOSUPPORT;
		return -1;
	}
	char la[64], ra[64], hex[170] = "-", req[400], resp[200];
	int lport, rport;
	local_str(s, la, sizeof(la), &lport);
	if (!s->bound)
		strcpy(la, "*");
	if (rf_sockaddr_str(addr, ra, sizeof(ra), &rport) < 0)
		return -1;
	const struct rf_md5 *k = md5_for(s, addr);
	if (k && k->keylen > 0)
		rf_hex(k->key, k->keylen, hex);
	snprintf(req, sizeof(req), "CONNECT %d %s %d %s %d %d %s", fam_num(s->family), la, lport, ra, rport, s->ttl,
		 hex);
	int got = -1;
	if (rf_ctl_request(req, resp, sizeof(resp), &got) < 0)
		return -1;
	if (rf_recording()) {
		char both[sizeof(req) + sizeof(resp) + 2];
		snprintf(both, sizeof(both), "%s\n%s", req, resp);
		rf_record_text('c', 0, both);
	}
	memcpy(&s->peer, addr, len < sizeof(s->peer) ? len : sizeof(s->peer));
	int nonblock = (fcntl(fd, F_GETFL) & O_NONBLOCK) != 0;
	long id;
	char laddr[64];
	if (sscanf(resp, "OK %ld %63s %d", &id, laddr, &lport) == 3 && got >= 0) {
		s->id = id;
		if (become_connected(s, fd, got, laddr, lport) < 0)
			return -1;
		if (nonblock) {
			/* Linux reports EINPROGRESS for every non-blocking TCP connect, even one that completes at once. */
			errno = EINPROGRESS;
			return -1;
		}
		return 0;
	}
	if (sscanf(resp, "PENDING %ld", &id) == 1 && got >= 0) {
		s->id = id;
		if (rf_replace_fd(fd, got) < 0)
			return -1;
		s->state = RF_T_CONNECTING;
		if (nonblock) {
			errno = EINPROGRESS;
			return -1;
		}
		struct pollfd p = {.fd = fd, .events = POLLIN};
		while (poll(&p, 1, -1) < 0 && errno == EINTR)
			;
		if (resolve(s, fd) < 0)
			return -1;
		if (s->state == RF_T_CONNECTED)
			return 0;
		errno = s->so_error ? s->so_error : ETIMEDOUT;
		s->so_error = 0;
		return -1;
	}
	if (got >= 0)
		rf_real.close(got);
	errno = reply_errno(resp);
	return -1;
}

static int md5_room(struct rf_sock *s, int n);

int rf_tcp_accept(struct rf_sock *s, int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
	if (s->state != RF_T_LISTEN) {
		errno = EINVAL;
		return -1;
	}
	char msg[256];
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = {.iov_base = msg, .iov_len = sizeof(msg) - 1};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf.buf,
			    .msg_controllen = sizeof(cbuf.buf)};
	ssize_t n = rf_real.recvmsg(fd, &mh, (flags & SOCK_CLOEXEC) ? MSG_CMSG_CLOEXEC : 0);
	if (n < 0)
		return -1;
	if (n == 0) {
		errno = ECONNABORTED;
		return -1;
	}
	msg[n] = 0;
	int conn = -1;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
			memcpy(&conn, CMSG_DATA(c), sizeof(int));
	long id;
	char la[64], ra[64];
	int lp, rp;
	if (conn < 0 || sscanf(msg, "%ld %63s %d %63s %d", &id, la, &lp, ra, &rp) != 5) {
		if (conn >= 0)
			rf_real.close(conn);
		rf_log("malformed accept message from the broker: %s", msg);
		errno = ECONNABORTED;
		return -1;
	}
	rf_record_text('a', id, msg);
	if (flags & SOCK_NONBLOCK)
		fcntl(conn, F_SETFL, fcntl(conn, F_GETFL) | O_NONBLOCK);
	struct rf_sock *c = rf_new(conn, RF_TCP);
	if (!c) {
		rf_real.close(conn);
		errno = EMFILE;
		return -1;
	}
	c->family = s->family;
	c->type = SOCK_STREAM;
	c->protocol = IPPROTO_TCP;
	c->state = RF_T_CONNECTED;
	c->id = id;
	c->ttl = s->ttl;
	c->minttl = s->minttl;
	c->bound = 1;
	if (s->nmd5) {
		if (md5_room(c, s->nmd5) < 0)
			rf_fatal("no memory for a TCP MD5 key");
		memcpy(c->md5, s->md5, s->nmd5 * sizeof(*c->md5));
		c->nmd5 = s->nmd5;
	}
	rf_parse_sockaddr(s->family, la, lp, &c->local);
	rf_parse_sockaddr(s->family, ra, rp, &c->peer);
	if (addr && len) {
		socklen_t want = s->family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
		memcpy(addr, &c->peer, *len < want ? *len : want);
		*len = want;
	}
	return conn;
}

/* Room for n keys in s->md5 (0, or -1 without memory). A grown buffer replaces the old one, which is not freed:
 * a lookup in another thread may still read it (rf_get's promise); capacity doubles, so what stays is at most as
 * much again. */
static int md5_room(struct rf_sock *s, int n)
{
	if (n <= s->md5cap)
		return 0;
	int cap = s->md5cap ? 2 * s->md5cap : 8;
	if (cap < n)
		cap = n;
	struct rf_md5 *more = calloc(cap, sizeof(*more));
	if (!more)
		return -1;
	if (s->nmd5)
		memcpy(more, s->md5, s->nmd5 * sizeof(*more));
	__atomic_store_n(&s->md5, more, __ATOMIC_RELEASE);
	s->md5cap = cap;
	return 0;
}

static void set_md5(struct rf_sock *s, int fd, const struct tcp_md5sig *m)
{
	char a[64], hex[170] = "-", msg[300];
	int p;
	int slot = -1;
	for (int i = 0; i < s->nmd5; i++) {
		char have[64];
		int hp;
		rf_sockaddr_str((struct sockaddr *)&s->md5[i].addr, have, sizeof(have), &hp);
		rf_sockaddr_str((const struct sockaddr *)&m->tcpm_addr, a, sizeof(a), &p);
		if (strcmp(a, have) == 0)
			slot = i;
	}
	if (slot < 0 && md5_room(s, s->nmd5 + 1) < 0)
		rf_fatal("no memory for a TCP MD5 key"); /* a key silently dropped would let the session up unsigned */
	if (slot < 0)
		slot = s->nmd5++;
	memcpy(&s->md5[slot].addr, &m->tcpm_addr, sizeof(m->tcpm_addr));
	s->md5[slot].keylen = m->tcpm_keylen > 80 ? 80 : m->tcpm_keylen;
	memcpy(s->md5[slot].key, m->tcpm_key, s->md5[slot].keylen);
	if (s->state == RF_T_LISTEN) {
		rf_sockaddr_str((const struct sockaddr *)&m->tcpm_addr, a, sizeof(a), &p);
		if (s->md5[slot].keylen)
			rf_hex(s->md5[slot].key, s->md5[slot].keylen, hex);
		snprintf(msg, sizeof(msg), "LOPT %ld md5 %s %s", s->id, a, hex);
		rf_ctl_send(msg);
	}
}

static int int_opt(const void *val, socklen_t len)
{
	int v = 0;
	if (len >= sizeof(int))
		memcpy(&v, val, sizeof(int));
	else if (len == 1)
		v = *(const unsigned char *)val;
	return v;
}

int rf_tcp_setsockopt(struct rf_sock *s, int fd, int level, int name, const void *val, socklen_t len)
{
	if (level == SOL_SOCKET) {
		switch (name) {
		case SO_REUSEADDR: case SO_REUSEPORT: case SO_KEEPALIVE: case SO_PRIORITY: case SO_LINGER:
		case SO_BROADCAST: case SO_DONTROUTE: case SO_RCVLOWAT: case SO_SNDLOWAT: case SO_MARK:
			return 0;
		case SO_SNDBUF: case SO_SNDBUFFORCE:
			s->sndbuf = int_opt(val, len) * 2;
			return 0;
		case SO_RCVBUF: case SO_RCVBUFFORCE:
			s->rcvbuf = int_opt(val, len) * 2;
			return 0;
		case SO_BINDTODEVICE:
			snprintf(s->bindtodevice, sizeof(s->bindtodevice), "%.*s", (int)(len < 16 ? len : 15),
				 (const char *)val);
			return 0;
		}
	} else if (level == IPPROTO_IP) {
		switch (name) {
		case IP_TTL:
			s->ttl = int_opt(val, len);
			return 0;
		case IP_MINTTL:
			s->minttl = int_opt(val, len);
			goto minttl;
		case IP_TOS:
			s->tos = int_opt(val, len);
			return 0;
		case IP_MTU_DISCOVER: case IP_RECVERR: case IP_FREEBIND: case IP_TRANSPARENT:
			return 0;
		}
	} else if (level == IPPROTO_IPV6) {
		switch (name) {
		case IPV6_V6ONLY:
			s->v6only = int_opt(val, len);
			return 0;
		case IPV6_UNICAST_HOPS:
			s->ttl = int_opt(val, len);
			return 0;
		case IPV6_MINHOPCOUNT:
			s->minttl = int_opt(val, len);
			goto minttl;
		case IPV6_TCLASS: case IPV6_MTU_DISCOVER: case IPV6_RECVERR:
			return 0;
		}
	} else if (level == IPPROTO_TCP) {
		switch (name) {
		case TCP_NODELAY: case TCP_MAXSEG: case TCP_CORK: case TCP_KEEPIDLE: case TCP_KEEPINTVL:
		case TCP_KEEPCNT: case TCP_QUICKACK: case TCP_USER_TIMEOUT: case TCP_SYNCNT:
			return 0;
		case TCP_MD5SIG: case TCP_MD5SIG_EXT:
			if (len < sizeof(struct tcp_md5sig)) {
				errno = EINVAL;
				return -1;
			}
			set_md5(s, fd, val);
			return 0;
		}
	}
	rf_log("setsockopt(level %d, option %d) on an emulated TCP socket is not emulated", level, name);
	errno = ENOPROTOOPT;
	return -1;
minttl:
	if (s->state == RF_T_LISTEN) {
		char msg[64];
		snprintf(msg, sizeof(msg), "LOPT %ld minttl %d", s->id, s->minttl);
		rf_ctl_send(msg);
	}
	return 0;
}

static int put_int(void *val, socklen_t *len, int v)
{
	if (*len >= sizeof(int)) {
		memcpy(val, &v, sizeof(int));
		*len = sizeof(int);
	} else if (*len >= 1) {
		*(unsigned char *)val = (unsigned char)v;
		*len = 1;
	}
	return 0;
}

int rf_tcp_getsockopt(struct rf_sock *s, int fd, int level, int name, void *val, socklen_t *len)
{
	if (level == SOL_SOCKET) {
		switch (name) {
		case SO_ERROR: {
			if (s->state == RF_T_CONNECTING && resolve(s, fd) < 0)
				return -1;
			int e = s->so_error;
			s->so_error = 0;
			return put_int(val, len, e);
		}
		case SO_TYPE:
			return put_int(val, len, SOCK_STREAM);
		case SO_DOMAIN:
			return put_int(val, len, s->family);
		case SO_PROTOCOL:
			return put_int(val, len, IPPROTO_TCP);
		case SO_ACCEPTCONN:
			return put_int(val, len, s->state == RF_T_LISTEN);
		case SO_SNDBUF:
			return put_int(val, len, s->sndbuf);
		case SO_RCVBUF:
			return put_int(val, len, s->rcvbuf);
		case SO_REUSEADDR: case SO_REUSEPORT: case SO_KEEPALIVE:
			return put_int(val, len, 1);
		case SO_BINDTODEVICE: {
			size_t n = strlen(s->bindtodevice);
			if (n && *len > 0) {
				size_t c = n + 1 < *len ? n + 1 : *len;
				memcpy(val, s->bindtodevice, c);
			}
			*len = n ? n + 1 : 0;
			return 0;
		}
		}
	} else if (level == IPPROTO_IP || level == IPPROTO_IPV6) {
		if ((level == IPPROTO_IP && name == IP_TTL) || (level == IPPROTO_IPV6 && name == IPV6_UNICAST_HOPS))
			return put_int(val, len, s->ttl);
		if ((level == IPPROTO_IP && name == IP_MINTTL) || (level == IPPROTO_IPV6 && name == IPV6_MINHOPCOUNT))
			return put_int(val, len, s->minttl);
		if (level == IPPROTO_IP && name == IP_TOS)
			return put_int(val, len, s->tos);
		if (level == IPPROTO_IPV6 && name == IPV6_V6ONLY)
			return put_int(val, len, s->v6only);
	} else if (level == IPPROTO_TCP) {
		if (name == TCP_INFO) {
			struct tcp_info ti;
			memset(&ti, 0, sizeof(ti));
			ti.tcpi_state = s->state == RF_T_CONNECTED ? 1 /* ESTABLISHED */ : 7 /* CLOSE */;
			ti.tcpi_snd_mss = ti.tcpi_rcv_mss = 1460;
			socklen_t n = *len < sizeof(ti) ? *len : sizeof(ti);
			memcpy(val, &ti, n);
			*len = n;
			return 0;
		}
		if (name == TCP_MAXSEG)
			return put_int(val, len, 1460);
		if (name == TCP_NODELAY)
			return put_int(val, len, 1);
	}
	rf_log("getsockopt(level %d, option %d) on an emulated TCP socket is not emulated", level, name);
	errno = ENOPROTOOPT;
	return -1;
}

int rf_tcp_getname(struct rf_sock *s, int peer, struct sockaddr *addr, socklen_t *len)
{
	if (peer && s->state != RF_T_CONNECTED) {
		errno = ENOTCONN;
		return -1;
	}
	struct sockaddr_storage *src = peer ? &s->peer : &s->local;
	socklen_t want = s->family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	struct sockaddr_storage tmp = *src;
	tmp.ss_family = s->family;
	memcpy(addr, &tmp, *len < want ? *len : want);
	*len = want;
	return 0;
}

void rf_tcp_close(struct rf_sock *s, int fd)
{
	char msg[64];
	if (s->state == RF_T_LISTEN)
		snprintf(msg, sizeof(msg), "UNLISTEN %ld", s->id);
	else if (s->id >= 0)
		snprintf(msg, sizeof(msg), "CLOSE %ld", s->id);
	else
		return;
	rf_ctl_send(msg);
}
