/* Virtual time and run slots, daemon side. Clocks read the controller's clock; every wait with a timeout
 * becomes a wait on the thread's eventfd plus the caller's descriptors, with the deadline published in the
 * thread's slot, so a timer costs no wall-clock time: when nothing can run, the controller moves the clock to
 * the earliest deadline and wakes that thread. See vclock.h for the accounting. Inactive unless
 * REALFISH_VCLOCK names the shared clock file. */
#include "libreal.h"
#include "vclock.h"

#include <stdarg.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define A(x) (&(x)) /* the shared fields are _Atomic (vclock.h) */

static struct rf_vt_shm *vt;
static int my_proc = -1;
static __thread int my_slot = -1;
static __thread int my_efd = -1;
static __thread int counted; /* this thread is accounted in `running` (created after the clock was mapped) */
static pthread_key_t exit_key;

#define REAL(fn) (rf_real.fn) /* core.c's table */

long rf_raw_syscall(long n, long a1, long a2, long a3, long a4, long a5, long a6)
{
	RF_INIT();
	return rf_real.syscall(n, a1, a2, a3, a4, a5, a6);
}

int64_t rf_vt_now(void)
{
	return atomic_load(A(vt->now));
}

static void kick(void)
{
	atomic_fetch_add(A(vt->kick), 1);
	rf_raw_syscall(SYS_futex, (long)&vt->kick, FUTEX_WAKE, 1, 0, 0, 0);
}

/* One thread fewer runs. The scheduler waits for "nothing runs": running == 0, or in ordered runs running ==
 * waiting (a thread waiting for its process's turn counts as running). Either must wake it at once, not at its
 * wait's timeout: a turn's end is on the critical path of every ordered run. */
static void running_down(void)
{
	int left = atomic_fetch_sub(A(vt->running), 1) - 1;
	if (left == 0 || (atomic_load(A(vt->ordered)) && left <= atomic_load(A(vt->waiting))))
		kick();
}

/* This process's count of running threads and its run slot change together, under one lock: the first
 * thread to run takes the token (waiting for it with the lock held, so no sibling can race past), the last
 * one to block gives it back. */
static pthread_mutex_t proc_lock = PTHREAD_MUTEX_INITIALIZER;

static void proc_running_as(int delta, int resume)
{
	struct rf_vt_proc *p = &vt->procs[my_proc];
	pthread_mutex_lock(&proc_lock);
	int now = atomic_fetch_add(A(p->running), delta) + delta;
	if (vt->tokens_enabled) {
		if (delta > 0 && now > 0 && !p->has_token) {
			while (sem_wait(&vt->tokens) < 0 && errno == EINTR)
				;
			atomic_store(A(p->has_token), 1);
		} else if (delta < 0 && now == 0 && p->has_token) {
			atomic_store(A(p->has_token), 0);
			sem_post(&vt->tokens);
		}
	}
	if (atomic_load(A(vt->ordered))) {
		/* Ordered runs: a process runs in its turn; every thread that resumes outside it says so and waits
		 * (outside the lock: a sibling must get to say so too). The controller ends a turn only once the whole
		 * process is quiet, so a thread woken by its sibling (a pipe, a condition) stays in the same turn. */
		int wait = resume && atomic_load(A(p->held));
		pthread_mutex_unlock(&proc_lock);
		if (wait) {
			atomic_fetch_add(A(p->wants), 1);
			atomic_fetch_add(A(vt->waiting), 1);
			kick();
			while (atomic_load(A(p->held)))
				rf_raw_syscall(SYS_futex, (long)&p->held, FUTEX_WAIT, 1, 0, 0, 0);
			atomic_fetch_sub(A(vt->waiting), 1);
			atomic_fetch_sub(A(p->wants), 1);
			atomic_fetch_add(A(p->turns), 1); /* the controller waits for this before it looks again */
		}
		return;
	}
	/* A replay putting several inputs in at once keeps an idle process from resuming until all are there. */
	while (delta > 0 && now == delta && atomic_load(A(p->held)))
		rf_raw_syscall(SYS_futex, (long)&p->held, FUTEX_WAIT, 1, 0, 0, 0);
	pthread_mutex_unlock(&proc_lock);
}

