/* Emulated raw IPv4 sockets: what ospfd needs (IPPROTO_OSPF with IP_HDRINCL, IP_PKTINFO both ways, multicast
 * groups per interface, IP_MULTICAST_LOOP/TTL/IF, SO_BINDTODEVICE), for any IP protocol number.
 *
 * Transport. A raw socket is one end (the inbox) of an AF_UNIX datagram socketpair the controller made and whose
 * other end it keeps. A sender asks the controller once per receiving router for a duplicate of that other end,
 * caches it, and from then on a packet is one sendmsg() from the sending daemon straight into each receiver's
 * inbox: no process hop, no Python on the packet path. A connected pair rather than a named (abstract) socket:
 * the kernel lets an unconnected AF_UNIX datagram socket queue at most net.unix.max_dgram_qlen (10) packets for
 * a receiver, and OSPF's bursts (flooding, a daemon waiting to be scheduled) exceed that; the pair is bounded
 * only by bytes (8 MiB, set by the controller: a kernel raw socket's receive buffer after ospfd's SO_RCVBUF).
 * The controller's end also lets it see packets in flight (SIOCOUTQ), as for emulated TCP.
 *
 * Who receives. The members of the outgoing interface's L2 segment (`member` records of the interface table),
 * plus the sender itself for multicast with IP_MULTICAST_LOOP (the default) and for broadcast. The outgoing
 * interface is IP_PKTINFO's ipi_ifindex (what ospfd gives), else IP_MULTICAST_IF for a multicast destination,
 * else SO_BINDTODEVICE, else the interface whose connected subnet holds a unicast destination. libreal has no
 * FIB, so a unicast destination beyond the connected subnets (e.g. an OSPF virtual link) is ENETUNREACH.
 *
 * What a receiver accepts, as the kernel would: multicast only for a group the socket joined on the arriving
 * interface (224.0.0.1 always), broadcast, unicast only to one of the router's own addresses (read from the
 * address table the router's zebra keeps: ospfd never sees zebra's netlink), nothing longer than the arriving
 * interface's MTU (a veth drops such frames). Each datagram is a struct rf_raw_hdr (the arriving interface) and
 * the IP packet as on the wire: the header's total length, id and checksum filled as the kernel fills them.
 * The kernel judges a packet when it arrives, we when it is read; a group joined or left in between would make
 * a difference, so before a membership change the queue is judged under the old membership (judge_queue).
 * recvmsg() returns the IP packet, header included, with IP_PKTINFO {arriving ifindex, local address, header
 * destination} and the source in msg_name. read()/recv() on a raw socket are not supported (FRR uses recvmsg).
 */
#include "libreal.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#define RAW_MAGIC RF_RAW_MAGIC
#define MAX_PEERS 256
#define STACK_IOV 16

/* Inboxes of other routers (and our own), by (router, IP protocol). One lock serialises a packet's whole
 * fan-out: sends never block (MSG_DONTWAIT), and a cached descriptor is never closed under a sender's feet. */
struct peer {
	char router[64];
	int proto;
	int fd;
};
static struct peer peers[MAX_PEERS];
static int npeers;
static pthread_mutex_t send_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t memb_lock = PTHREAD_MUTEX_INITIALIZER;

void rf_raw_fork(enum rf_fork_phase phase)
{
	static pthread_mutex_t *const locks[] = {&send_lock, &memb_lock}; /* judge_queue nests them so */
	rf_fork_locks(phase, locks, 2);
}

/* -- the router's addresses ---------------------------------------------------------------------------------- */

struct on_if {
	int ifindex;
	uint32_t addr; /* network order */
};

static int match_local(const struct rf_ifaddr *a, const void *ctx)
{
	return a->family == AF_INET && memcmp(a->addr, ctx, 4) == 0;
}

static int match_subnet_on_if(const struct rf_ifaddr *a, const void *ctx)
{
	const struct on_if *q = ctx;
	uint32_t mine, mask = a->plen ? htonl(~0u << (32 - a->plen)) : 0;
	memcpy(&mine, a->addr, 4);
	return a->family == AF_INET && (!q->ifindex || a->ifindex == q->ifindex) && a->plen < 32 &&
	       ((mine ^ q->addr) & mask) == 0;
}

static int match_any_on_if(const struct rf_ifaddr *a, const void *ctx)
{
	const struct on_if *q = ctx;
	return a->family == AF_INET && a->ifindex == q->ifindex;
}

static int match_not_loopback(const struct rf_ifaddr *a, const void *ctx)
{
	(void)ctx;
	return a->family == AF_INET && a->addr[0] != 127;
}

