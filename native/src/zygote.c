/*
 * zygote.c: a router's daemons forked from an initialised image instead of each starting from scratch.
 *
 * Every FRR daemon runs frr_preinit(), frr_init() (command graph, northbound/YANG modules, logging, privileges)
 * and its own initialisation, then calls frr_config_fork(), the point where FRR itself would daemonise: the
 * config is read and the event loop starts only after it, and no thread has started yet. Both functions are
 * imported from libfrr.so.0, so libreal interposes them. With REALFISH_ZYGOTE=FD (a SOCK_SEQPACKET socket the
 * runtime holds the other end of), a daemon that reaches frr_config_fork() becomes a zygote: it says
 * "READY pid" and serves
 *     FORK ROUTER RUNDIR CONFIG PATHSPACE SEED  ->  "PID pid" (or "ERR errno")
 * with the child's log file and, when the run is recorded, its recording file attached (SCM_RIGHTS): the runtime
 * opens them, since a child runs as FRR's user and may not reach where they are,
 * and reports each child that ends with "EXIT pid waitstatus cpu-microseconds". "SIGNAL pid sig" signals a child
 * (the runtime signals its routers' daemons through their parent, which knows whether the pid is still theirs). It ends when the runtime closes FD, or on
 * SIGTERM/SIGINT (it forwards neither: the runtime stops each child by its PID). A child returns from the
 * hook, as ROUTER's daemon, into FRR's own frr_config_fork(). The FRR binaries are unmodified.
 *
 * What a daemon's child re-does or puts right before FRR goes on (the rest of the image is shared copy-on-write):
 *   identity         the router's name (uname, hostname), interface table, control channel and clock entry
 *                    (core.c rf_become): the zygote's are the zygote's;
 *   pipes            FRR's thread masters wake themselves through pipes made in frr_init(): remade per child
 *                    (track.c), or one child's wake-up byte could be read by a sibling;
 *   netlink          emulated netlink socket pairs made before the fork (zebra's): remade per child (netlink.c);
 *   interfaces       zebra dumped the zygote's table (lo alone) in zebra_ns_init(), before the fork point: the
 *                    router's other interfaces reach it as hot-plugged ones do, an RTM_NEWLINK event each;
 *   logs             every descriptor that was the zygote's stdout (FRR's `--log stdout` target is a dup of it)
 *                    now writes to the log file the runtime handed over (RUNDIR/DAEMON.log);
 *   recording        the recording file handed over, if any (record.c rf_record_adopt);
 *   hostname         cmd_init() took FRR's hostname from uname() (the zygote's): the router's, as uname() gives it
 *                    to a daemon started on its own (bgpd sends it in the hostname capability);
 *   paths            frr_vtydir, frr_zclientpath and zclient_addr (exported by libfrr) and the daemon info's
 *                    vty socket directory, pid file, config file and pathspace: RUNDIR's; FRR writes the pid
 *                    file itself in frr_config_fork();
 *   crash log        zlog_tmpdirfd = -1: FRR's per-thread log buffers are files named by thread id in the
 *                    zygote's /var/tmp/frr/DAEMON.PID, where children would collide; without it zlog writes
 *                    straight to its targets;
 *   random           srandom(SEED): frr_init() seeded random() from the (frozen, virtual) time, which every
 *                    child would share;
 *   signals          the zygote blocks SIGCHLD/SIGTERM/SIGINT for its signalfd; a child restores the mask.
 * FRR's struct frr_daemon_info is private to libfrr; its 8.4.4 layout is copied below and checked against the
 * daemon's name and the zygote's own vty directory before anything is written through it.
 */
#include "libreal.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

/* lib/libfrr.h of FRR 8.4.4, up to the last field we touch (Debian builds without sqlite3: no db_file). */
struct frr_daemon_info_844 {
	unsigned flags;
	const char *progname;
	const char *name;
	const char *logname;
	unsigned short instance;
	void *module;
	char *vty_addr;
	int vty_port;
	char *vty_sock_path;
	bool dryrun;
	bool daemon_mode;
	bool terminal;
	int cli_mode;
	void *read_in;
	const char *config_file;
	const char *backup_config_file;
	const char *pid_file;
	const char *vty_path;
	const char *module_path;
	const char *script_path;
	const char *pathspace;
	bool zpathspace;
};