/* Counting a thread that is not resuming from a wait (a new one, one joining, one blocking or leaving). */
static void proc_running(int delta)
{
	proc_running_as(delta, 0);
}

static void thread_exit(void *unused)
{
	(void)unused;
	if (!vt || !counted)
		return;
	if (my_slot >= 0)
		atomic_store(A(vt->slots[my_slot].state), RF_SLOT_FREE);
	proc_running(-1);
	running_down();
	if (my_efd >= 0)
		close(my_efd);
}

/* This process takes an entry in the clock's process table and counts its (calling) thread as running. */
static int join(struct rf_vt_shm *m)
{
	int p = atomic_fetch_add(A(m->nprocs), 1);
	if (p >= RF_VT_PROCS) {
		rf_log("too many processes for the virtual clock");
		abort();
	}
	m->procs[p].pid = getpid();
	atomic_fetch_add(A(m->running), 1);
	counted = 1;
	vt = m;
	my_proc = p;
	proc_running(1);
	/* Ordered runs: this first run is the process's own; after it, it runs when the controller says. */
	if (atomic_load(A(m->ordered)))
		atomic_store(A(m->procs[p].held), 1);
	return p;
}

/* Called from core.c's init once the control channel is up. Returns the process index, or -1. */
int rf_vt_attach(void)
{
	const char *path = getenv("REALFISH_VCLOCK");
	if (!path || !*path)
		return -1;
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		rf_log("cannot open the virtual clock %s", path);
		abort();
	}
	struct rf_vt_shm *m = mmap(NULL, sizeof(*m), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (m == MAP_FAILED || m->magic != RF_VT_MAGIC) {
		rf_log("%s is not a realfish virtual clock", path);
		abort();
	}
	pthread_key_create(&exit_key, thread_exit);
	return join(m);
}

/* A zygote (zygote.c) stops counting before it waits for fork requests: it is no router's thread. */
void rf_vt_detach(void)
{
	if (!vt || !counted)
		return;
	if (my_slot >= 0)
		atomic_store(A(vt->slots[my_slot].state), RF_SLOT_FREE);
	proc_running(-1);
	counted = 0;
	running_down();
}

/* In a child forked by a zygote: its own process entry and, for its only thread, a slot and eventfd of its
 * own (the zygote's are the zygote's). Returns the process index, or -1 without a clock. */
int rf_vt_fork_child(void)
{
	if (!vt)
		return -1;
	if (my_efd >= 0)
		close(my_efd);
	my_efd = -1;
	my_slot = -1;
	return join(vt);
}

int rf_vt_active(void)
{
	return vt != NULL;
}

/* Message accounting: the controller's scheduler must not move the clock while a message is unprocessed. */
void rf_vt_msg_sent(void)
{
	if (vt) {
		atomic_fetch_add(A(vt->msgs), 1);
		kick();
	}
}

void rf_vt_msg_unsent(void)
{
	if (vt)
		atomic_fetch_sub(A(vt->msgs), 1);
}

static int ensure_slot(void)
{
	if (my_slot >= 0)
		return 0;
	int s = atomic_fetch_add(A(vt->nslots), 1);
	if (s >= RF_VT_SLOTS) {
		rf_log("too many threads for the virtual clock");
		abort();
	}
	my_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (my_efd < 0)
		abort();
	int high = fcntl(my_efd, F_DUPFD_CLOEXEC, 1000);
	if (high >= 0) {
		close(my_efd);
		my_efd = high;
	}
	struct rf_vt_slot *sl = &vt->slots[s];
	sl->proc = my_proc;
	sl->tid = (int)rf_raw_syscall(SYS_gettid, 0, 0, 0, 0, 0, 0);
	sl->deadline = RF_VT_NONE;
	atomic_store(A(sl->state), RF_SLOT_RUNNING);
	my_slot = s;
	char msg[64];
	snprintf(msg, sizeof(msg), "THREAD %d %d %d %d", s, my_proc, sl->tid, my_efd);
	return rf_ctl_send_fd(msg, my_efd);
}