static int match_broadcast_on_if(const struct rf_ifaddr *a, const void *ctx)
{
	const struct on_if *q = ctx;
	if (a->family != AF_INET || a->ifindex != q->ifindex || a->plen >= 31)
		return 0;
	uint32_t mine, host = htonl(~0u >> a->plen);
	memcpy(&mine, a->addr, 4);
	return (mine | host) == q->addr;
}

static int is_local(uint32_t addr)
{
	struct rf_ifaddr a;
	return rf_addr_find(match_local, &addr, &a);
}

static int ifindex_of(uint32_t addr)
{
	struct rf_ifaddr a;
	return rf_addr_find(match_local, &addr, &a) ? a.ifindex : 0;
}

/* The source the kernel would pick leaving on ifindex toward dst: an address of that interface in dst's
 * subnet, else its first address, else any other non-loopback address of the router (inet_select_addr). */
static uint32_t source_for(int ifindex, uint32_t dst)
{
	struct rf_ifaddr a;
	struct on_if q = {ifindex, dst};
	uint32_t out = 0;
	if (rf_addr_find(match_subnet_on_if, &q, &a) || rf_addr_find(match_any_on_if, &q, &a) ||
	    rf_addr_find(match_not_loopback, NULL, &a))
		memcpy(&out, a.addr, 4);
	return out;
}

/* The interface whose connected subnet holds dst (the first one, if subnets overlap). */
static int connected_ifindex(uint32_t dst)
{
	struct rf_ifaddr a;
	struct on_if q = {0, dst};
	return rf_addr_find(match_subnet_on_if, &q, &a) ? a.ifindex : 0;
}

/* -- socket ------------------------------------------------------------------------------------------------ */

/* An inbox for raw packets of `protocol` (raw IPv6's too, raw6.c) from the controller: its descriptor (arrived
 * close-on-exec), and its id at the controller in *id. */
int rf_raw_inbox(int protocol, long *id)
{
	char req[64], resp[64];
	int fd = -1;
	snprintf(req, sizeof(req), "RAW %d", protocol);
	if (rf_ctl_request(req, resp, sizeof(resp), &fd) < 0)
		return -1;
	if (sscanf(resp, "OK %ld", id) != 1 || fd < 0) {
		if (fd >= 0)
			rf_real.close(fd);
		rf_log("controller refused a raw socket for protocol %d: %s", protocol, resp);
		errno = EACCES;
		return -1;
	}
	return fd;
}

int rf_raw_socket(int domain, int type, int protocol)
{
	if (protocol <= 0 || protocol > 255) {
		errno = EPROTONOSUPPORT;
		return -1;
	}
	char req[64];
	long id;
	int fd = rf_raw_inbox(protocol, &id);
	if (fd < 0)
		return -1;
	/* The inbox arrived close-on-exec (MSG_CMSG_CLOEXEC); give it the flags socket() was asked for. */
	if (!(type & SOCK_CLOEXEC))
		fcntl(fd, F_SETFD, 0);
	if (type & SOCK_NONBLOCK)
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	struct rf_sock *s = rf_new(fd, RF_RAW);
	if (!s) {
		rf_real.close(fd);
		snprintf(req, sizeof(req), "RAWCLOSE %ld", id);
		rf_ctl_send(req);
		errno = EMFILE;
		return -1;
	}
	s->family = domain;
	s->type = SOCK_RAW;
	s->protocol = protocol;
	s->raw_id = id;
	s->raw_hdrincl = protocol == IPPROTO_RAW; /* as in the kernel */
	s->raw_mc_ttl = 1;
	s->raw_mc_loop = 1;
	s->sndbuf = s->rcvbuf = 212992; /* net.core.[rw]mem_default */
	return fd;
}

int rf_raw_bind(struct rf_sock *s, const struct sockaddr *addr, socklen_t len)
{
	const struct sockaddr_in *sin = (const void *)addr;
	if (len < sizeof(*sin) || (sin->sin_family != AF_INET && sin->sin_family != AF_UNSPEC)) {
		errno = EINVAL;
		return -1;
	}
	uint32_t a = sin->sin_addr.s_addr;
	if (a && !IN_MULTICAST(ntohl(a)) && a != INADDR_BROADCAST && !is_local(a)) {
		errno = EADDRNOTAVAIL;
		return -1;
	}
	s->raw_bound = a;
	return 0;
}

int rf_raw_getsockname(struct rf_sock *s, struct sockaddr *addr, socklen_t *len)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(s->protocol)}; /* the kernel's inet_num */
	sin.sin_addr.s_addr = s->raw_bound;
	memcpy(addr, &sin, *len < sizeof(sin) ? *len : sizeof(sin));
	*len = sizeof(sin);
	return 0;
}

void rf_raw_close(struct rf_sock *s)
{
	char msg[64];
	snprintf(msg, sizeof(msg), "RAWCLOSE %ld", s->raw_id);
	rf_ctl_send(msg);
}

