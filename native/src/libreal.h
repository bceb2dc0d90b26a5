/*
 * libreal: the interposition library that lets unmodified FRR daemons run side by side on one host with no
 * namespaces. Loaded with LD_PRELOAD into every daemon of an emulated router; inactive (every call passes
 * through) unless REALFISH_CONTROL is set.
 *
 * Every hook starts with RF_INIT() (the real functions' table loaded, libreal initialised: a hook may run
 * before libreal's constructor, from another library's) and calls the real function through rf_real, the one
 * table core.c fills once. pthread_atfork (core.c) takes every libreal lock around a fork: zygotes fork routers.
 *
 * What it intercepts, and why:
 *   socket            AF_INET/AF_INET6 stream -> emulated TCP (a placeholder AF_UNIX socket until connected);
 *                     AF_NETLINK/NETLINK_ROUTE -> emulated netlink (an AF_UNIX datagram pair we answer into);
 *                     AF_INET/AF_INET6 datagram -> inert (zebra's ethtool ioctl socket, answered from the table);
 *                     AF_INET raw (ospfd's IPPROTO_OSPF) -> emulated raw IP (raw.c): an AF_UNIX datagram inbox
 *                     the controller made; packets go daemon to daemon over each interface's L2 segment;
 *                     AF_INET6 raw, any protocol (zebra's IPPROTO_ICMPV6 router advertisements, which BGP
 *                     unnumbered needs; ospf6d's IPPROTO_OSPFIGP, OSPFv3) -> emulated raw IPv6 (raw6.c) over
 *                     the same inboxes (keyed 256 + protocol: ospfd and ospf6d are both 89), opened at first
 *                     use when made before the process is a router's (zebra makes its own in its zygote);
 *                     anything else that would reach the host network -> refused, with a log line.
 *   bind listen       emulated TCP: addresses and listeners are registered with the controller (broker).
 *   connect           emulated TCP: the broker decides (reachability over the emulated FIBs) and hands back one
 *                     end of an AF_UNIX stream socketpair (SCM_RIGHTS); bytes then flow daemon to daemon.
 *   accept accept4    emulated TCP: the broker delivers the other end on the listener's channel.
 *   getsockname getpeername   the routers' IP addresses, not the AF_UNIX ones; a link-local one with its scope
 *                     (the interface), which bgpd needs to match an unnumbered peer and pick its next hop.
 *   setsockopt getsockopt     TTL, MINTTL, TOS, MD5SIG, REUSE*, V6ONLY, TCP_INFO, BINDTODEVICE, SO_ERROR, ...;
 *                     raw IPv4: IP_PKTINFO, IP_HDRINCL, multicast groups, loop, TTL and interface; raw IPv6:
 *                     IPV6_JOIN/LEAVE_GROUP, IPV6_RECVPKTINFO, IPV6_RECVHOPLIMIT, IPV6_CHECKSUM, IPV6_TCLASS,
 *                     hop limits, IPV6_MULTICAST_LOOP/IF, ICMP6_FILTER: kept per socket, applied by sendmsg and
 *                     recvmsg as the kernel applies them.
 *   close             tell the broker a listener or connection is gone; free our state.
 *   send sendto sendmsg       raw IP: the packet, its IP header completed as the kernel does, to every member of
 *                     the outgoing interface's segment (raw IPv6: from IPV6_PKTINFO's source or the interface's
 *                     link-local address, IPV6_CHECKSUM filled);
 *                     netlink requests: dumps answered from the interface table, route/nexthop/address
 *                     changes recorded as the router's emulated FIB (sent to the controller), acks.
 *   recvfrom recvmsg  netlink replies must look as if they came from the kernel (nl_pid 0); raw IP: only what the
 *                     kernel would accept (joined group, own address, MTU), with IP_PKTINFO and the source; raw
 *                     IPv6 likewise (checksum checked), with IPV6_PKTINFO and IPV6_HOPLIMIT. In a zygote's
 *                     child, once every netlink socket has read the links announced to it, the interfaces' IPv6
 *                     link-local addresses follow (netlink.c), as a kernel adds them after the link.
 *                     (zebra's recv(MSG_PEEK|MSG_TRUNC) size probe works natively on the datagram pair.)
 *   ioctl             inert sockets: no host interface is ever queried or changed. SIOCETHTOOL (zebra reads each
 *                     port's speed, ospfd's auto-cost divides by it) is answered from the router's interface
 *                     table (iftable.c), which carries the speed the device's port has.
 *   getaddrinfo       drop AI_ADDRCONFIG, which makes glibc probe the host's interfaces.
 *   uname gethostname the router's name, FRR's default hostname (sent in BGP's hostname capability).
 * With a virtual clock (clock.c, vclock.h):
 *   clock_gettime gettimeofday time     read the controller's clock (CPU-time clocks stay real).
 *   ppoll poll select epoll_wait nanosleep clock_nanosleep usleep sleep (not timerfd: FRR has none)
 *                     wait on the thread's eventfd too, with the deadline published; the controller moves
 *                     the clock and wakes the thread when nothing else can run.
 *   pthread_cond_wait pthread_cond_timedwait pthread_cond_signal pthread_cond_broadcast
 *                     bgpd's keepalive thread waits on a condition: same, through the eventfd.
 *   pthread_cond_init pthread_cond_destroy
 *                     note which conditions time their waits on CLOCK_MONOTONIC (their attribute's clock; glibc
 *                     keeps it in a private field), for pthread_cond_timedwait's deadline.
 *   pthread_create    a new thread counts as running until it first blocks.
 *   syscall           FRR's RCU thread waits with a raw futex: accounted as blocked while it waits.
 *   pipe pipe2        the read end is shown to the controller (track.c): bytes waiting on it hold the clock;
 *                     so are UNIX stream sockets a daemon connects or accepts (zserv, vty).
 *   read write writev only to record what a daemon reads from (and how its writes to) an emulated connection
 *                     went (record.c, REALFISH_RECORD).
 * With REALFISH_ZYGOTE (zygote.c: one initialised daemon per kind forks every router's):
 *   frr_preinit       (libfrr) keep FRR's daemon info, whose paths a forked child sets to its router's.
 *   frr_config_fork   (libfrr) FRR's daemonise point, after its whole initialisation and before any thread,
 *                     config or event loop: a zygote serves fork requests here; a child takes its router's
 *                     identity (zygote.c lists what it re-does) and goes on into FRR's own frr_config_fork,
 *                     which reads the child's own part of the router's config (realfish/daemon_configs.py).
 * In vtysh cutting configs per daemon (split.c, REALFISH_SPLIT; libreal otherwise inactive there):
 *   connect           to a listed daemon's vty socket: succeeds with no daemon behind it;
 *   write             a line vtysh sends there: appended to the split file, as the daemon's;
 *   recvmsg           vtysh's wait for the reply: FRR's success at once;
 *   close             forgets the descriptor.
 * Memory (memory.c):
 *   ringbuf_wipe      (libfrr) bgpd wipes each BGP peer's 655 KiB input ring at every session stop, which makes
 *                     every page resident; whole pages are given back instead (MADV_DONTNEED: they read as
 *                     zeros, as after memset), about 0.65 MiB per peer.
 * fcntl/shutdown are not intercepted: emulated sockets are real AF_UNIX sockets.
 */