static void mark_blocked(int64_t deadline)
{
	struct rf_vt_slot *sl = &vt->slots[my_slot];
	atomic_store(A(sl->deadline), deadline);
	atomic_store(A(sl->state), RF_SLOT_BLOCKED);
	atomic_fetch_add(A(vt->procs[my_proc].activity), 1);
	proc_running(-1);
	running_down();
}

static void mark_running(void)
{
	struct rf_vt_slot *sl = &vt->slots[my_slot];
	int prev = atomic_exchange(A(sl->state), RF_SLOT_RUNNING);
	atomic_fetch_add(A(vt->procs[my_proc].activity), 1);
	if (prev == RF_SLOT_BLOCKED)
		atomic_fetch_add(A(vt->running), 1); /* woken by the kernel: the controller did not count us */
	atomic_fetch_add(A(vt->generation), 1);
	proc_running_as(1, 1);
}

/* Woken by our eventfd before the deadline (a condition signal, or a stale wake): back to blocked. */
static void back_to_blocked(void)
{
	struct rf_vt_slot *sl = &vt->slots[my_slot];
	int waking = RF_SLOT_WAKING;
	if (atomic_compare_exchange_strong(A(sl->state), &waking, RF_SLOT_BLOCKED)) {
		running_down();
	}
}

static void drain(int fd)
{
	uint64_t v;
	ssize_t r = read(fd, &v, sizeof(v));
	(void)r;
}

/* The one blocking primitive: wait for fds or the virtual deadline. `signaled` (may be NULL) ends the wait
 * early when set by a condition-variable signal. Returns like ppoll. */
/* A poll of the daemon's event loop (its main thread) returned: counted (a replay puts inputs in poll by poll),
 * and recorded (record.c, kind 'k': "T" its deadline had come, "I" descriptors ready), which says which inputs
 * it met in one loop iteration, with its timers or not. */
static void record_poll(int64_t deadline, int ready)
{
	static __thread int main_thread = -1;
	if (main_thread < 0)
		main_thread = rf_raw_syscall(SYS_gettid, 0, 0, 0, 0, 0, 0) == getpid();
	if (!main_thread)
		return;
	if (my_proc >= 0)
		atomic_fetch_add(A(vt->procs[my_proc].polls), 1);
	if (!rf_recording())
		return;
	char what[3] = "", *w = what;
	if (deadline != RF_VT_NONE && rf_vt_now() >= deadline)
		*w++ = 'T';
	if (ready > 0)
		*w++ = 'I';
	rf_record('k', 0, what, (size_t)(w - what));
}

static int vt_wait_unrecorded(struct pollfd *fds, nfds_t n, int64_t deadline, const sigset_t *mask,
			      _Atomic int *signaled);

static int vt_wait(struct pollfd *fds, nfds_t n, int64_t deadline, const sigset_t *mask, _Atomic int *signaled)
{
	int r = vt_wait_unrecorded(fds, n, deadline, mask, signaled);
	int e = errno;
	record_poll(deadline, r);
	errno = e;
	return r;
}

static int vt_wait_unrecorded(struct pollfd *fds, nfds_t n, int64_t deadline, const sigset_t *mask,
			      _Atomic int *signaled)
{
	static const struct timespec zero = {0, 0};
	if (deadline != RF_VT_NONE && deadline <= rf_vt_now() && !signaled)
		return REAL(ppoll)(fds, n, &zero, mask);
	if (ensure_slot() < 0)
		return REAL(ppoll)(fds, n, NULL, mask);
	/* Our eventfd, and the control channel: without the controller the clock never moves again, so a
	 * daemon whose controller died (killed, crashed) exits instead of waiting forever. */
	struct pollfd stackbuf[64];
	struct pollfd *all = n + 2 <= 64 ? stackbuf : malloc((n + 2) * sizeof(*all));
	if (!all) {
		errno = ENOMEM;
		return -1;
	}
	if (n)
		memcpy(all, fds, n * sizeof(*all));
	all[n].fd = my_efd;
	all[n].events = POLLIN;
	all[n + 1].fd = rf_ctl_fd();
	all[n + 1].events = POLLRDHUP;
	mark_blocked(deadline);
	int r;
	for (;;) {
		for (nfds_t i = 0; i <= n + 1; i++)
			all[i].revents = 0;
		r = REAL(ppoll)(all, n + 2, NULL, mask);
		if (r < 0)
			break;
		if (all[n + 1].revents & (POLLRDHUP | POLLHUP | POLLERR)) {
			rf_log("the realfish controller is gone; exiting");
			_exit(1);
		}
		if (all[n].revents) {
			drain(my_efd);
			r--;
		}
		if (r > 0 || (signaled && atomic_load(signaled)) || (deadline != RF_VT_NONE && rf_vt_now() >= deadline))
			break;
		back_to_blocked();
	}
	int e = errno;
	mark_running();
	if (r >= 0)
		for (nfds_t i = 0; i < n; i++)
			fds[i].revents = all[i].revents;
	if (all != stackbuf)
		free(all);
	errno = e;
	return r;
}

