/* Emulated NETLINK_ROUTE, enough for zebra. Each netlink socket is one end of an AF_UNIX datagram pair;
 * we keep the other end and write the kernel's answers into it before the request's send() returns (zebra
 * reads its command socket right after sending, without polling). Interfaces come from the interface table;
 * addresses zebra installs are kept and echoed as events; routes and nexthops zebra installs are reported to
 * the controller as the router's emulated FIB and never reach the kernel. Success is silent unless the request
 * asks for an ACK, as with the kernel.
 */
#include "libreal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_arp.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/nexthop.h>
#include <linux/rtnetlink.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DGRAM_MAX 16384

static pthread_mutex_t nl_send_lock = PTHREAD_MUTEX_INITIALIZER; /* one request at a time (rf_nl_send) */
static pthread_mutex_t nl_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t nl_snap_lock = PTHREAD_MUTEX_INITIALIZER; /* dump_addrs's snapshot */
static int nl_count, nl_cap;
static int *nl_fds; /* app-side descriptors of this process's netlink sockets, for events (grows) */

void rf_nl_fork(enum rf_fork_phase phase)
{
	static pthread_mutex_t *const locks[] = {&nl_send_lock, &nl_lock, &nl_snap_lock};
	rf_fork_locks(phase, locks, 3);
}

/* What one netlink write tells the controller (ADDR, RT and NH lines, in order) goes in one message: zebra
 * writes its route changes in batches, and a message per route was most of the controller's work (about 30,000 of
 * 54,000 messages at k=12). The controller reads messages of up to 64 KiB. */
#define CTL_BATCH 32768

/* A reply being assembled: messages are packed into datagrams of at most DGRAM_MAX bytes. */
struct out {
	struct rf_sock *s;
	char buf[DGRAM_MAX];
	size_t len;
	int event; /* the kernel's own news (port id 0), not a reply */
	char ctl[CTL_BATCH]; /* lines for the controller, sent before zebra reads the replies (tell_flush) */
	size_t ctl_len;
};

static void tell_flush(struct out *o)
{
	if (!o->ctl_len)
		return;
	o->ctl[o->ctl_len - 1] = 0; /* the last line's newline */
	rf_ctl_send(o->ctl);
	o->ctl_len = 0;
}

/* The controller reads messages of up to 64 KiB (realfish/runtime/controller.py). */
#define CTL_MSG_MAX 65535

static void tell(struct out *o, const char *line)
{
	size_t n = strlen(line);
	if (o->ctl_len + n + 1 > sizeof(o->ctl))
		tell_flush(o);
	if (n + 1 > sizeof(o->ctl)) { /* a line longer than a batch (a route with very many nexthops): alone */
		if (n > CTL_MSG_MAX)
			rf_fatal("a netlink change of %zu bytes of text exceeds the control channel's %d", n, CTL_MSG_MAX);
		rf_ctl_send(line);
		return;
	}
	memcpy(o->ctl + o->ctl_len, line, n);
	o->ctl[o->ctl_len + n] = '\n';
	o->ctl_len += n + 1;
}

static void out_flush(struct out *o)
{
	if (!o->len)
		return;
	if (rf_real.send(o->s->nl_peer, o->buf, o->len, MSG_DONTWAIT) < 0)
		rf_log("netlink reply of %zu bytes dropped: %s", o->len, strerror(errno));
	o->len = 0;
}

static struct nlmsghdr *out_msg(struct out *o, size_t payload, uint16_t type, uint16_t flags, uint32_t seq)
{
	size_t need = NLMSG_ALIGN(NLMSG_LENGTH(payload));
	if (o->len + need > DGRAM_MAX)
		out_flush(o);
	struct nlmsghdr *h = (struct nlmsghdr *)(o->buf + o->len);
	memset(h, 0, need);
	h->nlmsg_len = NLMSG_LENGTH(payload);
	h->nlmsg_type = type;
	h->nlmsg_flags = flags;
	h->nlmsg_seq = seq;
	h->nlmsg_pid = o->event ? 0 : o->s->nl_pid;
	return h;
}

static void out_commit(struct out *o, struct nlmsghdr *h)
{
	o->len += NLMSG_ALIGN(h->nlmsg_len);
}