#ifndef LIBREAL_H
#define LIBREAL_H

#define _GNU_SOURCE
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

#define RF_EXPORT __attribute__((visibility("default")))
#define RF_MAX_FD 65536
#define RF_RAW_MAX_MEMB 20 /* net.ipv4.igmp_max_memberships, the kernel's per-socket default */

struct addrinfo;
struct epoll_event;
struct iovec;
struct msghdr;
struct pollfd;
struct timeval;
struct utsname;

/* Every real function libreal calls past its own hooks, in one table: resolved once (core.c, the first thing
 * rf_init does, under pthread_once), each checked there; a missing one aborts naming it. libfrr's are NULL outside
 * FRR (optional): their hooks abort naming them if called without one. */
struct rf_real {
	int (*socket)(int, int, int);
	int (*bind)(int, const struct sockaddr *, socklen_t);
	int (*listen)(int, int);
	int (*connect)(int, const struct sockaddr *, socklen_t);
	int (*accept)(int, struct sockaddr *, socklen_t *);
	int (*accept4)(int, struct sockaddr *, socklen_t *, int);
	int (*getsockname)(int, struct sockaddr *, socklen_t *);
	int (*getpeername)(int, struct sockaddr *, socklen_t *);
	int (*setsockopt)(int, int, int, const void *, socklen_t);
	int (*getsockopt)(int, int, int, void *, socklen_t *);
	int (*close)(int);
	ssize_t (*send)(int, const void *, size_t, int);
	ssize_t (*sendto)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
	ssize_t (*sendmsg)(int, const struct msghdr *, int);
	ssize_t (*recv)(int, void *, size_t, int);
	ssize_t (*recvfrom)(int, void *, size_t, int, struct sockaddr *, socklen_t *);
	ssize_t (*recvmsg)(int, struct msghdr *, int);
	int (*ioctl)(int, unsigned long, void *);
	int (*getaddrinfo)(const char *, const char *, const struct addrinfo *, struct addrinfo **);
	ssize_t (*read)(int, void *, size_t);
	ssize_t (*write)(int, const void *, size_t);
	ssize_t (*writev)(int, const struct iovec *, int);
	int (*pipe2)(int[2], int);
	int (*uname)(struct utsname *);
	int (*gethostname)(char *, size_t);
	long (*syscall)(long, ...);
	/* clock.c */
	int (*clock_gettime)(clockid_t, struct timespec *);
	int (*gettimeofday)(struct timeval *, void *);
	int (*ppoll)(struct pollfd *, unsigned long, const struct timespec *, const sigset_t *);
	int (*epoll_wait)(int, struct epoll_event *, int, int);
	int (*pthread_cond_timedwait)(pthread_cond_t *, pthread_mutex_t *, const struct timespec *);
	int (*pthread_cond_wait)(pthread_cond_t *, pthread_mutex_t *);
	int (*pthread_cond_signal)(pthread_cond_t *);
	int (*pthread_cond_broadcast)(pthread_cond_t *);
	int (*pthread_cond_init)(pthread_cond_t *, const pthread_condattr_t *);
	int (*pthread_cond_destroy)(pthread_cond_t *);
	int (*pthread_create)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
	/* libfrr's (zygote.c, memory.c): optional */
	void (*frr_preinit)(void *, int, char **);
	void (*frr_config_fork)(void);
	void (*ringbuf_wipe)(void *);
	void (*ringbuf_reset)(void *);
};
extern struct rf_real rf_real;