static int64_t ts_ns(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * 1000000000LL + ts->tv_nsec;
}

static int64_t deadline_after(const struct timespec *rel)
{
	if (!rel)
		return RF_VT_NONE;
	int64_t d = ts_ns(rel);
	return d > RF_VT_NONE - rf_vt_now() ? RF_VT_NONE : rf_vt_now() + d;
}

/* ---- clocks ---- */

static int virtual_clock(clockid_t clk)
{
	return clk == CLOCK_MONOTONIC || clk == CLOCK_MONOTONIC_RAW || clk == CLOCK_MONOTONIC_COARSE ||
	       clk == CLOCK_BOOTTIME || clk == CLOCK_REALTIME || clk == CLOCK_REALTIME_COARSE;
}

RF_EXPORT int clock_gettime(clockid_t clk, struct timespec *ts)
{
	RF_INIT();
	if (!vt || !virtual_clock(clk))
		return REAL(clock_gettime)(clk, ts);
	int64_t t = rf_vt_now();
	if (clk == CLOCK_REALTIME || clk == CLOCK_REALTIME_COARSE)
		t += vt->realtime_offset;
	ts->tv_sec = t / 1000000000LL;
	ts->tv_nsec = t % 1000000000LL;
	return 0;
}

RF_EXPORT int gettimeofday(struct timeval *tv, void *tz)
{
	RF_INIT();
	if (!vt)
		return REAL(gettimeofday)(tv, tz);
	struct timeval *volatile out = tv; /* declared nonnull by glibc, yet callers may pass NULL */
	if (out) {
		int64_t t = rf_vt_now() + vt->realtime_offset;
		tv->tv_sec = t / 1000000000LL;
		tv->tv_usec = (t % 1000000000LL) / 1000;
	}
	return 0;
}

RF_EXPORT time_t time(time_t *out)
{
	RF_INIT();
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	if (out)
		*out = ts.tv_sec;
	return ts.tv_sec;
}

/* ---- waits ---- */

RF_EXPORT int ppoll(struct pollfd *fds, nfds_t n, const struct timespec *tmo, const sigset_t *mask)
{
	RF_INIT();
	if (!vt || (tmo && tmo->tv_sec == 0 && tmo->tv_nsec == 0)) {
		int r = REAL(ppoll)(fds, n, tmo, mask);
		if (vt) {
			int e = errno;
			record_poll(RF_VT_NONE, r);
			errno = e;
		}
		return r;
	}
	return vt_wait(fds, n, deadline_after(tmo), mask, NULL);
}

RF_EXPORT int poll(struct pollfd *fds, nfds_t n, int ms)
{
	RF_INIT();
	if (!vt || ms == 0) {
		struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
		return REAL(ppoll)(fds, n, ms < 0 ? NULL : &t, NULL);
	}
	struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
	return vt_wait(fds, n, ms < 0 ? RF_VT_NONE : deadline_after(&t), NULL, NULL);
}

