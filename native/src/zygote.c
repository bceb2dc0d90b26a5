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
 * and reports each child that ends with "EXIT pid waitstatus". It ends when the runtime closes FD, or on
 * SIGTERM/SIGINT (it forwards neither: the runtime stops each child by its PID). A child returns from the
 * hook, as ROUTER's daemon, into FRR's own frr_config_fork(). The FRR binaries are unmodified.
 *
 * What a child re-does or puts right before FRR goes on (the rest of the image is shared copy-on-write):
 *   identity         the router's name (uname, hostname), interface table, control channel and clock entry
 *                    (core.c rf_become): the zygote's are the zygote's;
 *   pipes            FRR's thread masters wake themselves through pipes made in frr_init(): remade per child
 *                    (track.c), or one child's wake-up byte could be read by a sibling;
 *   netlink          emulated netlink socket pairs made before the fork (zebra's): remade per child (netlink.c);
 *   interfaces       zebra dumped the zygote's table (lo alone) in zebra_ns_init(), before the fork point: the
 *                    router's other interfaces reach it as hot-plugged ones do, an RTM_NEWLINK event each;
 *   logs             every descriptor that was the zygote's stdout (FRR's `--log stdout` target is a dup of it)
 *                    now writes to RUNDIR/DAEMON.log;
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
	static void (*real_preinit)(void *, int, char **);
	if (!real_preinit)
		*(void **)&real_preinit = dlsym(RTLD_NEXT, "frr_preinit");
	di = daemon;
	real_preinit(daemon, argc, argv);
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

static void redirect_logs(const char *path, const struct stat *out)
{
	int log = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (log < 0) {
		rf_log("cannot open %s: %s", path, strerror(errno));
		abort();
	}
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
		   unsigned seed, const sigset_t *mask, int sfd, const struct stat *out)
{
	rf_real.close(sfd);
	rf_real.close(zfd);
	zfd = -1;
	sigprocmask(SIG_SETMASK, mask, NULL);
	char file[64];
	snprintf(file, sizeof(file), "%s.log", rf_daemon());
	char *log = joined(rundir, file);
	redirect_logs(log, out);
	free(log);
	char *iftable = joined(rundir, "interfaces");
	rf_become(router, iftable);
	free(iftable);
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

static void reap(void)
{
	int status;
	pid_t pid;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		say("EXIT %d %d", (int)pid, status);
}

/* Serve fork requests; returns only in a child. */
static void serve(void)
{
	if (!di || !di->name || strcmp(di->name, rf_daemon()) != 0 || !di->vty_sock_path ||
	    !getenv("REALFISH_ZYGOTE_DIR") || strcmp(di->vty_sock_path, getenv("REALFISH_ZYGOTE_DIR")) != 0) {
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
		ssize_t n = rf_real.recv(zfd, req, sizeof(req) - 1, 0);
		if (n <= 0)
			_exit(0); /* the runtime is gone */
		req[n] = 0;
		char router[64], rundir[1024], config[1024], pathspace[256];
		unsigned seed;
		if (sscanf(req, "FORK %63s %1023s %1023s %255s %u", router, rundir, config, pathspace, &seed) != 5) {
			say("ERR %d", EINVAL);
			continue;
		}
		pid_t pid = fork();
		if (pid == 0) {
			become(router, rundir, config, pathspace, seed, &mask, sfd, &out);
			return;
		}
		if (pid < 0)
			say("ERR %d", errno);
		else
			say("PID %d", (int)pid);
	}
}

RF_EXPORT void frr_config_fork(void)
{
	static void (*real_config_fork)(void);
	if (!real_config_fork)
		*(void **)&real_config_fork = dlsym(RTLD_NEXT, "frr_config_fork");
	if (rf_active() && rf_zygote())
		serve();
	real_config_fork();
}