/* The prologue of every hook: the table loaded and libreal initialised (once; a hook can run before libreal's
 * constructor, from another library's). Cheap once done: one load. */
extern int rf_ready;
void rf_init(void);
#define RF_INIT()                                                                                      \
	do {                                                                                           \
		if (__builtin_expect(!__atomic_load_n(&rf_ready, __ATOMIC_ACQUIRE), 0))                \
			rf_init();                                                                     \
	} while (0)
/* An optional real function (libfrr's) a hook needs: abort, naming it, if it is missing. */
void *rf_need(void *fn, const char *name);

enum rf_kind { RF_NONE = 0, RF_TCP, RF_NETLINK, RF_INERT, RF_RAW, RF_RAW6 };
enum rf_tcp_state { RF_T_NEW = 0, RF_T_LISTEN, RF_T_CONNECTING, RF_T_CONNECTED, RF_T_FAILED };

struct rf_md5 {
	struct sockaddr_storage addr;
	int keylen;
	uint8_t key[80];
};

/* Our state for one emulated file descriptor. Slots are never freed, only reset, so a racing lookup in
 * another thread reads stale data at worst, never freed memory. */
struct rf_sock {
	enum rf_kind kind;
	int family, type, protocol;
	/* TCP */
	enum rf_tcp_state state;
	struct sockaddr_storage local, peer;
	int bound;
	int ttl, minttl, tos, v6only, sndbuf, rcvbuf;
	int so_error;
	long id; /* listener id or connection id at the broker */
	char bindtodevice[16];
	int nmd5, md5cap;
	struct rf_md5 *md5; /* allocated when the first key is set (most sockets have none), grown as keys come;
			     * never freed (see rf_get) */
	/* netlink */
	uint32_t nl_pid;
	uint64_t nl_groups; /* bit n-1 = group n, for groups 1..64 */
	int nl_peer;        /* our end of the datagram pair: replies are written here */
	int nl_ext_ack, nl_cap_ack;
	int nl_unread_links; /* a zygote's child: links announced on it, not read yet (netlink.c) */
	/* raw IP (raw.c) */
	long raw_id;                    /* the inbox's id at the controller */
	int raw_hdrincl, raw_pktinfo;
	int raw_mc_ttl, raw_mc_loop, raw_mc_ifindex;
	int raw_ifindex;                /* SO_BINDTODEVICE, 0 = any */
	uint32_t raw_bound;             /* bind() address, network order, 0 = any */
	uint16_t raw_ip_id;
	int raw_nmemb;
	struct { int ifindex; uint32_t group; } raw_memb[RF_RAW_MAX_MEMB]; /* joined groups, network order */
};

