/* Emulated raw ICMPv6 sockets: zebra's router-advertisement socket, which BGP unnumbered (`neighbor IFACE
 * interface`) needs: bgpd learns the peer's link-local address from the RAs zebra receives on the interface.
 *
 * The transport is raw.c's (an inbox per router, packets written straight into the inboxes of the outgoing
 * interface's segment members), keyed by protocol 58 (IPPROTO_ICMPV6; no IPv4 raw socket uses 58). A socket
 * made before its process is a router's (zebra makes this one during its initialisation, i.e. in its zygote)
 * gets its inbox when first used: until then it is a placeholder that never becomes readable, replaced by the
 * inbox on the same descriptor number (dup2), so the event loop polling it needs to know nothing.
 *
 * What the kernel does that is done here: the source is the outgoing interface's link-local address (the
 * kernel's choice for a link-local or multicast destination), the hop limit the socket's (unicast or multicast);
 * a receiver takes ff02::1 always, a group it joined on the arriving interface, unicast to one of its own
 * addresses; ICMP6_FILTER drops the types it blocks; recvmsg gives the ICMPv6 message (no IPv6 header), the
 * source with the arriving interface as its scope, IPV6_PKTINFO and IPV6_HOPLIMIT when asked for. Not done: the
 * ICMPv6 checksum (left 0: no receiver here checks it), recording for replay, re-judging a queue when a group
 * is joined or left (zebra joins ff02::2 before it sends or expects an RA).
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

#define ICMP6_INBOX 58

/* Per-socket state beyond struct rf_sock's, by descriptor (few sockets: one per zebra). */
#define MAX6 64
#define MAX6_GROUPS 20
struct s6 {
	int fd;
	long id; /* the inbox's id at the controller; 0: not opened yet */
	int pktinfo, hoplimit, mc_loop, mc_hops, uc_hops, mc_if;
	uint32_t filter[8]; /* struct icmp6_filter: a set bit blocks that type */
	int ngroups;
	struct {
		int ifindex;
		struct in6_addr group;
	} groups[MAX6_GROUPS];
};
static struct s6 socks[MAX6];
static pthread_mutex_t lock6 = PTHREAD_MUTEX_INITIALIZER;

static struct s6 *find6(int fd)
{
	for (int i = 0; i < MAX6; i++)
		if (socks[i].fd == fd + 1) /* fd + 1: zero means a free slot */
			return &socks[i];
	return NULL;
}

int rf_icmp6_socket(int type)
{
	int fd = rf_real.socket(AF_UNIX, SOCK_DGRAM | (type & (SOCK_NONBLOCK | SOCK_CLOEXEC)), 0);
	if (fd < 0)
		return -1;
	pthread_mutex_lock(&lock6);
	struct s6 *x = NULL;
	for (int i = 0; i < MAX6 && !x; i++)
		if (!socks[i].fd)
			x = &socks[i];
	struct rf_sock *s = x ? rf_new(fd, RF_ICMP6) : NULL;
	if (!s) {
		pthread_mutex_unlock(&lock6);
		rf_real.close(fd);
		errno = EMFILE;
		return -1;
	}
	memset(x, 0, sizeof(*x));
	x->fd = fd + 1;
	x->mc_loop = 1;
	x->mc_hops = 1;
	x->uc_hops = 64;
	pthread_mutex_unlock(&lock6);
	s->family = AF_INET6;
	s->type = SOCK_RAW;
	s->protocol = IPPROTO_ICMPV6;
	return fd;
}

