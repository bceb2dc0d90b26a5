/* Emulated raw IPv6 sockets, any protocol: zebra's ICMPv6 socket (router advertisements, which BGP unnumbered
 * (`neighbor IFACE interface`) needs: bgpd learns the peer's link-local address from the RAs zebra receives) and
 * ospf6d's IPPROTO_OSPFIGP socket (OSPFv3, which speaks only from link-local addresses to ff02::5/ff02::6 or a
 * neighbour's link-local address).
 *
 * The transport is raw.c's (an inbox per router and protocol, packets written straight into the inboxes of the
 * outgoing interface's segment members), keyed 256 + protocol, apart from raw IPv4's keys (protocol): ospfd and
 * ospf6d are both protocol 89. A socket made before its process is a router's (zebra makes its ICMPv6 socket
 * during its initialisation, i.e. in its zygote) gets its inbox when first used: until then it is a placeholder
 * that never becomes readable, replaced by the inbox on the same descriptor number (dup2), so the event loop
 * polling it needs to know nothing. A socket made by a router's process (ospf6d's) gets its inbox at once.
 *
 * What the kernel does that is done here: the source is IPV6_PKTINFO's address, else the outgoing interface's
 * link-local address (the kernel's choice for a link-local or multicast destination); the outgoing interface is
 * IPV6_PKTINFO's, else the destination's scope, else IPV6_MULTICAST_IF for multicast; the hop limit is the
 * socket's (unicast or multicast); IPV6_CHECKSUM (always at offset 2 for ICMPv6) is filled on send and checked
 * on receive, a bad one dropped; a receiver takes ff02::1 always, a group it joined on the arriving interface,
 * unicast to one of its own addresses, nothing longer than the interface's MTU; ICMP6_FILTER drops the ICMPv6
 * types it blocks; recvmsg gives the payload (no IPv6 header, as for every IPv6 raw socket), the source with the
 * arriving interface as its scope, IPV6_PKTINFO and IPV6_HOPLIMIT when asked for. Not done: destinations off
 * the link (ENETUNREACH: libreal routes no IPv6), re-judging a queue when a group is joined or left (zebra and
 * ospf6d join before they send or expect anything there). Recorded for replay as raw.c's packets are (what a
 * daemon read from another router, and how many copies it sent), under the inbox key.
 */
#include "libreal.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/icmp6.h>
#include <netinet/ip6.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#define INBOX6(proto) (256 + (proto)) /* raw IPv4's inboxes are keyed by the protocol alone */

/* Per-socket state beyond struct rf_sock's, by descriptor (few sockets: one per zebra, one per ospf6d). */
#define MAX6 64
#define MAX6_GROUPS 20
struct s6 {
	int fd;
	int proto;
	long id; /* the inbox's id at the controller; 0: not opened yet */
	int pktinfo, hoplimit, mc_loop, mc_hops, uc_hops, mc_if, tclass;
	int csum_off;       /* IPV6_CHECKSUM's offset in the payload, -1: none */
	uint32_t filter[8]; /* struct icmp6_filter: a set bit blocks that type */
	int ngroups;
	struct {
		int ifindex;
		struct in6_addr group;
	} groups[MAX6_GROUPS];
};
static struct s6 socks[MAX6];
static pthread_mutex_t lock6 = PTHREAD_MUTEX_INITIALIZER;

void rf_raw6_fork(enum rf_fork_phase phase)
{
	static pthread_mutex_t *const locks[] = {&lock6};
	rf_fork_locks(phase, locks, 1);
}

static struct s6 *find6(int fd)
{
	for (int i = 0; i < MAX6; i++)
		if (socks[i].fd == fd + 1) /* fd + 1: zero means a free slot */
			return &socks[i];
	return NULL;
}

static int opened(struct s6 *x, int fd);

/* A router's process: not a zygote, which is the router "-" (controller.py's ZYGOTE) until it forks. */
static int a_router(void)
{
	return rf_router() && rf_router()[0] && !rf_zygote();
}