static int select_common(int nfds, fd_set *r, fd_set *w, fd_set *x, int64_t deadline, const sigset_t *mask)
{
	struct pollfd pf[FD_SETSIZE];
	nfds_t n = 0;
	for (int fd = 0; fd < nfds && fd < FD_SETSIZE; fd++) {
		short ev = (r && FD_ISSET(fd, r) ? POLLIN : 0) | (w && FD_ISSET(fd, w) ? POLLOUT : 0) |
			   (x && FD_ISSET(fd, x) ? POLLPRI : 0);
		if (ev) {
			pf[n].fd = fd;
			pf[n].events = ev;
			n++;
		}
	}
	int ret = vt_wait(pf, n, deadline, mask, NULL);
	if (ret < 0)
		return ret;
	if (r)
		FD_ZERO(r);
	if (w)
		FD_ZERO(w);
	if (x)
		FD_ZERO(x);
	int count = 0;
	for (nfds_t i = 0; i < n; i++) {
		short re = pf[i].revents;
		if (r && (re & (POLLIN | POLLHUP | POLLERR))) {
			FD_SET(pf[i].fd, r);
			count++;
		}
		if (w && (re & (POLLOUT | POLLERR))) {
			FD_SET(pf[i].fd, w);
			count++;
		}
		if (x && (re & POLLPRI)) {
			FD_SET(pf[i].fd, x);
			count++;
		}
	}
	return count;
}

RF_EXPORT int select(int nfds, fd_set *r, fd_set *w, fd_set *x, struct timeval *tv)
{
	RF_INIT();
	if (!vt || (tv && tv->tv_sec == 0 && tv->tv_usec == 0)) {
		struct timespec t, *tp = NULL;
		if (tv) {
			t.tv_sec = tv->tv_sec;
			t.tv_nsec = tv->tv_usec * 1000L;
			tp = &t;
		}
		return pselect(nfds, r, w, x, tp, NULL);
	}
	struct timespec t;
	if (tv) {
		t.tv_sec = tv->tv_sec;
		t.tv_nsec = tv->tv_usec * 1000L;
	}
	return select_common(nfds, r, w, x, tv ? deadline_after(&t) : RF_VT_NONE, NULL);
}

RF_EXPORT int epoll_wait(int epfd, struct epoll_event *ev, int max, int ms)
{
	RF_INIT();
	if (!vt || ms == 0)
		return REAL(epoll_wait)(epfd, ev, max, ms);
	/* An epoll descriptor is itself pollable: wait on it virtually, then collect without blocking. */
	struct pollfd p = {.fd = epfd, .events = POLLIN};
	struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
	int r = vt_wait(&p, 1, ms < 0 ? RF_VT_NONE : deadline_after(&t), NULL, NULL);
	if (r <= 0)
		return r;
	return REAL(epoll_wait)(epfd, ev, max, 0);
}

RF_EXPORT int nanosleep(const struct timespec *req, struct timespec *rem)
{
	RF_INIT();
	if (!vt)
		return (int)rf_raw_syscall(SYS_nanosleep, (long)req, (long)rem, 0, 0, 0, 0);
	vt_wait(NULL, 0, deadline_after(req), NULL, NULL);
	if (rem)
		rem->tv_sec = rem->tv_nsec = 0;
	return 0;
}

RF_EXPORT int clock_nanosleep(clockid_t clk, int flags, const struct timespec *req, struct timespec *rem)
{
	RF_INIT();
	if (!vt || !virtual_clock(clk))
		return (int)rf_raw_syscall(SYS_clock_nanosleep, clk, flags, (long)req, (long)rem, 0, 0);
	int64_t deadline = (flags & TIMER_ABSTIME) ? ts_ns(req) - (clk == CLOCK_REALTIME ? vt->realtime_offset : 0)
						   : deadline_after(req);
	vt_wait(NULL, 0, deadline, NULL, NULL);
	return 0;
}

RF_EXPORT int usleep(useconds_t us)
{
	RF_INIT();
	struct timespec t = {us / 1000000, (us % 1000000) * 1000L};
	return nanosleep(&t, NULL);
}

RF_EXPORT unsigned int sleep(unsigned int s)
{
	RF_INIT();
	struct timespec t = {s, 0};
	nanosleep(&t, NULL);
	return 0;
}