/* -- options ------------------------------------------------------------------------------------------------ */

static int opt_int(const void *val, socklen_t len, int *out)
{
	if (len >= sizeof(int))
		memcpy(out, val, sizeof(int));
	else if (len >= 1)
		*out = *(const unsigned char *)val; /* the kernel takes a byte for the IP_MULTICAST_* options */
	else
		return -1;
	return 0;
}

static void judge_queue(struct rf_sock *s, int fd);

static int membership(struct rf_sock *s, int fd, int add, int ifindex, uint32_t ifaddr, uint32_t group)
{
	if (!IN_MULTICAST(ntohl(group))) {
		errno = EINVAL;
		return -1;
	}
	if (!ifindex && ifaddr)
		ifindex = ifindex_of(ifaddr);
	struct rf_if ifc;
	if (!ifindex || rf_if_by_index(ifindex, &ifc) < 0) {
		errno = ENODEV; /* no interface given: the kernel would look the group up in a FIB we do not have */
		return -1;
	}
	judge_queue(s, fd);
	int err = 0;
	pthread_mutex_lock(&memb_lock);
	int i = 0;
	while (i < s->raw_nmemb && !(s->raw_memb[i].ifindex == ifindex && s->raw_memb[i].group == group))
		i++;
	if (add) {
		if (i < s->raw_nmemb)
			err = EADDRINUSE;
		else if (s->raw_nmemb == RF_RAW_MAX_MEMB)
			err = ENOBUFS;
		else {
			s->raw_memb[s->raw_nmemb].ifindex = ifindex;
			s->raw_memb[s->raw_nmemb].group = group;
			s->raw_nmemb++;
		}
	} else if (i == s->raw_nmemb) {
		err = EADDRNOTAVAIL;
	} else {
		s->raw_memb[i] = s->raw_memb[--s->raw_nmemb];
	}
	pthread_mutex_unlock(&memb_lock);
	if (err) {
		errno = err;
		return -1;
	}
	return 0;
}

static int joined(struct rf_sock *s, int ifindex, uint32_t group)
{
	pthread_mutex_lock(&memb_lock);
	int yes = 0;
	for (int i = 0; i < s->raw_nmemb && !yes; i++)
		yes = s->raw_memb[i].ifindex == ifindex && s->raw_memb[i].group == group;
	pthread_mutex_unlock(&memb_lock);
	return yes;
}

/* ip_mreqn, or ip_mreq / in_addr read into its first fields, as the kernel reads them. */
static int read_mreqn(const void *val, socklen_t len, struct ip_mreqn *m, int addr_only)
{
	memset(m, 0, sizeof(*m));
	if (len >= sizeof(struct ip_mreqn))
		memcpy(m, val, sizeof(*m));
	else if (len >= sizeof(struct ip_mreq))
		memcpy(m, val, sizeof(struct ip_mreq));
	else if (addr_only && len >= sizeof(struct in_addr))
		memcpy(&m->imr_address, val, sizeof(struct in_addr));
	else
		return -1;
	return 0;
}