/* The inbox, on this descriptor, once the process is a router's. */
static int opened(struct s6 *x, int fd)
{
	if (x->id)
		return 0;
	if (!rf_router() || !rf_router()[0]) {
		errno = ENETDOWN;
		return -1;
	}
	long id;
	int in = rf_raw_inbox(ICMP6_INBOX, &id);
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

void rf_icmp6_close(int fd)
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

int rf_icmp6_setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	pthread_mutex_lock(&lock6);
	struct s6 *x = find6(fd);
	int v = 0, r = 0;
	if (!x) {
		errno = EBADF;
		r = -1;
	} else if (level == IPPROTO_ICMPV6 && name == ICMP6_FILTER) {
		memset(x->filter, 0, sizeof(x->filter));
		memcpy(x->filter, val, len < sizeof(x->filter) ? len : sizeof(x->filter));
	} else if (level == IPPROTO_IPV6 && (name == IPV6_JOIN_GROUP || name == IPV6_LEAVE_GROUP)) {
		struct ipv6_mreq m;
		if (len < sizeof(m)) {
			errno = EINVAL;
			r = -1;
		} else {
			memcpy(&m, val, sizeof(m));
			int found = -1;
			for (int i = 0; i < x->ngroups; i++)
				if (x->groups[i].ifindex == (int)m.ipv6mr_interface &&
				    memcmp(&x->groups[i].group, &m.ipv6mr_multiaddr, 16) == 0)
					found = i;
			if (name == IPV6_JOIN_GROUP) {
				if (found >= 0) {
					errno = EADDRINUSE;
					r = -1;
				} else if (x->ngroups == MAX6_GROUPS) {
					errno = ENOBUFS;
					r = -1;
				} else {
					x->groups[x->ngroups].ifindex = (int)m.ipv6mr_interface;
					x->groups[x->ngroups++].group = m.ipv6mr_multiaddr;
				}
			} else if (found < 0) {
				errno = EADDRNOTAVAIL;
				r = -1;
			} else {
				x->groups[found] = x->groups[--x->ngroups];
			}
		}
	} else if (level == IPPROTO_IPV6 && get_int(val, len, &v) == 0) {
		switch (name) {
		case IPV6_RECVPKTINFO: x->pktinfo = v != 0; break;
		case IPV6_RECVHOPLIMIT: x->hoplimit = v != 0; break;
		case IPV6_MULTICAST_LOOP: x->mc_loop = v != 0; break;
		case IPV6_MULTICAST_HOPS: x->mc_hops = v < 0 ? 1 : v; break;
		case IPV6_UNICAST_HOPS: x->uc_hops = v < 0 ? 64 : v; break;
		case IPV6_MULTICAST_IF: x->mc_if = v; break;
		case IPV6_CHECKSUM: case IPV6_V6ONLY: break;
		default:
			errno = ENOPROTOOPT;
			r = -1;
		}
	} else if (level == SOL_SOCKET) {
		r = 0; /* buffer sizes, SO_BINDTODEVICE and the like: accepted */
	} else {
		if (level == IPPROTO_IPV6)
			r = -1; /* get_int set errno */
		else {
			errno = ENOPROTOOPT;
			r = -1;
		}
	}
	pthread_mutex_unlock(&lock6);
	return r;
}

