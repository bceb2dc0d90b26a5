/* Initialisation, the descriptor table, logging and the control channel to the realfish controller. */
#include "libreal.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

struct rf_real rf_real;

static pthread_once_t once = PTHREAD_ONCE_INIT;
int rf_ready;                /* set once rf_init is done (RF_INIT's fast path) */
static __thread int in_init; /* this thread runs do_init: hooks it calls must not wait for it */
static int active;
static int ctl_fd = -1;
static pthread_mutex_t ctl_lock = PTHREAD_MUTEX_INITIALIZER;
static char router[64] = "?", daemon_name[32] = "?";
static struct rf_sock *table[RF_MAX_FD];
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;

/* The table of real functions: name, symbol version (dlvsym) or NULL, and how to take a missing one. */
enum { REQUIRED, OPTIONAL, VERSION_OR_ANY };
static const struct {
	const char *name, *version;
	size_t offset;
	int how;
} symbols[] = {
#define SYM(n) {#n, NULL, offsetof(struct rf_real, n), REQUIRED}
#define VSYM(n, v, how) {#n, v, offsetof(struct rf_real, n), how}
#define OPT(n) {#n, NULL, offsetof(struct rf_real, n), OPTIONAL}
	SYM(socket), SYM(bind), SYM(listen), SYM(connect), SYM(accept), SYM(accept4), SYM(getsockname),
	SYM(getpeername), SYM(setsockopt), SYM(getsockopt), SYM(close), SYM(send), SYM(sendto), SYM(sendmsg),
	SYM(recv), SYM(recvfrom), SYM(recvmsg), SYM(ioctl), SYM(getaddrinfo), SYM(read), SYM(write), SYM(writev),
	SYM(pipe2), SYM(uname), SYM(gethostname), SYM(syscall), SYM(clock_gettime), SYM(gettimeofday), SYM(ppoll),
	SYM(epoll_wait),
	/* The condition functions of the current ABI (2.3.2): an unversioned lookup may give the old one. */
	VSYM(pthread_cond_timedwait, "GLIBC_2.3.2", REQUIRED), VSYM(pthread_cond_wait, "GLIBC_2.3.2", REQUIRED),
	VSYM(pthread_cond_signal, "GLIBC_2.3.2", REQUIRED), VSYM(pthread_cond_broadcast, "GLIBC_2.3.2", REQUIRED),
	VSYM(pthread_cond_init, "GLIBC_2.3.2", REQUIRED), VSYM(pthread_cond_destroy, "GLIBC_2.3.2", REQUIRED),
	VSYM(pthread_create, "GLIBC_2.34", VERSION_OR_ANY), /* libc's own since 2.34, libpthread's before */
	OPT(frr_preinit), OPT(frr_config_fork), OPT(ringbuf_wipe), OPT(ringbuf_reset),
#undef SYM
#undef VSYM
#undef OPT
};

static void load_symbols(void)
{
	Dl_info self;
	if (!dladdr((void *)load_symbols, &self))
		self.dli_fbase = NULL;
	for (size_t i = 0; i < sizeof(symbols) / sizeof(symbols[0]); i++) {
		void *p = symbols[i].version ? dlvsym(RTLD_NEXT, symbols[i].name, symbols[i].version) : NULL;
		if (!p && (!symbols[i].version || symbols[i].how == VERSION_OR_ANY))
			p = dlsym(RTLD_NEXT, symbols[i].name);
		if (!p && symbols[i].how != OPTIONAL) {
			fprintf(stderr, "libreal: cannot resolve libc's %s%s%s\n", symbols[i].name,
				symbols[i].version ? "@" : "", symbols[i].version ? symbols[i].version : "");
			abort();
		}
		Dl_info where;
		if (p && self.dli_fbase && dladdr(p, &where) && where.dli_fbase == self.dli_fbase) {
			/* our own hook: calling it would recurse forever */
			fprintf(stderr, "libreal: %s resolves to libreal itself, not libc\n", symbols[i].name);
			abort();
		}
		memcpy((char *)&rf_real + symbols[i].offset, &p, sizeof(p));
	}
}

void *rf_need(void *fn, const char *name)
{
	if (!fn)
		rf_fatal("the real %s is missing (libreal found no library defining it)", name);
	return fn;
}