static void add_attr(struct nlmsghdr *h, size_t room, uint16_t type, const void *data, size_t len)
{
	struct rtattr *rta = (struct rtattr *)((char *)h + NLMSG_ALIGN(h->nlmsg_len));
	if (NLMSG_ALIGN(h->nlmsg_len) + RTA_SPACE(len) > room)
		return;
	rta->rta_type = type;
	rta->rta_len = RTA_LENGTH(len);
	memcpy(RTA_DATA(rta), data, len);
	h->nlmsg_len = NLMSG_ALIGN(h->nlmsg_len) + RTA_ALIGN(rta->rta_len);
}

#define MSG_ROOM 1024

static void put_link(struct out *o, const struct rf_if *i, uint32_t seq, uint16_t flags, uint16_t type)
{
	if (o->len + MSG_ROOM > DGRAM_MAX)
		out_flush(o);
	struct nlmsghdr *h = out_msg(o, sizeof(struct ifinfomsg), type, flags, seq);
	struct ifinfomsg *ifi = NLMSG_DATA(h);
	int lo = strcmp(i->name, "lo") == 0;
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_type = lo ? ARPHRD_LOOPBACK : ARPHRD_ETHER;
	ifi->ifi_index = i->index;
	ifi->ifi_flags = i->flags;
	ifi->ifi_change = 0;
	uint32_t mtu = i->mtu, txq = 1000, group = 0;
	uint8_t oper = (i->flags & IFF_RUNNING) ? (lo ? IF_OPER_UNKNOWN : IF_OPER_UP) : IF_OPER_DOWN;
	uint8_t carrier = (i->flags & IFF_RUNNING) ? 1 : 0, linkmode = 0, protodown = 0;
	uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, zero[6] = {0};
	add_attr(h, MSG_ROOM, IFLA_IFNAME, i->name, strlen(i->name) + 1);
	add_attr(h, MSG_ROOM, IFLA_MTU, &mtu, 4);
	add_attr(h, MSG_ROOM, IFLA_TXQLEN, &txq, 4);
	add_attr(h, MSG_ROOM, IFLA_OPERSTATE, &oper, 1);
	add_attr(h, MSG_ROOM, IFLA_LINKMODE, &linkmode, 1);
	add_attr(h, MSG_ROOM, IFLA_GROUP, &group, 4);
	add_attr(h, MSG_ROOM, IFLA_CARRIER, &carrier, 1);
	add_attr(h, MSG_ROOM, IFLA_PROTO_DOWN, &protodown, 1);
	add_attr(h, MSG_ROOM, IFLA_ADDRESS, lo ? zero : i->mac, 6);
	add_attr(h, MSG_ROOM, IFLA_BROADCAST, lo ? zero : bcast, 6);
	out_commit(o, h);
}

static void put_addr(struct out *o, const struct rf_ifaddr *a, uint32_t seq, uint16_t flags, uint16_t type)
{
	if (o->len + MSG_ROOM > DGRAM_MAX)
		out_flush(o);
	struct nlmsghdr *h = out_msg(o, sizeof(struct ifaddrmsg), type, flags, seq);
	struct ifaddrmsg *ifa = NLMSG_DATA(h);
	char name[16] = "";
	rf_if_name(a->ifindex, name);
	ifa->ifa_family = a->family;
	ifa->ifa_prefixlen = a->plen;
	ifa->ifa_flags = IFA_F_PERMANENT;
	ifa->ifa_index = a->ifindex;
	int alen = a->family == AF_INET ? 4 : 16;
	int host = (a->family == AF_INET && a->addr[0] == 127) ||
		   (a->family == AF_INET6 && a->plen == 128 && memcmp(a->addr, &in6addr_loopback, 16) == 0);
	int link = a->family == AF_INET6 && a->addr[0] == 0xfe && (a->addr[1] & 0xc0) == 0x80;
	ifa->ifa_scope = host ? RT_SCOPE_HOST : link ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
	uint32_t fl = IFA_F_PERMANENT;
	add_attr(h, MSG_ROOM, IFA_ADDRESS, a->addr, alen);
	if (a->family == AF_INET) {
		add_attr(h, MSG_ROOM, IFA_LOCAL, a->addr, alen);
		add_attr(h, MSG_ROOM, IFA_LABEL, name, strlen(name) + 1);
	}
	add_attr(h, MSG_ROOM, IFA_FLAGS, &fl, 4);
	out_commit(o, h);
}

static void put_done(struct out *o, uint32_t seq)
{
	struct nlmsghdr *h = out_msg(o, sizeof(int), NLMSG_DONE, NLM_F_MULTI, seq);
	out_commit(o, h);
}