/* split.c */
int rf_split_connect(int fd, const struct sockaddr *addr);
int rf_split_fd(int fd);
ssize_t rf_split_write(int fd, const void *data, size_t count);
ssize_t rf_split_recvmsg(int fd, struct msghdr *msg);
void rf_split_close(int fd);

/* core.c */
int rf_active(void);
int rf_ctl_fd(void);
const char *rf_router(void);
const char *rf_daemon(void);
void rf_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A problem libreal cannot go on from: logged as "realfish[ROUTER/DAEMON]: fatal: ...", which the run's report
 * gives as the daemon's cause of death (realfish/report.py death_cause), then abort(). */
void rf_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* fork (pthread_atfork, core.c): each part's locks, outer ones first, taken before a fork and released after it on
 * both sides; in the child, each part then resets what is per process. */
enum rf_fork_phase { RF_FORK_PREPARE, RF_FORK_PARENT, RF_FORK_CHILD };
void rf_atfork_register(void);
void rf_fork_locks(enum rf_fork_phase phase, pthread_mutex_t *const *locks, int n);
void rf_nl_fork(enum rf_fork_phase phase);
void rf_raw_fork(enum rf_fork_phase phase);
void rf_raw6_fork(enum rf_fork_phase phase);
void rf_iftable_fork(enum rf_fork_phase phase);
void rf_track_fork(enum rf_fork_phase phase);
void rf_vt_fork(enum rf_fork_phase phase);
struct rf_sock *rf_get(int fd);
struct rf_sock *rf_new(int fd, enum rf_kind kind);
void rf_forget(int fd);
int rf_replace_fd(int fd, int newfd);
void rf_become(const char *router, const char *iftable);
void rf_each_sock(void (*fn)(int fd, struct rf_sock *s));
/* The controller's channel; every message, its reply and its sender: docs/control-channel.md (keep it whole). */
/* One request to the controller and its reply (fd_out: a descriptor passed with it, or -1). */
int rf_ctl_request(const char *req, char *resp, size_t resplen, int *fd_out);
/* A message that needs no reply (and one carrying a descriptor). */
int rf_ctl_send(const char *msg);
int rf_ctl_send_fd(const char *msg, int fd);