static void hello(int proc);

static void ctl_connect(const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sun.sun_path)) {
		rf_log("control socket path too long: %s", path);
		abort();
	}
	strcpy(sun.sun_path, path);
	ctl_fd = rf_real.socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (ctl_fd < 0 || rf_real.connect(ctl_fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		rf_log("cannot reach the realfish controller at %s: %s", path, strerror(errno));
		abort();
	}
	/* Keep the control fd away from the low numbers daemons like to reuse. */
	int high = fcntl(ctl_fd, F_DUPFD_CLOEXEC, 1000);
	if (high >= 0) {
		rf_real.close(ctl_fd);
		ctl_fd = high;
	}
}

static void do_init(void)
{
	in_init = 1;
	load_symbols(); /* first: whatever do_init calls may be a hook (close, write) */
	rf_atfork_register();
	const char *ctl = getenv("REALFISH_CONTROL");
	if (!ctl || !*ctl) {
		in_init = 0;
		return;
	}
	const char *r = getenv("REALFISH_ROUTER"), *d = getenv("REALFISH_DAEMON");
	snprintf(router, sizeof(router), "%s", r ? r : "?");
	snprintf(daemon_name, sizeof(daemon_name), "%s", d ? d : "?");
	const char *ift = getenv("REALFISH_IFTABLE");
	if (!ift || rf_iftable_load(ift) < 0) {
		rf_log("cannot load the interface table %s", ift ? ift : "(REALFISH_IFTABLE unset)");
		abort();
	}
	ctl_connect(ctl);
	active = 1;
	hello(rf_vt_attach());
	rf_record_open();
	in_init = 0;
}

static void hello(int proc)
{
	char msg[160];
	snprintf(msg, sizeof(msg), "HELLO %s %s %d %d", router, daemon_name, (int)getpid(), proc);
	char resp[64];
	if (rf_ctl_request(msg, resp, sizeof(resp), NULL) < 0 || strncmp(resp, "OK", 2) != 0) {
		rf_log("controller refused HELLO: %s", resp);
		abort();
	}
}

/* A child of a zygote (zygote.c) becomes ROUTER's daemon: its interface table, a control channel and a clock
 * entry of its own (the zygote's are the zygote's), then the same HELLO as a daemon started on its own. */
void rf_become(const char *r, const char *iftable)
{
	snprintf(router, sizeof(router), "%s", r);
	rf_iftable_reset();
	if (rf_iftable_load(iftable) < 0) {
		rf_log("cannot load the interface table %s", iftable);
		abort();
	}
	rf_real.close(ctl_fd);
	ctl_fd = -1;
	ctl_connect(getenv("REALFISH_CONTROL"));
	hello(rf_vt_fork_child());
}

/* Every emulated descriptor, for a forked child that must remake what it inherited. */
void rf_each_sock(void (*fn)(int fd, struct rf_sock *s))
{
	for (int fd = 0; fd < RF_MAX_FD; fd++) {
		struct rf_sock *s = rf_get(fd);
		if (s)
			fn(fd, s);
	}
}

void rf_init(void)
{
	if (in_init)
		return; /* a hook do_init called: the table is loaded, and do_init goes on after it */
	pthread_once(&once, do_init);
	__atomic_store_n(&rf_ready, 1, __ATOMIC_RELEASE);
}

__attribute__((constructor)) static void libreal_ctor(void)
{
	rf_init();
}

int rf_ctl_fd(void)
{
	return ctl_fd;
}

int rf_active(void)
{
	RF_INIT();
	return active;
}

const char *rf_router(void)
{
	return router;
}

const char *rf_daemon(void)
{
	return daemon_name;
}