static void put_error(struct out *o, const struct nlmsghdr *req, int err)
{
	/* Like a socket with NETLINK_CAP_ACK: only the request's header is echoed. */
	struct nlmsghdr *h = out_msg(o, sizeof(struct nlmsgerr), NLMSG_ERROR, NLM_F_CAPPED, req->nlmsg_seq);
	struct nlmsgerr *e = NLMSG_DATA(h);
	e->error = -err;
	e->msg = *req;
	out_commit(o, h);
}

static void dump_links(struct out *o, const struct nlmsghdr *req)
{
	const struct ifinfomsg *ifi = NLMSG_DATA(req);
	if (req->nlmsg_len >= NLMSG_LENGTH(1) && ifi->ifi_family == AF_BRIDGE) {
		put_done(o, req->nlmsg_seq);
		return;
	}
	struct rf_if i;
	for (int k = 0; rf_if_get(k, &i) == 0; k++)
		put_link(o, &i, req->nlmsg_seq, NLM_F_MULTI, RTM_NEWLINK);
	put_done(o, req->nlmsg_seq);
}

static void dump_addrs(struct out *o, const struct nlmsghdr *req)
{
	int family = req->nlmsg_len > NLMSG_HDRLEN ? *(const uint8_t *)NLMSG_DATA(req) : AF_UNSPEC;
	static struct rf_ifaddr snap[RF_MAX_ADDR];
	pthread_mutex_lock(&nl_snap_lock);
	int n = rf_addr_snapshot(snap, RF_MAX_ADDR);
	for (int k = 0; k < n; k++)
		if (family == AF_UNSPEC || snap[k].family == family)
			put_addr(o, &snap[k], req->nlmsg_seq, NLM_F_MULTI, RTM_NEWADDR);
	pthread_mutex_unlock(&nl_snap_lock);
	put_done(o, req->nlmsg_seq);
}

/* Send an event to every netlink socket of this process subscribed to the group. */
static void broadcast_addr(const struct rf_ifaddr *a, uint16_t type, const struct nlmsghdr *req)
{
	unsigned group = a->family == AF_INET ? RTNLGRP_IPV4_IFADDR : RTNLGRP_IPV6_IFADDR;
	pthread_mutex_lock(&nl_lock);
	for (int k = 0; k < nl_count; k++) {
		struct rf_sock *t = rf_get(nl_fds[k]);
		if (!t || t->kind != RF_NETLINK || !(t->nl_groups & (1ULL << (group - 1))))
			continue;
		static struct out o;
		o.s = t;
		o.len = 0;
		put_addr(&o, a, req->nlmsg_seq, 0, type);
		/* The kernel stamps an echo with the requester's port id; zebra's filter lets address echoes through. */
		((struct nlmsghdr *)o.buf)->nlmsg_pid = req->nlmsg_pid;
		out_flush(&o);
	}
	pthread_mutex_unlock(&nl_lock);
}

static void addr_change(struct out *o, const struct nlmsghdr *req)
{
	const struct ifaddrmsg *ifa = NLMSG_DATA(req);
	struct rf_ifaddr a = {.ifindex = ifa->ifa_index, .family = ifa->ifa_family, .plen = ifa->ifa_prefixlen};
	int got = 0;
	int alen = a.family == AF_INET ? 4 : 16;
	int rem = req->nlmsg_len - NLMSG_LENGTH(sizeof(*ifa));
	for (struct rtattr *rta = IFA_RTA(ifa); RTA_OK(rta, rem); rta = RTA_NEXT(rta, rem)) {
		int t = rta->rta_type & NLA_TYPE_MASK;
		if ((t == IFA_LOCAL || (t == IFA_ADDRESS && !got)) && RTA_PAYLOAD(rta) >= (unsigned)alen) {
			memcpy(a.addr, RTA_DATA(rta), alen);
			got = 1;
		}
	}
	int add = req->nlmsg_type == RTM_NEWADDR;
	int err = got ? rf_addr_update(add, &a) : EINVAL;
	if (err == EEXIST && (req->nlmsg_flags & NLM_F_REPLACE))
		err = 0;
	if (!err) {
		char text[64], msg[160];
		inet_ntop(a.family, a.addr, text, sizeof(text));
		snprintf(msg, sizeof(msg), "ADDR %s %d %s/%d", add ? "add" : "del", a.ifindex, text, a.plen);
		tell(o, msg);
		broadcast_addr(&a, req->nlmsg_type, req);
	}
	if (err || (req->nlmsg_flags & NLM_F_ACK))
		put_error(o, req, err);
}