/* clock.c: virtual time (see vclock.h) */
int rf_vt_attach(void);
int rf_vt_active(void);
void rf_vt_detach(void);
int rf_vt_fork_child(void);
int64_t rf_vt_now(void);
void rf_vt_msg_sent(void);
void rf_vt_msg_unsent(void);
long rf_raw_syscall(long n, long a1, long a2, long a3, long a4, long a5, long a6);
int rf_sockaddr_str(const struct sockaddr *sa, char *buf, size_t len, int *port);
int rf_parse_sockaddr(int family, const char *addr, int port, struct sockaddr_storage *ss);
void rf_hex(const uint8_t *data, int len, char *out);

/* record.c: the router's inputs, for replay (REALFISH_RECORD) */
void rf_record_open(void);
void rf_record_adopt(int fd);
int rf_recording(void);
void rf_record(char kind, long conn, const void *data, size_t len);
void rf_record_text(char kind, long conn, const char *text);
void rf_record_read(int fd, const void *buf, ssize_t n);
void rf_record_write(int fd, ssize_t n);

/* track.c: pipes and UNIX stream sockets shown to the controller (bytes on them hold the virtual clock) */
void rf_track(int fd);
void rf_untrack(int fd);
void rf_track_if_local_stream(int fd);
void rf_track_refork(void);

/* memory.c: zero private anonymous memory, whole pages given back to the kernel */
void rf_zero(void *p, size_t n);

/* zygote.c: daemons forked from an initialised image */
int rf_zygote(void); /* 1 in a zygote, until it forks */

/* iftable.c: the router's interfaces (from the run directory) and the addresses zebra installed */
struct rf_if {
	int index;
	char name[16];
	int mtu;
	uint8_t mac[6];
	unsigned flags;
	int speed; /* Mb/s, what ethtool reports; 0: no link settings (lo) */
};
struct rf_ifaddr {
	int ifindex;
	int family;
	uint8_t addr[16];
	int plen;
};
/* Limits: a table with more interfaces, or a router with more addresses, is a fatal error (rf_fatal), not a
 * silent cut. */
#define RF_MAX_IF 1024
#define RF_MAX_ADDR 4096
int rf_iftable_load(const char *path);
void rf_iftable_reset(void);
int rf_if_count(void);
int rf_if_get(int i, struct rf_if *out);
int rf_if_name(int ifindex, char *out);
int rf_addr_snapshot(struct rf_ifaddr *out, int max);
int rf_addr_update(int add, const struct rf_ifaddr *a);
/* The router's addresses as its zebra installed them, readable from every daemon of the router: the first
 * entry for which match() is true is copied to out (1), or none matches (0). */
int rf_addr_find(int (*match)(const struct rf_ifaddr *, const void *), const void *ctx, struct rf_ifaddr *out);
int rf_if_by_index(int ifindex, struct rf_if *out);
int rf_if_sending(int ifindex, struct rf_if *out);
int rf_if_by_name(const char *name, struct rf_if *out);
/* The other ends of an interface's L2 segment (router name and its ifindex there). */
struct rf_member {
	char router[64];
	int ifindex;
};
int rf_if_members(int ifindex, const struct rf_member **out);
struct ifreq;
int rf_if_ethtool(struct ifreq *ifr); /* SIOCETHTOOL on the router's interface ifr->ifr_name */