int rf_raw6_socket(int type, int protocol)
{
	if (protocol <= 0 || protocol >= IPPROTO_RAW) {
		rf_log("raw IPv6 socket of protocol %d is not emulated", protocol);
		errno = EPROTONOSUPPORT;
		return -1;
	}
	int fd = rf_real.socket(AF_UNIX, SOCK_DGRAM | (type & (SOCK_NONBLOCK | SOCK_CLOEXEC)), 0);
	if (fd < 0)
		return -1;
	pthread_mutex_lock(&lock6);
	struct s6 *x = NULL;
	for (int i = 0; i < MAX6 && !x; i++)
		if (!socks[i].fd)
			x = &socks[i];
	if (!x)
		rf_log("error: more than %d raw IPv6 sockets in one process: EMFILE", MAX6);
	struct rf_sock *s = x ? rf_new(fd, RF_RAW6) : NULL;
	if (!s) {
		pthread_mutex_unlock(&lock6);
		rf_real.close(fd);
		errno = EMFILE;
		return -1;
	}
	memset(x, 0, sizeof(*x));
	x->fd = fd + 1;
	x->proto = protocol;
	x->mc_loop = 1;
	x->mc_hops = 1;
	x->uc_hops = 64;
	x->csum_off = protocol == IPPROTO_ICMPV6 ? 2 : -1; /* the kernel always checksums ICMPv6 */
	if (a_router())
		opened(x, fd); /* a router's own socket: its inbox now, so that nothing sent to it before first use is lost */
	pthread_mutex_unlock(&lock6);
	s->family = AF_INET6;
	s->type = SOCK_RAW;
	s->protocol = protocol;
	return fd;
}

/* The inbox, on this descriptor, once the process is a router's. */
static int opened(struct s6 *x, int fd)
{
	if (x->id)
		return 0;
	if (!a_router()) {
		errno = ENETDOWN;
		return -1;
	}
	long id;
	int in = rf_raw_inbox(INBOX6(x->proto), &id);
	if (in < 0)
		return -1;
	int fl = fcntl(fd, F_GETFL), fdfl = fcntl(fd, F_GETFD);
	if (dup3(in, fd, (fdfl & FD_CLOEXEC) ? O_CLOEXEC : 0) < 0) {
		int e = errno;
		rf_real.close(in);
		errno = e;
		return -1;
	}
	rf_real.close(in);
	fcntl(fd, F_SETFL, fl);
	x->id = id;
	return 0;
}

/* A copy of fd's socket state, its inbox opened if it was not yet; -1 (errno set) if fd is none of ours. */
static int take(int fd, struct s6 *me)
{
	pthread_mutex_lock(&lock6);
	struct s6 *x = find6(fd);
	int bad = !x || opened(x, fd) < 0;
	if (x)
		*me = *x;
	pthread_mutex_unlock(&lock6);
	if (bad) {
		if (!x)
			errno = EBADF;
		return -1;
	}
	return 0;
}

void rf_raw6_close(int fd)
{
	pthread_mutex_lock(&lock6);
	struct s6 *x = find6(fd);
	if (x) {
		if (x->id) {
			char msg[64];
			snprintf(msg, sizeof(msg), "RAWCLOSE %ld", x->id);
			rf_ctl_send(msg);
		}
		memset(x, 0, sizeof(*x));
	}
	pthread_mutex_unlock(&lock6);
}

static int get_int(const void *val, socklen_t len, int *out)
{
	if (len < sizeof(int)) {
		errno = EINVAL;
		return -1;
	}
	memcpy(out, val, sizeof(int));
	return 0;
}

static int fail(int e)
{
	errno = e;
	return -1;
}