/* Route and nexthop programming: forwarded to the controller as text, a line each (tell), as long as the
 * route's nexthops make it (text grows; no cut). */
struct text {
	char *p;
	size_t len, cap;
};

static void add(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(struct text *t, const char *fmt, ...)
{
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(t->p ? t->p + t->len : NULL, t->p ? t->cap - t->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if (t->p && t->len + n < t->cap) {
			t->len += n;
			return;
		}
		size_t cap = t->cap ? t->cap : 256;
		while (cap <= t->len + n)
			cap *= 2;
		char *more = realloc(t->p, cap);
		if (!more)
			rf_fatal("no memory for a netlink change's text");
		t->p = more;
		t->cap = cap;
	}
}

static void route_change(struct out *o, const struct nlmsghdr *req)
{
	const struct rtmsg *rtm = NLMSG_DATA(req);
	char dst[64] = "", gw[64] = "";
	long oif = 0, metric = 0, nhid = 0, table = rtm->rtm_table;
	int rem = req->nlmsg_len - NLMSG_LENGTH(sizeof(*rtm));
	struct text mp = {0};
	for (struct rtattr *rta = RTM_RTA(rtm); RTA_OK(rta, rem); rta = RTA_NEXT(rta, rem)) {
		switch (rta->rta_type & NLA_TYPE_MASK) {
		case RTA_DST:
			inet_ntop(rtm->rtm_family, RTA_DATA(rta), dst, sizeof(dst));
			break;
		case RTA_GATEWAY:
			inet_ntop(rtm->rtm_family, RTA_DATA(rta), gw, sizeof(gw));
			break;
		case RTA_VIA: {
			const struct rtvia *via = RTA_DATA(rta);
			inet_ntop(via->rtvia_family, via->rtvia_addr, gw, sizeof(gw));
			break;
		}
		case RTA_OIF:
			oif = *(uint32_t *)RTA_DATA(rta);
			break;
		case RTA_PRIORITY:
			metric = *(uint32_t *)RTA_DATA(rta);
			break;
		case RTA_TABLE:
			table = *(uint32_t *)RTA_DATA(rta);
			break;
		case RTA_NH_ID:
			nhid = *(uint32_t *)RTA_DATA(rta);
			break;
		case RTA_MULTIPATH: {
			struct rtnexthop *rtnh = RTA_DATA(rta);
			int left = RTA_PAYLOAD(rta);
			while (left >= (int)sizeof(*rtnh) && rtnh->rtnh_len >= sizeof(*rtnh) && rtnh->rtnh_len <= left) {
				char g[64] = "-";
				int sub = rtnh->rtnh_len - sizeof(*rtnh);
				for (struct rtattr *a = RTNH_DATA(rtnh); RTA_OK(a, sub); a = RTA_NEXT(a, sub)) {
					int t = a->rta_type & NLA_TYPE_MASK;
					if (t == RTA_GATEWAY)
						inet_ntop(rtm->rtm_family, RTA_DATA(a), g, sizeof(g));
					else if (t == RTA_VIA) {
						const struct rtvia *via = RTA_DATA(a);
						inet_ntop(via->rtvia_family, via->rtvia_addr, g, sizeof(g));
					}
				}
				add(&mp, " nh=%s@%ld", g, (long)rtnh->rtnh_ifindex);
				left -= RTNH_ALIGN(rtnh->rtnh_len);
				rtnh = RTNH_NEXT(rtnh);
			}
			break;
		}
		}
	}
	if (!dst[0])
		inet_ntop(rtm->rtm_family, rtm->rtm_family == AF_INET ? (const void *)"\0\0\0\0" : &in6addr_any, dst,
			  sizeof(dst));
	struct text msg = {0};
	add(&msg, "RT %s %s/%d table=%ld proto=%d type=%d metric=%ld nhid=%ld",
	    req->nlmsg_type == RTM_NEWROUTE ? "add" : "del", dst, rtm->rtm_dst_len, table, rtm->rtm_protocol,
	    rtm->rtm_type, metric, nhid);
	if (gw[0] || oif)
		add(&msg, " nh=%s@%ld", gw[0] ? gw : "-", oif);
	if (mp.len)
		add(&msg, "%s", mp.p);
	tell(o, msg.p);
	free(msg.p);
	free(mp.p);
}

static void nexthop_change(struct out *o, const struct nlmsghdr *req)
{
	const struct nhmsg *nhm = NLMSG_DATA(req);
	char gw[64] = "-";
	struct text grp = {0};
	long id = 0, oif = 0;
	int blackhole = 0;
	int rem = req->nlmsg_len - NLMSG_LENGTH(sizeof(*nhm));
	for (struct rtattr *rta = (struct rtattr *)((char *)nhm + NLMSG_ALIGN(sizeof(*nhm))); RTA_OK(rta, rem);
	     rta = RTA_NEXT(rta, rem)) {
		switch (rta->rta_type & NLA_TYPE_MASK) {
		case NHA_ID:
			id = *(uint32_t *)RTA_DATA(rta);
			break;
		case NHA_OIF:
			oif = *(uint32_t *)RTA_DATA(rta);
			break;
		case NHA_GATEWAY:
			inet_ntop(RTA_PAYLOAD(rta) == 4 ? AF_INET : AF_INET6, RTA_DATA(rta), gw, sizeof(gw));
			break;
		case NHA_BLACKHOLE:
			blackhole = 1;
			break;
		case NHA_GROUP: {
			const struct nexthop_grp *g = RTA_DATA(rta);
			int count = RTA_PAYLOAD(rta) / sizeof(*g);
			for (int k = 0; k < count; k++)
				add(&grp, "%s%u", k ? "," : "", g[k].id);
			break;
		}
		}
	}
	struct text msg = {0};
	add(&msg, "NH %s id=%ld gw=%s oif=%ld blackhole=%d group=%s", req->nlmsg_type == RTM_NEWNEXTHOP ? "add" : "del",
	    id, gw, oif, blackhole, grp.len ? grp.p : "-");
	tell(o, msg.p);
	free(msg.p);
	free(grp.p);
}

static void handle(struct out *o, const struct nlmsghdr *req)
{
	int dump = (req->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;
	switch (req->nlmsg_type) {
	case RTM_GETLINK:
		if (dump) {
			dump_links(o, req);
			return;
		}
		break;
	case RTM_GETADDR:
		if (dump) {
			dump_addrs(o, req);
			return;
		}
		break;
	case RTM_GETROUTE: case RTM_GETRULE: case RTM_GETNETCONF: case RTM_GETNEXTHOP: case RTM_GETNEIGH:
	case RTM_GETQDISC: case RTM_GETTCLASS: case RTM_GETTFILTER: case RTM_GETMDB: case RTM_GETNSID:
	case RTM_GETCHAIN: case RTM_GETTUNNEL: case RTM_GETVLAN: case RTM_GETSTATS:
		if (dump) {
			/* zebra needs links and addresses only; every other dump is answered empty. */
			put_done(o, req->nlmsg_seq);
			return;
		}
		break;
	case RTM_NEWADDR: case RTM_DELADDR:
		addr_change(o, req);
		return;
	case RTM_NEWROUTE: case RTM_DELROUTE:
		route_change(o, req);
		if (req->nlmsg_flags & NLM_F_ACK)
			put_error(o, req, 0);
		return;
	case RTM_NEWNEXTHOP: case RTM_DELNEXTHOP:
		nexthop_change(o, req);
		if (req->nlmsg_flags & NLM_F_ACK)
			put_error(o, req, 0);
		return;
	case RTM_NEWNEIGH: case RTM_DELNEIGH: case RTM_NEWRULE: case RTM_DELRULE:
		/* No neighbour table and no policy routing in the emulation: accepted, and nothing else. */
		if (req->nlmsg_flags & NLM_F_ACK)
			put_error(o, req, 0);
		return;
	}
	rf_log("netlink request type %d flags 0x%x is not emulated", req->nlmsg_type, req->nlmsg_flags);
	put_error(o, req, EOPNOTSUPP);
}

int rf_nl_socket(int type, int protocol)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	if (type & SOCK_NONBLOCK)
		fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
	if (!(type & SOCK_CLOEXEC))
		fcntl(sv[0], F_SETFD, 0);
	int big = 4 << 20;
	rf_real.setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	rf_real.setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	/* Our end must never block the daemon's thread; its number stays out of the daemon's low range. */
	int high = fcntl(sv[1], F_DUPFD_CLOEXEC, 1000);
	if (high >= 0) {
		rf_real.close(sv[1]);
		sv[1] = high;
	}
	fcntl(sv[1], F_SETFL, fcntl(sv[1], F_GETFL) | O_NONBLOCK);
	struct rf_sock *s = rf_new(sv[0], RF_NETLINK);
	if (!s) {
		rf_real.close(sv[0]);
		rf_real.close(sv[1]);
		errno = EMFILE;
		return -1;
	}
	s->family = AF_NETLINK;
	s->type = SOCK_RAW;
	s->protocol = protocol;
	s->nl_peer = sv[1];
	pthread_mutex_lock(&nl_lock);
	if (nl_count == nl_cap) {
		int cap = nl_cap ? 2 * nl_cap : 16;
		int *more = realloc(nl_fds, cap * sizeof(*more));
		if (!more) {
			pthread_mutex_unlock(&nl_lock);
			rf_forget(sv[0]);
			rf_real.close(sv[0]);
			rf_real.close(sv[1]);
			errno = ENOMEM;
			return -1;
		}
		nl_fds = more;
		nl_cap = cap;
	}
	/* As the kernel does: the first socket gets the process id, later ones other ids, unique in the process. */
	s->nl_pid = nl_count == 0 ? (uint32_t)getpid() : (uint32_t)(-(int)(getpid() * 64 + nl_count));
	nl_fds[nl_count++] = sv[0];
	pthread_mutex_unlock(&nl_lock);
	return sv[0];
}

int rf_nl_bind(struct rf_sock *s, const struct sockaddr *addr, socklen_t len)
{
	if (len >= sizeof(struct sockaddr_nl)) {
		const struct sockaddr_nl *nl = (const void *)addr;
		s->nl_groups |= nl->nl_groups;
	}
	return 0;
}

ssize_t rf_nl_send(struct rf_sock *s, const void *buf, size_t len)
{
	static struct out o; /* zebra's netlink traffic is serialised per socket; one buffer under a lock */
	pthread_mutex_lock(&nl_send_lock);
	o.s = s;
	o.len = 0;
	int rem = (int)len;
	for (const struct nlmsghdr *h = buf; rem >= (int)NLMSG_HDRLEN && h->nlmsg_len >= NLMSG_HDRLEN &&
					     (int)h->nlmsg_len <= rem;
	     h = NLMSG_NEXT(h, rem)) {
		if (h->nlmsg_flags & NLM_F_REQUEST)
			handle(&o, h);
	}
	tell_flush(&o); /* the controller knows of the change before zebra reads its acknowledgement */
	out_flush(&o);
	pthread_mutex_unlock(&nl_send_lock);
	return (ssize_t)len;
}

void rf_nl_fix_source(struct sockaddr *addr, socklen_t *len)
{
	if (!addr || !len)
		return;
	struct sockaddr_nl nl = {.nl_family = AF_NETLINK, .nl_pid = 0, .nl_groups = 0};
	memcpy(addr, &nl, *len < sizeof(nl) ? *len : sizeof(nl));
	*len = sizeof(nl);
}

int rf_nl_setsockopt(struct rf_sock *s, int level, int name, const void *val, socklen_t len)
{
	if (level == SOL_NETLINK) {
		int v = len >= sizeof(int) ? *(const int *)val : 0;
		if (name == NETLINK_ADD_MEMBERSHIP && v >= 1 && v <= 64)
			s->nl_groups |= 1ULL << (v - 1);
		else if (name == NETLINK_DROP_MEMBERSHIP && v >= 1 && v <= 64)
			s->nl_groups &= ~(1ULL << (v - 1));
		else if (name == NETLINK_EXT_ACK)
			s->nl_ext_ack = v;
		else if (name == NETLINK_CAP_ACK)
			s->nl_cap_ack = v;
	}
	/* Buffer sizes and the BPF filter are accepted: we never echo zebra's own route changes anyway. */
	return 0;
}

int rf_nl_getsockopt(struct rf_sock *s, int level, int name, void *val, socklen_t *len)
{
	int v = 0;
	if (level == SOL_SOCKET && (name == SO_RCVBUF || name == SO_SNDBUF))
		v = 8 << 20;
	else if (level == SOL_SOCKET && name == SO_TYPE)
		v = SOCK_RAW;
	else if (level == SOL_SOCKET && name == SO_PROTOCOL)
		v = s->protocol;
	if (*len >= sizeof(int)) {
		memcpy(val, &v, sizeof(int));
		*len = sizeof(int);
	}
	return 0;
}

int rf_nl_getsockname(struct rf_sock *s, struct sockaddr *addr, socklen_t *len)
{
	struct sockaddr_nl nl = {.nl_family = AF_NETLINK, .nl_pid = s->nl_pid, .nl_groups = (uint32_t)s->nl_groups};
	memcpy(addr, &nl, *len < sizeof(nl) ? *len : sizeof(nl));
	*len = sizeof(nl);
	return 0;
}

void rf_nl_close(struct rf_sock *s)
{
	if (s->nl_peer >= 0)
		rf_real.close(s->nl_peer);
	s->nl_peer = -1;
}

/* In a zygote's child: a pair of its own in place of the one it shares with the zygote and its siblings (a reply
 * written there could be read by any of them). Same descriptor numbers, flags and buffer sizes. */
void rf_nl_refork(int fd, struct rf_sock *s)
{
	int sv[2];
	if (s->nl_peer < 0 || socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) < 0)
		return;
	int big = 4 << 20;
	rf_real.setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	rf_real.setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	if (rf_replace_fd(fd, sv[0]) < 0 || rf_replace_fd(s->nl_peer, sv[1]) < 0) {
		rf_log("cannot remake netlink socket %d: %s", fd, strerror(errno));
		abort();
	}
}