/* tcp.c */
int rf_tcp_socket(int domain, int type, int protocol);
int rf_tcp_bind(struct rf_sock *s, int fd, const struct sockaddr *addr, socklen_t len);
int rf_tcp_listen(struct rf_sock *s, int fd, int backlog);
int rf_tcp_connect(struct rf_sock *s, int fd, const struct sockaddr *addr, socklen_t len);
int rf_tcp_accept(struct rf_sock *s, int fd, struct sockaddr *addr, socklen_t *len, int flags);
int rf_tcp_setsockopt(struct rf_sock *s, int fd, int level, int name, const void *val, socklen_t len);
int rf_tcp_getsockopt(struct rf_sock *s, int fd, int level, int name, void *val, socklen_t *len);
int rf_tcp_getname(struct rf_sock *s, int peer, struct sockaddr *addr, socklen_t *len);
void rf_tcp_close(struct rf_sock *s, int fd);

/* netlink.c */
int rf_nl_socket(int type, int protocol);
int rf_nl_bind(struct rf_sock *s, const struct sockaddr *addr, socklen_t len);
ssize_t rf_nl_send(struct rf_sock *s, const void *buf, size_t len);
void rf_nl_fix_source(struct sockaddr *addr, socklen_t *len);
int rf_nl_setsockopt(struct rf_sock *s, int level, int name, const void *val, socklen_t len);
int rf_nl_getsockopt(struct rf_sock *s, int level, int name, void *val, socklen_t *len);
int rf_nl_getsockname(struct rf_sock *s, struct sockaddr *addr, socklen_t *len);
void rf_nl_close(struct rf_sock *s);
void rf_nl_refork(int fd, struct rf_sock *s);
void rf_nl_announce_links(void);
void rf_nl_after_read(struct rf_sock *s);

/* raw.c */
int rf_raw_inbox(int protocol, long *id);
int rf_raw_socket(int domain, int type, int protocol);
int rf_raw_bind(struct rf_sock *s, const struct sockaddr *addr, socklen_t len);
int rf_raw_setsockopt(struct rf_sock *s, int fd, int level, int name, const void *val, socklen_t len);
int rf_raw_getsockopt(struct rf_sock *s, int level, int name, void *val, socklen_t *len);
int rf_raw_getsockname(struct rf_sock *s, struct sockaddr *addr, socklen_t *len);
ssize_t rf_raw_sendmsg(struct rf_sock *s, const struct msghdr *msg, int flags);
ssize_t rf_raw_recvmsg(struct rf_sock *s, int fd, struct msghdr *msg, int flags);
int rf_raw_ioctl(struct rf_sock *s, int fd, unsigned long req, void *arg);
void rf_raw_close(struct rf_sock *s);
ssize_t rf_raw_read(int fd, int key, void *head, size_t headlen, struct msghdr *msg, int flags);
uint16_t rf_ip_checksum(const uint8_t *p, size_t n, uint32_t sum);
/* What an inbox holds before each packet: the arriving interface, as the receiver's. */
#define RF_RAW_MAGIC 0x52465770u /* "RFWp" */
struct rf_raw_hdr {
	uint32_t magic;
	int32_t ifindex; /* the receiver's interface the packet arrives on */
	uint32_t judged; /* already accepted (see raw.c's judge_queue) */
	uint32_t looped; /* sent by the router itself (multicast loop, broadcast, its own address) */
};
struct iovec;
void rf_raw_to_segment(int proto, int ifindex, int loop, const struct iovec *iov, int iovcnt);

/* The bytes of msg's iovecs, at most want of them, into out. */
void rf_gather(const struct msghdr *msg, uint8_t *out, size_t want);

/* raw6.c: raw IPv6 of any protocol (zebra's ICMPv6 router advertisements, ospf6d's OSPFv3), over raw.c's
 * inboxes */
int rf_raw6_socket(int type, int protocol);
int rf_raw6_setsockopt(int fd, int level, int name, const void *val, socklen_t len);
int rf_raw6_getsockopt(int fd, int level, int name, void *val, socklen_t *len);
ssize_t rf_raw6_sendmsg(int fd, const struct msghdr *msg);
ssize_t rf_raw6_recvmsg(int fd, struct msghdr *msg, int flags);
void rf_raw6_close(int fd);

#endif