int rf_icmp6_getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
	pthread_mutex_lock(&lock6);
	struct s6 *x = find6(fd);
	int v = 0, r = 0;
	if (!x) {
		errno = EBADF;
		r = -1;
	} else if (level == IPPROTO_ICMPV6 && name == ICMP6_FILTER) {
		socklen_t n = *len < sizeof(x->filter) ? *len : sizeof(x->filter);
		memcpy(val, x->filter, n);
		*len = n;
		pthread_mutex_unlock(&lock6);
		return 0;
	} else if (level == IPPROTO_IPV6 && name == IPV6_RECVPKTINFO) {
		v = x->pktinfo;
	} else if (level == IPPROTO_IPV6 && name == IPV6_RECVHOPLIMIT) {
		v = x->hoplimit;
	} else if (level == IPPROTO_IPV6 && name == IPV6_MULTICAST_LOOP) {
		v = x->mc_loop;
	} else if (level == IPPROTO_IPV6 && name == IPV6_MULTICAST_HOPS) {
		v = x->mc_hops;
	} else if (level == IPPROTO_IPV6 && name == IPV6_UNICAST_HOPS) {
		v = x->uc_hops;
	} else if (level == SOL_SOCKET && (name == SO_RCVBUF || name == SO_SNDBUF)) {
		v = 212992; /* net.core.[rw]mem_default */
	} else if (level != SOL_SOCKET) {
		errno = ENOPROTOOPT;
		r = -1;
	}
	pthread_mutex_unlock(&lock6);
	if (r == 0) {
		if (*len < sizeof(int)) {
			errno = EINVAL;
			return -1;
		}
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

ssize_t rf_icmp6_sendmsg(int fd, const struct msghdr *msg)
{
	struct s6 me;
	if (take(fd, &me) < 0)
		return -1;
	const struct sockaddr_in6 *to = msg->msg_name;
	if (!to || msg->msg_namelen < sizeof(*to) || to->sin6_family != AF_INET6) {
		errno = to ? EINVAL : EDESTADDRREQ;
		return -1;
	}
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
	if (!ifindex) {
		errno = ENETUNREACH; /* only on-link destinations: libreal routes no IPv6 */
		return -1;
	}
	struct rf_if ifc;
	if (rf_if_sending(ifindex, &ifc) < 0)
		return -1;
	if (total + sizeof(struct ip6_hdr) > (size_t)ifc.mtu) {
		errno = EMSGSIZE;
		return -1;
	}
	if (IN6_IS_ADDR_UNSPECIFIED(&src)) {
		struct lla_q q = {ifindex};
		struct rf_ifaddr a;
		if (!rf_addr_find(match_lla, &q, &a)) {
			errno = EADDRNOTAVAIL; /* no link-local address on the interface */
			return -1;
		}
		memcpy(&src, a.addr, 16);
	}
	struct ip6_hdr ip6;
	memset(&ip6, 0, sizeof(ip6));
	ip6.ip6_flow = htonl(6u << 28);
	ip6.ip6_plen = htons((uint16_t)total);
	ip6.ip6_nxt = IPPROTO_ICMPV6;
	ip6.ip6_hlim = (uint8_t)(mc ? me.mc_hops : me.uc_hops);
	ip6.ip6_src = src;
	ip6.ip6_dst = to->sin6_addr;

	struct iovec stack[16], *iov = stack;
	size_t need = msg->msg_iovlen + 1;
	if (need > 16 && !(iov = malloc(need * sizeof(*iov)))) {
		errno = ENOBUFS;
		return -1;
	}
	iov[0] = (struct iovec){&ip6, sizeof(ip6)};
	for (size_t i = 0; i < msg->msg_iovlen; i++)
		iov[i + 1] = msg->msg_iov[i];
	rf_raw_to_segment(ICMP6_INBOX, ifindex, mc && me.mc_loop, iov, (int)need);
	if (iov != stack)
		free(iov);
	return (ssize_t)total;
}

struct peeked6 {
	struct rf_raw_hdr h;
	struct ip6_hdr ip6;
	uint8_t type;
};

static int acceptable6(const struct s6 *x, const struct peeked6 *p, ssize_t n)
{
	if (n < (ssize_t)sizeof(*p) || p->h.magic != RF_RAW_MAGIC)
		return 0;
	struct rf_if ifc;
	if (rf_if_by_index(p->h.ifindex, &ifc) < 0 || !(ifc.flags & IFF_UP) ||
	    n - (ssize_t)sizeof(p->h) > ifc.mtu)
		return 0;
	if (x->filter[p->type >> 5] & (1u << (p->type & 31)))
		return 0;
	const struct in6_addr *dst = &p->ip6.ip6_dst;
	if (dst->s6_addr[0] == 0xff) {
		static const uint8_t all_nodes[16] = {0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
		if (memcmp(dst, all_nodes, 16) == 0)
			return 1;
		for (int i = 0; i < x->ngroups; i++)
			if ((x->groups[i].ifindex == p->h.ifindex || !x->groups[i].ifindex) &&
			    memcmp(&x->groups[i].group, dst, 16) == 0)
				return 1;
		return 0;
	}
	struct rf_ifaddr a;
	return rf_addr_find(match_own6, dst, &a);
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

ssize_t rf_icmp6_recvmsg(int fd, struct msghdr *msg, int flags)
{
	struct s6 me;
	if (take(fd, &me) < 0)
		return -1;
	for (;;) {
		struct peeked6 p;
		ssize_t n = rf_real.recv(fd, &p, sizeof(p), MSG_PEEK | MSG_TRUNC | (flags & MSG_DONTWAIT));
		if (n < 0)
			return -1;
		if (!acceptable6(&me, &p, n)) {
			rf_real.recv(fd, &p, sizeof(p), MSG_DONTWAIT);
			continue;
		}
		struct rf_raw_hdr h;
		struct ip6_hdr ip6;
		struct iovec stack[16], *iov = stack;
		size_t need = msg->msg_iovlen + 2;
		if (need > 16 && !(iov = malloc(need * sizeof(*iov)))) {
			errno = ENOBUFS;
			return -1;
		}
		iov[0] = (struct iovec){&h, sizeof(h)};
		iov[1] = (struct iovec){&ip6, sizeof(ip6)};
		for (size_t i = 0; i < msg->msg_iovlen; i++)
			iov[i + 2] = msg->msg_iov[i];
		struct msghdr m = {.msg_iov = iov, .msg_iovlen = need};
		ssize_t r = rf_real.recvmsg(fd, &m, flags & (MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT));
		if (iov != stack)
			free(iov);
		if (r < 0)
			return -1;
		ssize_t head = (ssize_t)(sizeof(h) + sizeof(ip6));
		r = r > head ? r - head : 0;
		msg->msg_flags = m.msg_flags & MSG_TRUNC;
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