/* In a zygote's child: the router's interfaces reach zebra as hot-plugged ones do, an RTM_NEWLINK event each on
 * the sockets that listen for links, and their link-local addresses an RTM_NEWADDR each on those that listen for
 * IPv6 addresses. The zygote dumped only its own table (lo, which every router has alike). */
static int links_unread; /* sockets that have not read the links announced: the addresses wait */

void rf_nl_announce_links(void)
{
	pthread_mutex_lock(&nl_lock);
	for (int k = 0; k < nl_count; k++) {
		struct rf_sock *t = rf_get(nl_fds[k]);
		if (!t || t->kind != RF_NETLINK || !(t->nl_groups & (1ULL << (RTNLGRP_LINK - 1))))
			continue;
		static struct out o;
		o.s = t;
		o.len = 0;
		o.event = 1;
		struct rf_if i;
		for (int n = 0; rf_if_get(n, &i) == 0; n++) {
			if (strcmp(i.name, "lo") == 0)
				continue;
			put_link(&o, &i, 0, 0, RTM_NEWLINK);
		}
		out_flush(&o);
		__atomic_store_n(&t->nl_unread_links, 1, __ATOMIC_RELAXED); /* read unlocked (rf_nl_after_read) */
		links_unread++;
	}
	pthread_mutex_unlock(&nl_lock);
}