static int membership6(struct s6 *x, int join, const void *val, socklen_t len)
{
	struct ipv6_mreq m;
	if (len < sizeof(m))
		return fail(EINVAL);
	memcpy(&m, val, sizeof(m));
	if (m.ipv6mr_multiaddr.s6_addr[0] != 0xff)
		return fail(EINVAL);
	int found = -1;
	for (int i = 0; i < x->ngroups; i++)
		if (x->groups[i].ifindex == (int)m.ipv6mr_interface &&
		    memcmp(&x->groups[i].group, &m.ipv6mr_multiaddr, 16) == 0)
			found = i;
	if (!join) {
		if (found < 0)
			return fail(EADDRNOTAVAIL);
		x->groups[found] = x->groups[--x->ngroups];
		return 0;
	}
	struct rf_if ifc;
	if (m.ipv6mr_interface && rf_if_by_index((int)m.ipv6mr_interface, &ifc) < 0)
		return fail(ENODEV);
	if (found >= 0)
		return fail(EADDRINUSE);
	if (x->ngroups == MAX6_GROUPS)
		return fail(ENOBUFS);
	x->groups[x->ngroups].ifindex = (int)m.ipv6mr_interface;
	x->groups[x->ngroups++].group = m.ipv6mr_multiaddr;
	return 0;
}

/* IPV6_CHECKSUM at level IPPROTO_IPV6 or SOL_RAW (IPPROTO_RAW), as the kernel's do_rawv6_setsockopt. */
static int set_checksum(struct s6 *x, int level, int v)
{
	if (x->proto == IPPROTO_ICMPV6 && level == IPPROTO_IPV6)
		return fail(EINVAL); /* RFC 3542: not at this level on ICMPv6 sockets */
	if (v > 0 && (v & 1))
		return fail(EINVAL);
	x->csum_off = v < 0 ? -1 : v;
	return 0;
}

/* The socket's field for an integer IPPROTO_IPV6 option, or NULL. */
static int *int_opt(struct s6 *x, int name)
{
	switch (name) {
	case IPV6_RECVPKTINFO: return &x->pktinfo;
	case IPV6_RECVHOPLIMIT: return &x->hoplimit;
	case IPV6_MULTICAST_LOOP: return &x->mc_loop;
	case IPV6_MULTICAST_HOPS: return &x->mc_hops;
	case IPV6_UNICAST_HOPS: return &x->uc_hops;
	case IPV6_MULTICAST_IF: return &x->mc_if;
	case IPV6_TCLASS: return &x->tclass;
	}
	return NULL;
}

/* What the kernel keeps for value v of option name: flags as 0/1, -1 for the default hop limits and class. */
static int int_value(int name, int v)
{
	switch (name) {
	case IPV6_RECVPKTINFO: case IPV6_RECVHOPLIMIT: case IPV6_MULTICAST_LOOP: return v != 0;
	case IPV6_MULTICAST_HOPS: return v < 0 ? 1 : v;
	case IPV6_UNICAST_HOPS: return v < 0 ? 64 : v;
	case IPV6_TCLASS: return v < 0 ? 0 : v & 0xff;
	}
	return v;
}

/* fd's state with lock6 held, or NULL (EBADF, lock6 not held). */
static struct s6 *lock_sock(int fd)
{
	pthread_mutex_lock(&lock6);
	struct s6 *x = find6(fd);
	if (!x) {
		pthread_mutex_unlock(&lock6);
		errno = EBADF;
	}
	return x;
}

int rf_raw6_setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	struct s6 *x = lock_sock(fd);
	if (!x)
		return -1;
	int v = 0, r = 0;
	if (level == IPPROTO_ICMPV6 && name == ICMP6_FILTER) {
		if (x->proto != IPPROTO_ICMPV6)
			r = fail(EOPNOTSUPP);
		else {
			memset(x->filter, 0, sizeof(x->filter));
			memcpy(x->filter, val, len < sizeof(x->filter) ? len : sizeof(x->filter));
		}
	} else if (level == IPPROTO_IPV6 && (name == IPV6_JOIN_GROUP || name == IPV6_LEAVE_GROUP)) {
		r = membership6(x, name == IPV6_JOIN_GROUP, val, len);
	} else if ((level == IPPROTO_IPV6 || level == IPPROTO_RAW) && name == IPV6_CHECKSUM) {
		r = get_int(val, len, &v) == 0 ? set_checksum(x, level, v) : -1;
	} else if (level == IPPROTO_IPV6 && get_int(val, len, &v) == 0) {
		int *f = int_opt(x, name);
		if (f)
			*f = int_value(name, v);
		else if (name != IPV6_V6ONLY) /* V6ONLY: no IPv4 reaches a raw IPv6 socket here anyway */
			r = fail(ENOPROTOOPT);
	} else if (level == SOL_SOCKET) {
		r = 0; /* buffer sizes, SO_REUSEADDR, SO_BINDTODEVICE and the like: accepted */
	} else if (level != IPPROTO_IPV6) {
		r = fail(ENOPROTOOPT);
	} else {
		r = -1; /* get_int set errno */
	}
	pthread_mutex_unlock(&lock6);
	return r;
}