static void vlog(const char *what, const char *fmt, va_list ap)
{
	char buf[512];
	int n = snprintf(buf, sizeof(buf), "realfish[%s/%s]: %s", router, daemon_name, what);
	n += vsnprintf(buf + n, sizeof(buf) - n - 1, fmt, ap);
	if (n > (int)sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	ssize_t w = write(2, buf, n);
	(void)w;
}

void rf_log(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog("", fmt, ap);
	va_end(ap);
}

void rf_fatal(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog("fatal: ", fmt, ap);
	va_end(ap);
	abort();
}

/* Lock-free: a slot, once made, is never freed nor moved, and its md5 buffer, once allocated, stays with it
 * (rf_new), so a lookup racing a close and a reuse of the number in another thread reads stale fields at worst,
 * never freed memory. */
struct rf_sock *rf_get(int fd)
{
	if (fd < 0 || fd >= RF_MAX_FD)
		return NULL;
	struct rf_sock *s = __atomic_load_n(&table[fd], __ATOMIC_ACQUIRE);
	return (s && __atomic_load_n(&s->kind, __ATOMIC_ACQUIRE) != RF_NONE) ? s : NULL;
}

struct rf_sock *rf_new(int fd, enum rf_kind kind)
{
	if (fd < 0 || fd >= RF_MAX_FD) {
		rf_log("descriptor %d is beyond the emulation's table", fd);
		return NULL;
	}
	pthread_mutex_lock(&table_lock);
	struct rf_sock *s = table[fd];
	if (!s) {
		s = calloc(1, sizeof(*s));
		if (!s) {
			pthread_mutex_unlock(&table_lock);
			return NULL;
		}
	}
	/* Reset by copying a fresh one over it: md5 is written back with the value it had, never NULL in between */
	struct rf_sock fresh = {.kind = RF_NONE, .ttl = 64, .nl_peer = -1, .id = -1, .sndbuf = 16384,
				.rcvbuf = 131072, .md5 = s->md5, .md5cap = s->md5cap};
	__atomic_store_n(&s->kind, RF_NONE, __ATOMIC_RELEASE);
	memcpy(s, &fresh, sizeof(*s));
	__atomic_store_n(&s->kind, kind, __ATOMIC_RELEASE);
	__atomic_store_n(&table[fd], s, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&table_lock);
	return s;
}

void rf_forget(int fd)
{
	if (fd < 0 || fd >= RF_MAX_FD)
		return;
	pthread_mutex_lock(&table_lock);
	if (table[fd])
		__atomic_store_n(&table[fd]->kind, RF_NONE, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&table_lock);
}

/* fork: see libreal.h. The order is the order the code nests them in: a module's locks before the control
 * channel's (netlink and raw send to the controller while they hold theirs), the descriptor table's last. */
void rf_fork_locks(enum rf_fork_phase phase, pthread_mutex_t *const *locks, int n)
{
	for (int i = 0; i < n; i++) {
		if (phase == RF_FORK_PREPARE)
			pthread_mutex_lock(locks[i]);
		else if (phase == RF_FORK_PARENT)
			pthread_mutex_unlock(locks[i]);
		else
			pthread_mutex_init(locks[i], NULL); /* the child's only thread owns nothing */
	}
}

static void fork_phase(enum rf_fork_phase phase)
{
	static pthread_mutex_t *const ours[] = {&ctl_lock, &table_lock};
	rf_nl_fork(phase);
	rf_raw6_fork(phase);
	rf_raw_fork(phase);
	rf_iftable_fork(phase);
	rf_track_fork(phase);
	rf_vt_fork(phase);
	rf_fork_locks(phase, ours, 2);
}

static void fork_prepare(void)
{
	fork_phase(RF_FORK_PREPARE);
}

static void fork_parent(void)
{
	fork_phase(RF_FORK_PARENT);
}

static void fork_child(void)
{
	fork_phase(RF_FORK_CHILD);
}

void rf_atfork_register(void)
{
	if (pthread_atfork(fork_prepare, fork_parent, fork_child) != 0) {
		fprintf(stderr, "libreal: pthread_atfork failed\n");
		abort();
	}
}

/* Put newfd in fd's place, keeping fd's number, O_NONBLOCK and close-on-exec; newfd is consumed. */
int rf_replace_fd(int fd, int newfd)
{
	int fl = fcntl(fd, F_GETFL);
	int fdfl = fcntl(fd, F_GETFD);
	if (dup3(newfd, fd, (fdfl >= 0 && (fdfl & FD_CLOEXEC)) ? O_CLOEXEC : 0) < 0) {
		int e = errno;
		rf_real.close(newfd);
		errno = e;
		return -1;
	}
	rf_real.close(newfd);
	if (fl >= 0)
		fcntl(fd, F_SETFL, fl & O_NONBLOCK);
	return 0;
}

static ssize_t ctl_sendmsg(const char *msg, int fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = {.iov_base = (void *)msg, .iov_len = strlen(msg)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	if (fd >= 0) {
		mh.msg_control = cbuf.buf;
		mh.msg_controllen = sizeof(cbuf.buf);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	/* Counted before it leaves, so the scheduler never sees the network idle while it is unprocessed. */
	rf_vt_msg_sent();
	ssize_t n = rf_real.sendmsg(ctl_fd, &mh, MSG_NOSIGNAL);
	if (n < 0)
		rf_vt_msg_unsent();
	return n;
}

int rf_ctl_send_fd(const char *msg, int fd)
{
	if (ctl_fd < 0)
		return -1;
	pthread_mutex_lock(&ctl_lock);
	ssize_t n = ctl_sendmsg(msg, fd);
	pthread_mutex_unlock(&ctl_lock);
	return n < 0 ? -1 : 0;
}

int rf_ctl_send(const char *msg)
{
	return rf_ctl_send_fd(msg, -1);
}

int rf_ctl_request(const char *req, char *resp, size_t resplen, int *fd_out)
{
	if (fd_out)
		*fd_out = -1;
	resp[0] = 0;
	if (ctl_fd < 0) {
		errno = EIO;
		return -1;
	}
	pthread_mutex_lock(&ctl_lock);
	ssize_t n = ctl_sendmsg(req, -1);
	if (n < 0) {
		int e = errno;
		pthread_mutex_unlock(&ctl_lock);
		rf_log("controller unreachable (%s) for: %s", strerror(e), req);
		errno = EIO;
		return -1;
	}
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = {.iov_base = resp, .iov_len = resplen - 1};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf.buf,
			    .msg_controllen = sizeof(cbuf.buf)};
	do {
		n = rf_real.recvmsg(ctl_fd, &mh, MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	pthread_mutex_unlock(&ctl_lock);
	if (n <= 0) {
		rf_log("controller closed the channel during: %s", req);
		errno = EIO;
		return -1;
	}
	resp[n] = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			int fd;
			memcpy(&fd, CMSG_DATA(c), sizeof(int));
			if (fd_out)
				*fd_out = fd;
			else
				rf_real.close(fd);
		}
	}
	return 0;
}

int rf_sockaddr_str(const struct sockaddr *sa, char *buf, size_t len, int *port)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;
		inet_ntop(AF_INET, &in->sin_addr, buf, len);
		*port = ntohs(in->sin_port);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;
		inet_ntop(AF_INET6, &in6->sin6_addr, buf, len);
		if (in6->sin6_scope_id && IN6_IS_ADDR_LINKLOCAL(&in6->sin6_addr)) { /* which link: fe80::1%IFINDEX */
			size_t n = strlen(buf);
			snprintf(buf + n, len - n, "%%%u", in6->sin6_scope_id);
		}
		*port = ntohs(in6->sin6_port);
		return 0;
	}
	errno = EAFNOSUPPORT;
	return -1;
}

int rf_parse_sockaddr(int family, const char *addr, int port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *in = (void *)ss;
		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		return inet_pton(AF_INET, addr, &in->sin_addr) == 1 ? 0 : -1;
	}
	struct sockaddr_in6 *in6 = (void *)ss;
	in6->sin6_family = AF_INET6;
	in6->sin6_port = htons(port);
	char plain[INET6_ADDRSTRLEN];
	const char *pct = strchr(addr, '%');
	if (pct) { /* a link-local address names its link (ifindex) */
		snprintf(plain, sizeof(plain), "%.*s", (int)(pct - addr), addr);
		in6->sin6_scope_id = (uint32_t)strtoul(pct + 1, NULL, 10);
		addr = plain;
	}
	return inet_pton(AF_INET6, addr, &in6->sin6_addr) == 1 ? 0 : -1;
}

void rf_hex(const uint8_t *data, int len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (int i = 0; i < len; i++) {
		out[2 * i] = digits[data[i] >> 4];
		out[2 * i + 1] = digits[data[i] & 15];
	}
	out[2 * len] = 0;
}