/* After a read, once every socket the links were announced on has read them: the addresses the kernel puts on
 * the interfaces itself (IPv6 link-local), to the sockets that listen for IPv6 addresses. Not together with the
 * links: zebra reads links on two sockets, in two threads, and addresses on its dataplane socket; an address
 * whose interface its main thread has not seen yet is dropped. (A kernel's link-local address also comes after
 * its link, once duplicate address detection is done.) */
void rf_nl_after_read(struct rf_sock *s)
{
	if (!__atomic_load_n(&s->nl_unread_links, __ATOMIC_RELAXED))
		return;
	pthread_mutex_lock(&nl_lock);
	int last = s->nl_unread_links && --links_unread == 0;
	__atomic_store_n(&s->nl_unread_links, 0, __ATOMIC_RELAXED);
	struct rf_ifaddr *a = last ? malloc(RF_MAX_ADDR * sizeof(*a)) : NULL;
	if (a) {
		int na = rf_addr_snapshot(a, RF_MAX_ADDR);
		for (int k = 0; k < nl_count; k++) {
			struct rf_sock *t = rf_get(nl_fds[k]);
			if (!t || t->kind != RF_NETLINK || !(t->nl_groups & (1ULL << (RTNLGRP_IPV6_IFADDR - 1))))
				continue;
			static struct out o;
			o.s = t;
			o.len = 0;
			o.event = 1;
			for (int j = 0; j < na; j++)
				if (a[j].family == AF_INET6 && a[j].ifindex != 1)
					put_addr(&o, &a[j], 0, 0, RTM_NEWADDR);
			out_flush(&o);
		}
		free(a);
	} else if (last) {
		rf_log("no memory to announce the link-local addresses");
	}
	pthread_mutex_unlock(&nl_lock);
}