static struct frr_daemon_info_844 *di;
static int zfd = -2; /* the runtime's socket; -2: not read yet, -1: not a zygote (or a child now) */

int rf_zygote(void)
{
	if (zfd == -2) {
		const char *z = getenv("REALFISH_ZYGOTE");
		zfd = (z && *z) ? atoi(z) : -1;
	}
	return zfd >= 0;
}

RF_EXPORT void frr_preinit(void *daemon, int argc, char **argv)
{
	RF_INIT();
	di = daemon;
	((void (*)(void *, int, char **))rf_need(rf_real.frr_preinit, "frr_preinit"))(daemon, argc, argv);
}

static void *frr_symbol(const char *name)
{
	void *p = dlsym(RTLD_DEFAULT, name);
	if (!p) {
		rf_log("libfrr does not export %s", name);
		abort();
	}
	return p;
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	char buf[128];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (rf_real.send(zfd, buf, n, MSG_NOSIGNAL) < 0 && errno != EPIPE)
		rf_log("zygote: cannot write to the runtime: %s", strerror(errno));
}

static void redirect_logs(int log, const struct stat *out)
{
	for (int fd = 0; fd < 1024; fd++) {
		struct stat st;
		if (fd != log && fstat(fd, &st) == 0 && st.st_dev == out->st_dev && st.st_ino == out->st_ino)
			rf_replace_fd(fd, dup(log));
	}
	rf_real.close(log);
}

static void no_tcp_or_raw(int fd, struct rf_sock *s)
{
	if (s->kind == RF_TCP || s->kind == RF_RAW) {
		rf_log("emulated socket %d was open at the fork point: a forked router cannot share it", fd);
		abort();
	}
	if (s->kind == RF_NETLINK)
		rf_nl_refork(fd, s);
}

static char *joined(const char *dir, const char *file)
{
	char *p;
	if (asprintf(&p, "%s/%s", dir, file) < 0)
		abort();
	return p;
}

/* In the child: become ROUTER's daemon (see the list at the top). */
static void become(const char *router, const char *rundir, const char *config, const char *pathspace,
		   unsigned seed, const int fds[2], const sigset_t *mask, int sfd, const struct stat *out)
{
	rf_real.close(sfd);
	rf_real.close(zfd);
	zfd = -1;
	sigprocmask(SIG_SETMASK, mask, NULL);
	redirect_logs(fds[0], out);
	char *iftable = joined(rundir, "interfaces");
	rf_become(router, iftable);
	free(iftable);
	if (fds[1] >= 0)
		rf_record_adopt(fds[1]);
	char file[64];
	rf_each_sock(no_tcp_or_raw);
	rf_track_refork();
	rf_nl_announce_links();

	char *vtydir = frr_symbol("frr_vtydir"), *zpath = frr_symbol("frr_zclientpath");
	snprintf(vtydir, 256, "%s", rundir);
	snprintf(zpath, 256, "%s/zserv.api", rundir);
	bool (*zaddr)(void *, void *, const char *) = frr_symbol("frr_zclient_addr");
	zaddr(frr_symbol("zclient_addr"), frr_symbol("zclient_addr_len"), zpath);
	*(int *)frr_symbol("zlog_tmpdirfd") = -1;
	int (*set_hostname)(const char *) = frr_symbol("cmd_hostname_set");
	set_hostname(router);
	snprintf(file, sizeof(file), "%s.pid", rf_daemon());
	di->pid_file = joined(rundir, file);
	di->vty_sock_path = strdup(rundir);
	di->config_file = strdup(config);
	di->pathspace = strdup(pathspace);
	srandom(seed);
}

/* The runtime's signal to a child, sent only if the pid is still this zygote's child (running, or dead and not yet
 * reaped): once reaped, its pid may be another process's. */