int rf_raw_setsockopt(struct rf_sock *s, int fd, int level, int name, const void *val, socklen_t len)
{
	int v = 0;
	if (level == SOL_SOCKET) {
		switch (name) {
		case SO_BINDTODEVICE: {
			char dev[IFNAMSIZ] = "";
			memcpy(dev, val, len < IFNAMSIZ - 1 ? len : IFNAMSIZ - 1);
			struct rf_if ifc;
			if (!dev[0]) {
				s->raw_ifindex = 0;
				s->bindtodevice[0] = 0;
			} else if (rf_if_by_name(dev, &ifc) == 0) {
				s->raw_ifindex = ifc.index;
				snprintf(s->bindtodevice, sizeof(s->bindtodevice), "%s", dev);
			} else {
				errno = ENODEV;
				return -1;
			}
			return 0;
		}
		case SO_SNDBUF: case SO_SNDBUFFORCE:
			if (opt_int(val, len, &v) == 0)
				s->sndbuf = 2 * v; /* the kernel doubles it for bookkeeping */
			return 0;
		case SO_RCVBUF: case SO_RCVBUFFORCE:
			if (opt_int(val, len, &v) == 0)
				s->rcvbuf = 2 * v;
			return 0;
		}
		return 0; /* SO_REUSEADDR, SO_PRIORITY, ...: no effect on a socket with no host network */
	}
	if (level != IPPROTO_IP)
		return 0;
	struct ip_mreqn m;
	switch (name) {
	case IP_HDRINCL: case IP_PKTINFO: case IP_TTL: case IP_TOS: case IP_MULTICAST_TTL: case IP_MULTICAST_LOOP:
		if (opt_int(val, len, &v) < 0) {
			errno = EINVAL;
			return -1;
		}
		if (name == IP_HDRINCL)
			s->raw_hdrincl = v != 0;
		else if (name == IP_PKTINFO)
			s->raw_pktinfo = v != 0;
		else if (name == IP_TTL)
			s->ttl = v == -1 ? 64 : v;
		else if (name == IP_TOS)
			s->tos = v & 0xff;
		else if (name == IP_MULTICAST_TTL)
			s->raw_mc_ttl = v == -1 ? 1 : v;
		else
			s->raw_mc_loop = v != 0;
		return 0;
	case IP_MULTICAST_IF:
		if (read_mreqn(val, len, &m, 1) < 0) {
			errno = EINVAL;
			return -1;
		}
		if (!m.imr_ifindex && m.imr_address.s_addr) {
			m.imr_ifindex = ifindex_of(m.imr_address.s_addr);
			if (!m.imr_ifindex) {
				errno = EADDRNOTAVAIL;
				return -1;
			}
		}
		s->raw_mc_ifindex = m.imr_ifindex;
		return 0;
	case IP_ADD_MEMBERSHIP: case IP_DROP_MEMBERSHIP:
		if (read_mreqn(val, len, &m, 0) < 0) {
			errno = EINVAL;
			return -1;
		}
		return membership(s, fd, name == IP_ADD_MEMBERSHIP, m.imr_ifindex, m.imr_address.s_addr,
				  m.imr_multiaddr.s_addr);
	case MCAST_JOIN_GROUP: case MCAST_LEAVE_GROUP: {
		struct group_req g;
		if (len < sizeof(g)) {
			errno = EINVAL;
			return -1;
		}
		memcpy(&g, val, sizeof(g));
		if (g.gr_group.ss_family != AF_INET) {
			errno = EINVAL;
			return -1;
		}
		return membership(s, fd, name == MCAST_JOIN_GROUP, (int)g.gr_interface, 0,
				  ((struct sockaddr_in *)&g.gr_group)->sin_addr.s_addr);
	}
	case IP_ADD_SOURCE_MEMBERSHIP: case IP_DROP_SOURCE_MEMBERSHIP: case IP_BLOCK_SOURCE: case IP_UNBLOCK_SOURCE:
	case MCAST_JOIN_SOURCE_GROUP: case MCAST_LEAVE_SOURCE_GROUP: case MCAST_BLOCK_SOURCE: case MCAST_UNBLOCK_SOURCE:
	case IP_MSFILTER: case MCAST_MSFILTER:
		rf_log("raw socket: source-specific multicast (option %d) is not emulated", name);
		errno = EOPNOTSUPP;
		return -1;
	}
	return 0; /* IP_RECVERR, IP_MTU_DISCOVER, IP_MULTICAST_ALL, ...: accepted, no effect here */
}

static void put_int(void *val, socklen_t *len, int v)
{
	if (*len >= sizeof(int)) {
		memcpy(val, &v, sizeof(int));
		*len = sizeof(int);
	} else if (*len >= 1) {
		*(unsigned char *)val = (unsigned char)v;
		*len = 1;
	}
}

int rf_raw_getsockopt(struct rf_sock *s, int level, int name, void *val, socklen_t *len)
{
	if (level == SOL_SOCKET && name == SO_BINDTODEVICE) {
		size_t n = strlen(s->bindtodevice);
		if (n && *len < n + 1) {
			errno = EINVAL;
			return -1;
		}
		memcpy(val, s->bindtodevice, n ? n + 1 : 0);
		*len = n ? n + 1 : 0;
		return 0;
	}
	int v = 0;
	if (level == SOL_SOCKET) {
		switch (name) {
		case SO_TYPE: v = SOCK_RAW; break;
		case SO_PROTOCOL: v = s->protocol; break;
		case SO_DOMAIN: v = AF_INET; break;
		case SO_SNDBUF: v = s->sndbuf; break;
		case SO_RCVBUF: v = s->rcvbuf; break;
		}
	} else if (level == IPPROTO_IP) {
		switch (name) {
		case IP_HDRINCL: v = s->raw_hdrincl; break;
		case IP_PKTINFO: v = s->raw_pktinfo; break;
		case IP_TTL: v = s->ttl; break;
		case IP_TOS: v = s->tos; break;
		case IP_MULTICAST_TTL: v = s->raw_mc_ttl; break;
		case IP_MULTICAST_LOOP: v = s->raw_mc_loop; break;
		case IP_MULTICAST_IF: { /* the kernel reports the interface's address */
			struct in_addr a = {.s_addr = s->raw_mc_ifindex ? source_for(s->raw_mc_ifindex, 0) : 0};
			if (*len < sizeof(a)) {
				errno = EINVAL;
				return -1;
			}
			memcpy(val, &a, sizeof(a));
			*len = sizeof(a);
			return 0;
		}
		}
	}
	put_int(val, len, v);
	return 0;
}

