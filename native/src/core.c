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
static int active;
static int ctl_fd = -1;
static pthread_mutex_t ctl_lock = PTHREAD_MUTEX_INITIALIZER;
static char router[64] = "?", daemon_name[32] = "?";
static struct rf_sock *table[RF_MAX_FD];
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;

#define LOAD_AS(name, self)                                                                            \
	do {                                                                                           \
		*(void **)&rf_real.name = dlsym(RTLD_NEXT, #name);                                     \
		if (!rf_real.name || (rf_real.name == (void *)(self) && getenv("REALFISH_CONTROL"))) {  \
			fprintf(stderr, "libreal: cannot resolve libc's %s\n", #name);                \
			abort();                                                                       \
		}                                                                                      \
	} while (0)
#define LOAD(name) LOAD_AS(name, name)

/* Hooks are declared in sockets.c; we only need their addresses to detect self-resolution. */
extern int socket(int, int, int);
extern int bind(int, const struct sockaddr *, socklen_t);
extern int listen(int, int);
extern int connect(int, const struct sockaddr *, socklen_t);
extern int accept(int, struct sockaddr *, socklen_t *);
extern int accept4(int, struct sockaddr *, socklen_t *, int);
extern int getsockname(int, struct sockaddr *, socklen_t *);
extern int getpeername(int, struct sockaddr *, socklen_t *);
extern int setsockopt(int, int, int, const void *, socklen_t);
extern int getsockopt(int, int, int, void *, socklen_t *);
extern int close(int);
extern ssize_t send(int, const void *, size_t, int);
extern ssize_t sendto(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
extern ssize_t sendmsg(int, const struct msghdr *, int);
extern ssize_t recvfrom(int, void *, size_t, int, struct sockaddr *, socklen_t *);
extern ssize_t recvmsg(int, struct msghdr *, int);
extern int ioctl(int, unsigned long, ...);
extern int getaddrinfo(const char *, const char *, const struct addrinfo *, struct addrinfo **);

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
	LOAD(socket);
	LOAD(bind);
	LOAD(listen);
	LOAD(connect);
	LOAD(accept);
	LOAD(accept4);
	LOAD(getsockname);
	LOAD(getpeername);
	LOAD(setsockopt);
	LOAD(getsockopt);
	LOAD(close);
	LOAD(send);
	LOAD(sendto);
	LOAD(sendmsg);
	LOAD_AS(recv, NULL); /* not hooked: used to read our own channels */
	LOAD(recvfrom);
	LOAD(recvmsg);
	LOAD(ioctl);
	LOAD(getaddrinfo);
	LOAD(read);
	LOAD(write);
	LOAD(writev);

	const char *ctl = getenv("REALFISH_CONTROL");
	if (!ctl || !*ctl)
		return;
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
	pthread_once(&once, do_init);
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
	rf_init();
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

void rf_log(const char *fmt, ...)
{
	char buf[512];
	int n = snprintf(buf, sizeof(buf), "realfish[%s/%s]: ", router, daemon_name);
	va_list ap;
	va_start(ap, fmt);
	n += vsnprintf(buf + n, sizeof(buf) - n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	ssize_t w = write(2, buf, n);
	(void)w;
}

struct rf_sock *rf_get(int fd)
{
	if (fd < 0 || fd >= RF_MAX_FD)
		return NULL;
	struct rf_sock *s = __atomic_load_n(&table[fd], __ATOMIC_ACQUIRE);
	return (s && s->kind != RF_NONE) ? s : NULL;
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
	free(s->md5);
	memset(s, 0, sizeof(*s));
	s->kind = kind;
	s->ttl = 64;
	s->nl_peer = -1;
	s->id = -1;
	s->sndbuf = 16384;
	s->rcvbuf = 131072;
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
		table[fd]->kind = RF_NONE;
	pthread_mutex_unlock(&table_lock);
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