int rf_raw6_getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
	struct s6 *x = lock_sock(fd);
	if (!x)
		return -1;
	int v = 0, r = 0;
	if (level == IPPROTO_ICMPV6 && name == ICMP6_FILTER) {
		socklen_t n = *len < sizeof(x->filter) ? *len : sizeof(x->filter);
		memcpy(val, x->filter, n);
		*len = n;
		pthread_mutex_unlock(&lock6);
		return 0;
	} else if ((level == IPPROTO_IPV6 || level == IPPROTO_RAW) && name == IPV6_CHECKSUM) {
		v = x->csum_off;
	} else if (level == IPPROTO_IPV6) {
		int *f = int_opt(x, name);
		if (f)
			v = *f;
		else
			r = fail(ENOPROTOOPT);
	} else if (level == SOL_SOCKET) {
		switch (name) {
		case SO_RCVBUF: case SO_SNDBUF: v = 212992; break; /* net.core.[rw]mem_default */
		case SO_TYPE: v = SOCK_RAW; break;
		case SO_PROTOCOL: v = x->proto; break;
		case SO_DOMAIN: v = AF_INET6; break;
		}
	} else {
		r = fail(ENOPROTOOPT);
	}
	pthread_mutex_unlock(&lock6);
	if (r == 0) {
		if (*len < sizeof(int))
			return fail(EINVAL);
		memcpy(val, &v, sizeof(v));
		*len = sizeof(v);
	}
	return r;
}

struct lla_q {
	int ifindex;
};

static int match_lla(const struct rf_ifaddr *a, const void *ctx)
{
	const struct lla_q *q = ctx;
	return a->family == AF_INET6 && a->ifindex == q->ifindex && a->addr[0] == 0xfe && (a->addr[1] & 0xc0) == 0x80;
}

static int match_own6(const struct rf_ifaddr *a, const void *ctx)
{
	return a->family == AF_INET6 && memcmp(a->addr, ctx, 16) == 0;
}

/* The upper-layer checksum of RFC 8200 8.1 over the pseudo-header and the payload (its checksum field zero). */
static uint16_t checksum6(const struct ip6_hdr *ip6, const uint8_t *p, size_t n)
{
	uint32_t sum = 0;
	const uint8_t *a = (const uint8_t *)&ip6->ip6_src; /* source, then destination: 32 bytes */
	for (int i = 0; i < 32; i += 2)
		sum += (uint32_t)a[i] << 8 | a[i + 1];
	sum += (uint32_t)(n >> 16) + (uint32_t)(n & 0xffff) + ip6->ip6_nxt;
	return rf_ip_checksum(p, n, sum);
}