int rf_raw_ioctl(struct rf_sock *s, int fd, unsigned long req, void *arg)
{
	(void)s;
	if ((req & 0xff00) == 0x8900) {
		errno = EOPNOTSUPP; /* interface ioctls: no host interface is queried or changed */
		return -1;
	}
	int r = rf_real.ioctl(fd, req, arg);
	if (r == 0 && req == FIONREAD) { /* the next packet's length, without our header */
		int *n = arg;
		*n = *n >= (int)sizeof(struct rf_raw_hdr) ? *n - (int)sizeof(struct rf_raw_hdr) : 0;
	}
	return r;
}

/* -- sending ------------------------------------------------------------------------------------------------ */

/* The Internet checksum (RFC 1071) of p[0..n), on top of a partial sum (a pseudo-header's, raw6.c). */
uint16_t rf_ip_checksum(const uint8_t *p, size_t n, uint32_t sum)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

void rf_gather(const struct msghdr *msg, uint8_t *out, size_t want)
{
	size_t got = 0;
	for (size_t i = 0; i < msg->msg_iovlen && got < want; i++) {
		size_t n = msg->msg_iov[i].iov_len < want - got ? msg->msg_iov[i].iov_len : want - got;
		memcpy(out + got, msg->msg_iov[i].iov_base, n);
		got += n;
	}
}

static int peer_index_locked(const char *router, int proto)
{
	for (int i = 0; i < npeers; i++)
		if (peers[i].proto == proto && strcmp(peers[i].router, router) == 0)
			return i;
	return -1;
}

static void peer_forget_locked(int i)
{
	rf_real.close(peers[i].fd);
	peers[i] = peers[--npeers];
}

/* A descriptor that writes into router's inbox for proto, or -1: that router has no such raw socket. */
static int peer_fd_locked(const char *router, int proto)
{
	int i = peer_index_locked(router, proto);
	if (i >= 0)
		return peers[i].fd;
	char req[128], resp[64];
	int fd = -1;
	snprintf(req, sizeof(req), "RAWPEER %s %d", router, proto);
	if (rf_ctl_request(req, resp, sizeof(resp), &fd) < 0 || strncmp(resp, "OK", 2) != 0 || fd < 0) {
		if (fd >= 0)
			rf_real.close(fd);
		return -1;
	}
	int high = fcntl(fd, F_DUPFD_CLOEXEC, 1000); /* out of the daemon's low range */
	if (high >= 0) {
		rf_real.close(fd);
		fd = high;
	}
	if (npeers == MAX_PEERS)
		peer_forget_locked(0);
	snprintf(peers[npeers].router, sizeof(peers[npeers].router), "%s", router);
	peers[npeers].proto = proto;
	peers[npeers].fd = fd;
	npeers++;
	return fd;
}