/* ---- condition variables ----
 * A wait becomes: register on the condition, unlock the mutex, wait on our eventfd (virtual deadline), lock.
 * pthread_cond_signal/broadcast wake registered waiters through their eventfds and then the real waiters.
 * Registration happens before the unlock and eventfd wakes are sticky, so no signal is lost; spurious wakes
 * are allowed by POSIX. */

struct waiter {
	pthread_cond_t *cond;
	int efd;
	_Atomic int signaled;
	struct waiter *next;
};
static struct waiter *waiters;
static pthread_mutex_t waiters_lock = PTHREAD_MUTEX_INITIALIZER;

/* Which conditions time their waits on CLOCK_MONOTONIC (pthread_condattr_setclock; the default is
 * CLOCK_REALTIME): noted at pthread_cond_init, since POSIX has no way to ask a condition. A handful per daemon
 * (bgpd's keepalive thread's), so a list. */
static pthread_cond_t **monotonic_conds;
static int nmonotonic, capmonotonic;
static pthread_mutex_t conds_lock = PTHREAD_MUTEX_INITIALIZER;

static void cond_forget_locked(pthread_cond_t *cond)
{
	for (int i = 0; i < nmonotonic; i++)
		if (monotonic_conds[i] == cond) {
			monotonic_conds[i] = monotonic_conds[--nmonotonic];
			return;
		}
}

static int cond_monotonic(pthread_cond_t *cond)
{
	pthread_mutex_lock(&conds_lock);
	int found = 0;
	for (int i = 0; i < nmonotonic && !found; i++)
		found = monotonic_conds[i] == cond;
	pthread_mutex_unlock(&conds_lock);
	return found;
}

RF_EXPORT int pthread_cond_init(pthread_cond_t *cond, const pthread_condattr_t *attr)
{
	RF_INIT();
	int r = REAL(pthread_cond_init)(cond, attr);
	clockid_t clk = CLOCK_REALTIME;
	if (r != 0 || (attr && pthread_condattr_getclock(attr, &clk) != 0))
		return r;
	pthread_mutex_lock(&conds_lock);
	cond_forget_locked(cond); /* one destroyed without pthread_cond_destroy, its memory reused */
	if (clk == CLOCK_MONOTONIC && nmonotonic == capmonotonic) {
		int cap = capmonotonic ? 2 * capmonotonic : 16;
		pthread_cond_t **more = realloc(monotonic_conds, cap * sizeof(*more));
		if (!more)
			rf_fatal("no memory to note a condition's clock");
		monotonic_conds = more;
		capmonotonic = cap;
	}
	if (clk == CLOCK_MONOTONIC)
		monotonic_conds[nmonotonic++] = cond;
	pthread_mutex_unlock(&conds_lock);
	return r;
}

RF_EXPORT int pthread_cond_destroy(pthread_cond_t *cond)
{
	RF_INIT();
	pthread_mutex_lock(&conds_lock);
	cond_forget_locked(cond);
	pthread_mutex_unlock(&conds_lock);
	return REAL(pthread_cond_destroy)(cond);
}

static int cond_wait_virtual(pthread_cond_t *cond, pthread_mutex_t *mutex, int64_t deadline)
{
	if (deadline != RF_VT_NONE && deadline <= rf_vt_now())
		return ETIMEDOUT;
	if (ensure_slot() < 0)
		return EINVAL;
	struct waiter w = {.cond = cond, .efd = my_efd};
	atomic_store(&w.signaled, 0);
	pthread_mutex_lock(&waiters_lock);
	w.next = waiters;
	waiters = &w;
	pthread_mutex_unlock(&waiters_lock);
	pthread_mutex_unlock(mutex);
	vt_wait(NULL, 0, deadline, NULL, &w.signaled);
	pthread_mutex_lock(&waiters_lock);
	for (struct waiter **pp = &waiters; *pp; pp = &(*pp)->next)
		if (*pp == &w) {
			*pp = w.next;
			break;
		}
	pthread_mutex_unlock(&waiters_lock);
	pthread_mutex_lock(mutex);
	return atomic_load(&w.signaled) ? 0 : ETIMEDOUT;
}