ssize_t rf_raw6_sendmsg(int fd, const struct msghdr *msg)
{
	struct s6 me;
	if (take(fd, &me) < 0)
		return -1;
	const struct sockaddr_in6 *to = msg->msg_name;
	if (!to || msg->msg_namelen < sizeof(*to) || to->sin6_family != AF_INET6)
		return fail(to ? EINVAL : EDESTADDRREQ);
	size_t total = 0;
	for (size_t i = 0; i < msg->msg_iovlen; i++)
		total += msg->msg_iov[i].iov_len;
	int mc = to->sin6_addr.s6_addr[0] == 0xff;
	int ifindex = 0;
	struct in6_addr src = in6addr_any;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR((struct msghdr *)msg, c))
		if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO &&
		    c->cmsg_len >= CMSG_LEN(sizeof(struct in6_pktinfo))) {
			struct in6_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			ifindex = (int)pi.ipi6_ifindex;
			src = pi.ipi6_addr;
		}
	if (!ifindex)
		ifindex = (int)to->sin6_scope_id;
	if (!ifindex && mc)
		ifindex = me.mc_if;
	if (!ifindex)
		return fail(ENETUNREACH); /* only on-link destinations: libreal routes no IPv6 */
	struct rf_if ifc;
	if (rf_if_sending(ifindex, &ifc) < 0)
		return -1;
	if (total + sizeof(struct ip6_hdr) > (size_t)ifc.mtu)
		return fail(EMSGSIZE);
	struct rf_ifaddr a;
	if (IN6_IS_ADDR_UNSPECIFIED(&src)) {
		struct lla_q q = {ifindex};
		if (!rf_addr_find(match_lla, &q, &a))
			return fail(EADDRNOTAVAIL); /* no link-local address on the interface */
		memcpy(&src, a.addr, 16);
	} else if (!rf_addr_find(match_own6, &src, &a)) {
		return fail(EINVAL); /* the kernel's ip6_datagram_send_ctl: a source that is not ours */
	}
	struct ip6_hdr ip6;
	memset(&ip6, 0, sizeof(ip6));
	ip6.ip6_flow = htonl(6u << 28 | (uint32_t)me.tclass << 20);
	ip6.ip6_plen = htons((uint16_t)total);
	ip6.ip6_nxt = (uint8_t)me.proto;
	ip6.ip6_hlim = (uint8_t)(mc ? me.mc_hops : me.uc_hops);
	ip6.ip6_src = src;
	ip6.ip6_dst = to->sin6_addr;

	/* One buffer for the payload: the checksum is over all of it, and a packet is at most an MTU. */
	uint8_t *payload = malloc(total ? total : 1);
	if (!payload)
		return fail(ENOBUFS);
	rf_gather(msg, payload, total);
	if (me.csum_off >= 0) {
		if ((size_t)me.csum_off + 2 > total) {
			free(payload);
			return fail(EINVAL);
		}
		memset(payload + me.csum_off, 0, 2);
		uint16_t c = checksum6(&ip6, payload, total);
		memcpy(payload + me.csum_off, &c, 2);
	}
	struct iovec iov[2] = {{&ip6, sizeof(ip6)}, {payload, total}};
	rf_raw_to_segment(INBOX6(me.proto), ifindex, mc && me.mc_loop, iov, 2);
	free(payload);
	return (ssize_t)total;
}

struct peeked6 {
	struct rf_raw_hdr h;
	struct ip6_hdr ip6;
	uint8_t type; /* the payload's first byte: ICMPv6's type */
};
_Static_assert(offsetof(struct peeked6, type) == sizeof(struct rf_raw_hdr) + sizeof(struct ip6_hdr),
	       "the inbox header and the IPv6 header are read as one");

/* The payload's checksum holds (the whole datagram peeked again: n bytes, inbox header included). */
static int checksum_ok(int fd, const struct s6 *x, ssize_t n)
{
	uint8_t *buf = malloc((size_t)n);
	if (!buf)
		return 0;
	int ok = 0;
	ssize_t got = rf_real.recv(fd, buf, (size_t)n, MSG_PEEK | MSG_DONTWAIT);
	size_t head = sizeof(struct rf_raw_hdr) + sizeof(struct ip6_hdr);
	if (got == n && (size_t)n >= head + (size_t)x->csum_off + 2) {
		struct ip6_hdr ip6;
		memcpy(&ip6, buf + sizeof(struct rf_raw_hdr), sizeof(ip6));
		uint8_t *p = buf + head;
		size_t len = (size_t)n - head;
		uint16_t want;
		memcpy(&want, p + x->csum_off, 2);
		memset(p + x->csum_off, 0, 2);
		ok = checksum6(&ip6, p, len) == want;
	}
	free(buf);
	return ok;
}