/* One copy of the packet into router's inbox, arriving on its interface ifindex. */
static void deliver_locked(const char *router, int proto, int ifindex, struct iovec *iov, int iovcnt)
{
	((struct rf_raw_hdr *)iov[0].iov_base)->ifindex = ifindex;
	((struct rf_raw_hdr *)iov[0].iov_base)->looped = strcmp(router, rf_router()) == 0;
	struct msghdr m = {.msg_iov = iov, .msg_iovlen = iovcnt};
	for (int attempt = 0; attempt < 2; attempt++) {
		int fd = peer_fd_locked(router, proto);
		if (fd < 0)
			return; /* nothing there takes this protocol: the packet is lost, as on a wire */
		if (rf_real.sendmsg(fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0)
			return;
		if (errno == EAGAIN || errno == ENOBUFS) {
			rf_log("raw packet (protocol %d) to %s dropped: its receive queue is full", proto, router);
			return;
		}
		/* The inbox is gone (the daemon exited or reopened its socket): ask the controller again, once. */
		peer_forget_locked(peer_index_locked(router, proto));
	}
}

/* How many copies of a packet went to other routers (key: the inbox key): a replay waits for them (recording.py). */
static void record_sent(int key, int others)
{
	if (rf_recording()) {
		char copies[16];
		snprintf(copies, sizeof(copies), "%d", others);
		rf_record_text('s', key, copies);
	}
}

ssize_t rf_raw_sendmsg(struct rf_sock *s, const struct msghdr *msg, int flags)
{
	(void)flags; /* MSG_DONTWAIT or not: a send never blocks here, a full receiver drops the packet */
	size_t total = 0;
	for (size_t i = 0; i < msg->msg_iovlen; i++)
		total += msg->msg_iov[i].iov_len;
	const struct sockaddr_in *to = msg->msg_name;
	if (!to) {
		errno = EDESTADDRREQ;
		return -1;
	}
	if (msg->msg_namelen < sizeof(*to)) {
		errno = EINVAL;
		return -1;
	}
	if (to->sin_family != AF_INET && to->sin_family != AF_UNSPEC) {
		errno = EAFNOSUPPORT;
		return -1;
	}
	uint32_t dst = to->sin_addr.s_addr;

	uint8_t ip[60];
	size_t ihl = 20, skip = 0;
	int mc = IN_MULTICAST(ntohl(dst)), bc = dst == INADDR_BROADCAST;
	if (s->raw_hdrincl) {
		if (total < 20) {
			errno = EINVAL;
			return -1;
		}
		rf_gather(msg, ip, total < sizeof(ip) ? total : sizeof(ip));
		ihl = (size_t)(ip[0] & 0x0f) * 4;
		if (ip[0] >> 4 != 4 || ihl < 20 || ihl > total) {
			errno = EINVAL;
			return -1;
		}
		skip = ihl;
	} else {
		memset(ip, 0, 20);
		ip[0] = 0x45;
		ip[1] = (uint8_t)s->tos;
		ip[8] = (uint8_t)(mc ? s->raw_mc_ttl : s->ttl);
		ip[9] = (uint8_t)s->protocol;
		memcpy(ip + 16, &dst, 4);
	}
	size_t len = s->raw_hdrincl ? total : total + 20;
	if (len > 0xffff) {
		errno = EMSGSIZE;
		return -1;
	}

	int ifindex = 0;
	uint32_t spec_dst = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR((struct msghdr *)msg, c))
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO &&
		    c->cmsg_len >= CMSG_LEN(sizeof(struct in_pktinfo))) {
			struct in_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			ifindex = pi.ipi_ifindex;
			spec_dst = pi.ipi_spec_dst.s_addr;
		}
	int local = 0;
	if (!ifindex && mc)
		ifindex = s->raw_mc_ifindex;
	if (!ifindex)
		ifindex = s->raw_ifindex;
	if (!ifindex && !mc && !bc) {
		local = is_local(dst);
		ifindex = local ? 1 : connected_ifindex(dst); /* our own address: delivered through lo */
	}
	if (!ifindex) {
		errno = ENETUNREACH; /* beyond the connected subnets: libreal has no FIB to route with */
		return -1;
	}
	struct rf_if ifc;
	if (rf_if_sending(ifindex, &ifc) < 0)
		return -1;
	if ((int)len > ifc.mtu) {
		errno = EMSGSIZE;
		return -1;
	}

	/* Complete the header as the kernel does: source if unset, total length, id if unset, checksum. */
	uint32_t src;
	memcpy(&src, ip + 12, 4);
	if (!src) {
		src = spec_dst ? spec_dst : s->raw_bound ? s->raw_bound : source_for(ifindex, dst);
		memcpy(ip + 12, &src, 4);
	}
	uint16_t tot = htons((uint16_t)len), id;
	memcpy(ip + 2, &tot, 2);
	memcpy(&id, ip + 4, 2);
	if (!id || !s->raw_hdrincl) {
		if (++s->raw_ip_id == 0)
			s->raw_ip_id = 1;
		id = htons(s->raw_ip_id);
		memcpy(ip + 4, &id, 2);
	}
	ip[10] = ip[11] = 0;
	uint16_t sum = rf_ip_checksum(ip, ihl, 0);
	memcpy(ip + 10, &sum, 2);
	int proto = ip[9]; /* an IPPROTO_RAW socket sends whatever protocol its header names */

	struct rf_raw_hdr h = {.magic = RAW_MAGIC};
	struct iovec stack[STACK_IOV], *iov = stack;
	size_t need = msg->msg_iovlen + 2;
	if (need > STACK_IOV && !(iov = malloc(need * sizeof(*iov)))) {
		errno = ENOBUFS;
		return -1;
	}
	int n = 0;
	iov[n++] = (struct iovec){&h, sizeof(h)};
	iov[n++] = (struct iovec){ip, ihl};
	for (size_t i = 0; i < msg->msg_iovlen; i++) {
		size_t l = msg->msg_iov[i].iov_len;
		if (skip >= l) {
			skip -= l;
			continue;
		}
		iov[n++] = (struct iovec){(char *)msg->msg_iov[i].iov_base + skip, l - skip};
		skip = 0;
	}

	int others = 0;
	pthread_mutex_lock(&send_lock);
	if (local) {
		deliver_locked(rf_router(), proto, 1, iov, n);
	} else {
		const struct rf_member *m;
		int count = rf_if_members(ifindex, &m);
		for (int i = 0; i < count; i++) {
			deliver_locked(m[i].router, proto, m[i].ifindex, iov, n);
			others += strcmp(m[i].router, rf_router()) != 0;
		}
		if ((mc && s->raw_mc_loop) || bc)
			deliver_locked(rf_router(), proto, ifindex, iov, n);
	}
	pthread_mutex_unlock(&send_lock);
	record_sent(proto, others);
	if (iov != stack)
		free(iov);
	return (ssize_t)total;
}