static void wake_waiters(pthread_cond_t *cond, int all)
{
	pthread_mutex_lock(&waiters_lock);
	for (struct waiter *w = waiters; w; w = w->next)
		if (w->cond == cond && !atomic_load(&w->signaled)) {
			atomic_store(&w->signaled, 1);
			uint64_t one = 1;
			ssize_t r = write(w->efd, &one, sizeof(one));
			(void)r;
			if (!all)
				break;
		}
	pthread_mutex_unlock(&waiters_lock);
}

RF_EXPORT int pthread_cond_timedwait(pthread_cond_t *cond, pthread_mutex_t *mutex, const struct timespec *abst)
{
	RF_INIT();
	if (!vt)
		return REAL(pthread_cond_timedwait)(cond, mutex, abst);
	int64_t deadline = ts_ns(abst) - (cond_monotonic(cond) ? 0 : vt->realtime_offset);
	return cond_wait_virtual(cond, mutex, deadline);
}

RF_EXPORT int pthread_cond_wait(pthread_cond_t *cond, pthread_mutex_t *mutex)
{
	RF_INIT();
	if (!vt)
		return REAL(pthread_cond_wait)(cond, mutex);
	cond_wait_virtual(cond, mutex, RF_VT_NONE);
	return 0;
}

RF_EXPORT int pthread_cond_signal(pthread_cond_t *cond)
{
	RF_INIT();
	if (vt)
		wake_waiters(cond, 0);
	return REAL(pthread_cond_signal)(cond);
}

RF_EXPORT int pthread_cond_broadcast(pthread_cond_t *cond)
{
	RF_INIT();
	if (vt)
		wake_waiters(cond, 1);
	return REAL(pthread_cond_broadcast)(cond);
}

/* ---- futex: FRR's RCU thread and seqlocks wait with syscall(SYS_futex) directly ----
 * An untimed wait is accounted as blocked (with no deadline); the thread that wakes it runs, so the clock
 * cannot move in between. Timed futex waits keep real time (FRR has none on Linux). */

RF_EXPORT long syscall(long number, ...)
{
	RF_INIT();
	va_list ap;
	va_start(ap, number);
	long a1 = va_arg(ap, long), a2 = va_arg(ap, long), a3 = va_arg(ap, long);
	long a4 = va_arg(ap, long), a5 = va_arg(ap, long), a6 = va_arg(ap, long);
	va_end(ap);
	int cmd = (int)a2 & FUTEX_CMD_MASK;
	if (vt && number == SYS_futex && (cmd == FUTEX_WAIT || cmd == FUTEX_WAIT_BITSET) && a4 == 0 &&
	    ensure_slot() == 0) {
		mark_blocked(RF_VT_NONE);
		long r = rf_raw_syscall(number, a1, a2, a3, a4, a5, a6);
		int e = errno;
		mark_running();
		errno = e;
		return r;
	}
	return rf_raw_syscall(number, a1, a2, a3, a4, a5, a6);
}

/* ---- threads: a new thread is running from its creation on ---- */

struct start {
	void *(*fn)(void *);
	void *arg;
};

static void *thread_start(void *p)
{
	struct start s = *(struct start *)p;
	free(p);
	counted = 1;
	pthread_setspecific(exit_key, (void *)1);
	return s.fn(s.arg);
}

RF_EXPORT int pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
	RF_INIT();
	if (!vt)
		return REAL(pthread_create)(t, attr, fn, arg);
	struct start *s = malloc(sizeof(*s));
	if (!s)
		return EAGAIN;
	s->fn = fn;
	s->arg = arg;
	atomic_fetch_add(A(vt->running), 1);
	proc_running(1);
	int r = REAL(pthread_create)(t, attr, thread_start, s);
	if (r != 0) {
		free(s);
		proc_running(-1);
		running_down();
	}
	return r;
}

/* fork (core.c): the child's only thread waits on no condition (the waiters were its parent's other threads). */
void rf_vt_fork(enum rf_fork_phase phase)
{
	static pthread_mutex_t *const locks[] = {&proc_lock, &waiters_lock, &conds_lock};
	rf_fork_locks(phase, locks, 3);
	if (phase == RF_FORK_CHILD)
		waiters = NULL;
}