static int acceptable6(int fd, const struct s6 *x, const struct peeked6 *p, ssize_t n)
{
	if (n < (ssize_t)sizeof(*p) || p->h.magic != RF_RAW_MAGIC)
		return 0;
	struct rf_if ifc;
	if (rf_if_by_index(p->h.ifindex, &ifc) < 0 || !(ifc.flags & IFF_UP) ||
	    n - (ssize_t)sizeof(p->h) > ifc.mtu)
		return 0;
	if (x->proto == IPPROTO_ICMPV6 && (x->filter[p->type >> 5] & (1u << (p->type & 31))))
		return 0;
	const struct in6_addr *dst = &p->ip6.ip6_dst;
	int ours = 0;
	if (dst->s6_addr[0] == 0xff) {
		static const uint8_t all_nodes[16] = {0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
		ours = memcmp(dst, all_nodes, 16) == 0;
		for (int i = 0; i < x->ngroups && !ours; i++)
			ours = (x->groups[i].ifindex == p->h.ifindex || !x->groups[i].ifindex) &&
			       memcmp(&x->groups[i].group, dst, 16) == 0;
	} else {
		struct rf_ifaddr a;
		ours = rf_addr_find(match_own6, dst, &a);
	}
	if (ours && x->csum_off >= 0 && !checksum_ok(fd, x, n)) {
		rf_log("raw IPv6 packet (protocol %d) with a bad checksum dropped", x->proto);
		return 0;
	}
	return ours;
}

/* One IPPROTO_IPV6 control message of the reply at *used, or MSG_CTRUNC when the caller left no room. */
static void put_cmsg(struct msghdr *msg, size_t room, size_t *used, int type, const void *data, size_t len)
{
	if (room - *used < CMSG_SPACE(len)) {
		msg->msg_flags |= MSG_CTRUNC;
		return;
	}
	struct cmsghdr *c = (struct cmsghdr *)((char *)msg->msg_control + *used);
	memset(c, 0, CMSG_SPACE(len));
	c->cmsg_level = IPPROTO_IPV6;
	c->cmsg_type = type;
	c->cmsg_len = CMSG_LEN(len);
	memcpy(CMSG_DATA(c), data, len);
	*used += CMSG_SPACE(len);
}

ssize_t rf_raw6_recvmsg(int fd, struct msghdr *msg, int flags)
{
	struct s6 me;
	if (take(fd, &me) < 0)
		return -1;
	for (;;) {
		struct peeked6 p;
		ssize_t n = rf_real.recv(fd, &p, sizeof(p), MSG_PEEK | MSG_TRUNC | (flags & MSG_DONTWAIT));
		if (n < 0)
			return -1;
		if (!acceptable6(fd, &me, &p, n)) {
			rf_real.recv(fd, &p, sizeof(p), MSG_DONTWAIT);
			continue;
		}
		struct peeked6 head;
		ssize_t r = rf_raw_read(fd, INBOX6(me.proto), &head, offsetof(struct peeked6, type), msg, flags);
		if (r < 0)
			return -1;
		if (msg->msg_name && msg->msg_namelen) {
			struct sockaddr_in6 from = {.sin6_family = AF_INET6, .sin6_addr = p.ip6.ip6_src};
			if (IN6_IS_ADDR_LINKLOCAL(&from.sin6_addr))
				from.sin6_scope_id = (uint32_t)p.h.ifindex;
			memcpy(msg->msg_name, &from, msg->msg_namelen < sizeof(from) ? msg->msg_namelen : sizeof(from));
			msg->msg_namelen = sizeof(from);
		}
		size_t room = msg->msg_control ? msg->msg_controllen : 0, used = 0;
		if (me.pktinfo) {
			struct in6_pktinfo pi = {.ipi6_addr = p.ip6.ip6_dst, .ipi6_ifindex = (unsigned)p.h.ifindex};
			put_cmsg(msg, room, &used, IPV6_PKTINFO, &pi, sizeof(pi));
		}
		if (me.hoplimit) {
			int hl = p.ip6.ip6_hlim;
			put_cmsg(msg, room, &used, IPV6_HOPLIMIT, &hl, sizeof(hl));
		}
		msg->msg_controllen = used;
		return r;
	}
}