/* A packet (iov: everything after the inbox header) to the members of ifindex's segment, and to this router too
 * with loop (raw6.c's multicast loop). */
void rf_raw_to_segment(int proto, int ifindex, int loop, const struct iovec *iov, int iovcnt)
{
	struct rf_raw_hdr h = {.magic = RAW_MAGIC};
	struct iovec stack[STACK_IOV], *all = stack;
	if (iovcnt + 1 > STACK_IOV && !(all = malloc((iovcnt + 1) * sizeof(*all)))) {
		rf_log("raw packet (protocol %d) dropped: no memory", proto);
		return;
	}
	all[0] = (struct iovec){&h, sizeof(h)};
	memcpy(all + 1, iov, iovcnt * sizeof(*iov));
	int others = 0;
	pthread_mutex_lock(&send_lock);
	const struct rf_member *m;
	int count = rf_if_members(ifindex, &m);
	for (int i = 0; i < count; i++) {
		deliver_locked(m[i].router, proto, m[i].ifindex, all, iovcnt + 1);
		others += strcmp(m[i].router, rf_router()) != 0;
	}
	if (loop)
		deliver_locked(rf_router(), proto, ifindex, all, iovcnt + 1);
	pthread_mutex_unlock(&send_lock);
	record_sent(proto, others);
	if (all != stack)
		free(all);
}

/* -- receiving ---------------------------------------------------------------------------------------------- */

struct peeked {
	struct rf_raw_hdr h;
	uint8_t ip[20];
};

static int acceptable(struct rf_sock *s, const struct peeked *p, ssize_t n)
{
	if (n < (ssize_t)sizeof(*p) || p->h.magic != RAW_MAGIC) {
		rf_log("malformed emulated raw packet (%zd bytes) dropped", n);
		return 0;
	}
	if (p->h.judged)
		return 1;
	int len = (int)(n - (ssize_t)sizeof(p->h));
	struct rf_if ifc;
	if (s->raw_ifindex && p->h.ifindex != s->raw_ifindex)
		return 0;
	if (rf_if_by_index(p->h.ifindex, &ifc) < 0 || !(ifc.flags & IFF_UP) || len > ifc.mtu)
		return 0; /* a frame longer than the arriving interface's MTU does not get in (a veth drops it) */
	uint32_t dst;
	memcpy(&dst, p->ip + 16, 4);
	if (s->raw_bound && s->raw_bound != dst)
		return 0;
	if (IN_MULTICAST(ntohl(dst)))
		return dst == htonl(INADDR_ALLHOSTS_GROUP) || joined(s, p->h.ifindex, dst);
	if (dst == INADDR_BROADCAST)
		return 1;
	struct on_if q = {p->h.ifindex, dst};
	struct rf_ifaddr a;
	return is_local(dst) || rf_addr_find(match_broadcast_on_if, &q, &a);
}