static void signal_child(pid_t pid, int sig)
{
	siginfo_t info;
	if (pid > 0 && waitid(P_PID, pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0)
		kill(pid, sig);
}

/* One request and the descriptors attached to it (the log file, then the recording file). */
static ssize_t receive(char *buf, size_t len, int fds[2])
{
	union {
		char buf[CMSG_SPACE(2 * sizeof(int))];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = {.iov_base = buf, .iov_len = len - 1};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf.buf, .msg_controllen = sizeof(cbuf)};
	ssize_t n = rf_real.recvmsg(zfd, &mh, MSG_CMSG_CLOEXEC);
	if (n <= 0)
		return n;
	buf[n] = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
			memcpy(fds, CMSG_DATA(c), c->cmsg_len - CMSG_LEN(0) < 2 * sizeof(int) ? c->cmsg_len - CMSG_LEN(0)
												  : 2 * sizeof(int));
	return n;
}

/* "EXIT pid status usec": how a child ended and the CPU it used. */
static void reap(void)
{
	int status;
	pid_t pid;
	struct rusage ru;
	while ((pid = wait4(-1, &status, WNOHANG, &ru)) > 0) {
		long long us = (long long)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000LL + ru.ru_utime.tv_usec +
			       ru.ru_stime.tv_usec;
		say("EXIT %d %d %lld", (int)pid, status, us);
	}
}

/* Serve fork requests; returns only in a child. */
static void serve(void)
{
	if ((!di || !di->name || strcmp(di->name, rf_daemon()) != 0 || !di->vty_sock_path ||
		       !getenv("REALFISH_ZYGOTE_DIR") ||
		       strcmp(di->vty_sock_path, getenv("REALFISH_ZYGOTE_DIR")) != 0)) {
		rf_log("zygote: FRR's daemon info is not laid out as in FRR 8.4.4; cannot fork routers from it");
		abort();
	}
	struct stat out;
	if (fstat(1, &out) < 0)
		memset(&out, 0, sizeof(out));
	sigset_t mask, block;
	sigemptyset(&block);
	sigaddset(&block, SIGCHLD);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &mask);
	int sfd = signalfd(-1, &block, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0)
		abort();
	rf_vt_detach(); /* waiting here is no router's work: the clock must not wait for it */
	say("READY %d", (int)getpid());
	for (;;) {
		struct pollfd p[2] = {{.fd = zfd, .events = POLLIN}, {.fd = sfd, .events = POLLIN}};
		if (rf_raw_syscall(SYS_ppoll, (long)p, 2, 0, 0, 0, 0) < 0 && errno != EINTR)
			_exit(1);
		if (p[1].revents) {
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof(si)) == sizeof(si))
				if (si.ssi_signo != SIGCHLD)
					_exit(0);
			reap();
		}
		if (!p[0].revents)
			continue;
		char req[2048];
		int fds[2] = {-1, -1};
		ssize_t n = receive(req, sizeof(req), fds);
		if (n <= 0)
			_exit(0); /* the runtime is gone */
		int victim, sig;
		if (sscanf(req, "SIGNAL %d %d", &victim, &sig) == 2) {
			signal_child(victim, sig);
			continue;
		}
		char router[64], rundir[1024], config[1024], pathspace[256];
		unsigned seed;
		if (sscanf(req, "FORK %63s %1023s %1023s %255s %u", router, rundir, config, pathspace, &seed) != 5 ||
		    fds[0] < 0) {
			say("ERR %d", EINVAL);
			continue;
		}
		pid_t pid = fork();
		if (pid == 0) {
			become(router, rundir, config, pathspace, seed, fds, &mask, sfd, &out);
			return;
		}
		for (int i = 0; i < 2; i++)
			if (fds[i] >= 0)
				rf_real.close(fds[i]);
		if (pid < 0)
			say("ERR %d", errno);
		else
			say("PID %d", (int)pid);
	}
}

RF_EXPORT void frr_config_fork(void)
{
	RF_INIT();
	if (rf_active() && rf_zygote())
		serve();
	((void (*)(void))rf_need(rf_real.frr_config_fork, "frr_config_fork"))();
}