/* Everything queued now is judged under the current membership; what passes goes back in, in order, marked. */
static void judge_queue(struct rf_sock *s, int fd)
{
	struct kept {
		struct kept *next;
		ssize_t len;
		char data[];
	} *head = NULL, **tail = &head;
	for (;;) {
		struct peeked p;
		ssize_t n = rf_real.recv(fd, &p, sizeof(p), MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT);
		if (n < 0)
			break;
		struct kept *k = acceptable(s, &p, n) ? malloc(sizeof(*k) + n) : NULL;
		if (!k) {
			rf_real.recv(fd, &p, sizeof(p), MSG_DONTWAIT);
			continue;
		}
		k->next = NULL;
		k->len = rf_real.recv(fd, k->data, n, MSG_DONTWAIT);
		((struct rf_raw_hdr *)k->data)->judged = 1;
		*tail = k;
		tail = &k->next;
	}
	if (!head)
		return;
	pthread_mutex_lock(&send_lock);
	int self = peer_fd_locked(rf_router(), s->protocol);
	for (struct kept *k = head, *next; k; k = next) {
		next = k->next;
		if (self < 0 || k->len <= 0 || rf_real.send(self, k->data, k->len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
			rf_log("raw packet lost while re-judging the queue of a raw socket");
		free(k);
	}
	pthread_mutex_unlock(&send_lock);
}

static void put_pktinfo(struct rf_sock *s, struct msghdr *msg, const struct peeked *p)
{
	size_t room = msg->msg_control ? msg->msg_controllen : 0;
	msg->msg_controllen = 0;
	if (!s->raw_pktinfo)
		return;
	if (room < CMSG_SPACE(sizeof(struct in_pktinfo))) {
		msg->msg_flags |= MSG_CTRUNC;
		return;
	}
	struct in_pktinfo pi = {.ipi_ifindex = p->h.ifindex};
	uint32_t src, dst;
	memcpy(&src, p->ip + 12, 4);
	memcpy(&dst, p->ip + 16, 4);
	pi.ipi_addr.s_addr = dst;
	/* the address a reply would come from: the destination itself if unicast, else ours toward the sender */
	pi.ipi_spec_dst.s_addr = (IN_MULTICAST(ntohl(dst)) || dst == INADDR_BROADCAST || !is_local(dst))
					 ? source_for(p->h.ifindex, src)
					 : dst;
	struct cmsghdr *c = (struct cmsghdr *)msg->msg_control;
	memset(c, 0, CMSG_SPACE(sizeof(pi)));
	c->cmsg_level = IPPROTO_IP;
	c->cmsg_type = IP_PKTINFO;
	c->cmsg_len = CMSG_LEN(sizeof(pi));
	memcpy(CMSG_DATA(c), &pi, sizeof(pi));
	msg->msg_controllen = CMSG_SPACE(sizeof(pi));
}

/* A packet from another router as the daemon read it (head: what rf_raw_read kept, inbox header first; then the
 * daemon's buffers), for a replay to put back into the inbox `key` at the same instant (record.c). The router's
 * own packets come back by themselves in a replay. */
static void record_packet(int key, const void *head, size_t headlen, const struct msghdr *msg, size_t len)
{
	uint8_t *buf = malloc(headlen + len);
	if (!buf) {
		rf_log("recording: no memory for a %zu-byte packet", len);
		abort(); /* a recording with holes would replay to another state */
	}
	size_t room = 0;
	for (size_t i = 0; i < msg->msg_iovlen; i++)
		room += msg->msg_iov[i].iov_len;
	len = len < room ? len : room; /* MSG_TRUNC: what the daemon got */
	memcpy(buf, head, headlen);
	rf_gather(msg, buf + headlen, len);
	rf_record('p', key, buf, headlen + len);
	free(buf);
}

/* One datagram from inbox `key`: its first headlen bytes into head (the inbox header, and for raw6.c the IPv6
 * header a reader does not get), the rest into msg's buffers; recorded when it came from another router. Returns
 * the length of that rest; MSG_TRUNC in msg_flags. */
ssize_t rf_raw_read(int fd, int key, void *head, size_t headlen, struct msghdr *msg, int flags)
{
	struct iovec stack[STACK_IOV], *iov = stack;
	size_t need = msg->msg_iovlen + 1;
	if (need > STACK_IOV && !(iov = malloc(need * sizeof(*iov)))) {
		errno = ENOBUFS;
		return -1;
	}
	iov[0] = (struct iovec){head, headlen};
	for (size_t i = 0; i < msg->msg_iovlen; i++)
		iov[i + 1] = msg->msg_iov[i];
	struct msghdr m = {.msg_iov = iov, .msg_iovlen = need};
	ssize_t r = rf_real.recvmsg(fd, &m, flags & (MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT));
	if (iov != stack)
		free(iov);
	if (r < 0)
		return -1;
	msg->msg_flags = m.msg_flags & MSG_TRUNC;
	r = r > (ssize_t)headlen ? r - (ssize_t)headlen : 0;
	if (rf_recording() && !(flags & MSG_PEEK) && !((struct rf_raw_hdr *)head)->looped)
		record_packet(key, head, headlen, msg, (size_t)r);
	return r;
}

ssize_t rf_raw_recvmsg(struct rf_sock *s, int fd, struct msghdr *msg, int flags)
{
	for (;;) {
		/* Look at the arriving interface and the IP header first: what the kernel would not deliver to this
		 * socket is consumed and skipped (with one reader, the datagram peeked is the one read next). */
		struct peeked p;
		ssize_t n = rf_real.recv(fd, &p, sizeof(p), MSG_PEEK | MSG_TRUNC | (flags & MSG_DONTWAIT));
		if (n < 0)
			return -1;
		if (!acceptable(s, &p, n)) {
			rf_real.recv(fd, &p, sizeof(p), MSG_DONTWAIT);
			continue;
		}
		struct rf_raw_hdr h;
		ssize_t r = rf_raw_read(fd, s->protocol, &h, sizeof(h), msg, flags);
		if (r < 0)
			return -1;
		if (msg->msg_name && msg->msg_namelen) {
			struct sockaddr_in from = {.sin_family = AF_INET};
			memcpy(&from.sin_addr, p.ip + 12, 4);
			memcpy(msg->msg_name, &from, msg->msg_namelen < sizeof(from) ? msg->msg_namelen : sizeof(from));
			msg->msg_namelen = sizeof(from);
		}
		put_pktinfo(s, msg, &p);
		return r;
	}
}
