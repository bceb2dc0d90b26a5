/* The controller's side of the virtual clock (called from Python through ctypes; the GIL is released while
 * it waits). It owns the clock file, finds the moments when nothing in the emulation can run, moves the clock
 * to the earliest deadline and wakes exactly the threads due. Not used inside daemons. */
#include "libreal.h"
#include "vclock.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define A(x) ((_Atomic __typeof__(x) *)&(x))

/* One per emulation: several can run in one controller process. */
struct sched {
	struct rf_vt_shm *shm;
	int wake_fd[RF_VT_SLOTS];  /* a thread's eventfd, -1 none, REMOTE: borrowed from its process when needed */
	int wake_pid[RF_VT_SLOTS], wake_remote[RF_VT_SLOTS];
	int *tracked;
	int ntracked, cap_tracked;
	int nwatched;            /* registrations whose descriptor only the daemons hold (rf_sched_watch) */
	int epfd;                /* the tracked ends, readable when bytes wait on them: in_flight without a scan */
	struct epoll_event *events; /* room for every registration's event at once */
	int cap_events;
	int last_woken;
	long parked;             /* bytes in flight that no reader wants (see rf_sched_step), 0 if none */
	int parks;               /* how often bytes were found parked */
	int scans;               /* how often every blocked thread's /proc state was read (woken_by_kernel) */
	long pending;            /* in-flight total being watched, and since when (CLOCK_MONOTONIC ns) */
	int64_t pending_since;
	int woken_slot[RF_VT_SLOTS]; /* the slots the last clock move woke, in slot order: the journal's record */
	uint32_t seen_activity[RF_VT_PROCS]; /* each process's activity when a /proc check last found it idle */
	uint8_t seen_valid[RF_VT_PROCS];
	int released;            /* ordered runs: the process last given its turn, until it has resumed (-1 none) */
	uint32_t released_turns; /* its `turns` when it was given it */
	int current;             /* ordered runs: the process whose turn it is, until it is quiet (-1 none) */
	int quiets;              /* ordered runs: how often the frozen emulation was found with nothing to run */
	int releases;            /* how many turns were given */
	/* Ordered runs, per in_flight call: each process's blocked threads (a list through slot_next) and whether
	 * one of its threads runs, built once when first needed (claimed), and each process's verdict once known. */
	uint32_t stamp;
	uint32_t index_stamp;
	int proc_head[RF_VT_PROCS], slot_next[RF_VT_SLOTS];
	uint8_t proc_runs[RF_VT_PROCS];
	uint32_t verdict_stamp[RF_VT_PROCS];
	uint8_t verdict[RF_VT_PROCS];
	int64_t *instants;       /* a replay: the instants the recorded run's clock moved to, ascending */
	long ninstants;
	pthread_mutex_t lock;
};

RF_EXPORT struct sched *rf_sched_create(const char *path, int tokens, int64_t start_ns, int64_t realtime_offset)
{
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return NULL;
	if (ftruncate(fd, sizeof(struct rf_vt_shm)) < 0) {
		close(fd);
		return NULL;
	}
	struct rf_vt_shm *shm = mmap(NULL, sizeof(*shm), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (shm == MAP_FAILED)
		return NULL;
	struct sched *sc = calloc(1, sizeof(*sc));
	if (!sc) {
		munmap(shm, sizeof(*shm));
		return NULL;
	}
	sc->shm = shm;
	sc->epfd = epoll_create1(EPOLL_CLOEXEC);
	pthread_mutex_init(&sc->lock, NULL);
	memset(shm, 0, sizeof(*shm));
	sc->shm->now = start_ns;
	sc->shm->realtime_offset = realtime_offset;
	sc->shm->frozen = 1;
	sc->shm->tokens_enabled = tokens > 0;
	sem_init(&sc->shm->tokens, 1, tokens > 0 ? tokens : 1);
	for (int i = 0; i < RF_VT_SLOTS; i++)
		sc->wake_fd[i] = -1;
	sc->released = -1;
	sc->current = -1;
	atomic_store(A(sc->shm->magic), RF_VT_MAGIC);
	return sc;
}

RF_EXPORT void rf_sched_close(struct sched *sc)
{
	for (int i = 0; i < RF_VT_SLOTS; i++)
		if (sc->wake_fd[i] >= 0)
			close(sc->wake_fd[i]);
	munmap(sc->shm, sizeof(*sc->shm));
	if (sc->epfd >= 0)
		close(sc->epfd);
	free(sc->tracked);
	free(sc->events);
	free(sc->instants);
	pthread_mutex_destroy(&sc->lock);
	free(sc);
}

/* A replay's clock moves where the recorded run's did (see rf_sched_step). */
RF_EXPORT int rf_sched_set_instants(struct sched *sc, const int64_t *instants, long n)
{
	int64_t *copy = n > 0 ? malloc((size_t)n * sizeof(*copy)) : NULL;
	if (n > 0 && !copy)
		return -1;
	if (n > 0)
		memcpy(copy, instants, (size_t)n * sizeof(*copy));
	free(sc->instants);
	sc->instants = copy;
	sc->ninstants = n;
	return 0;
}

/* The first recorded instant at or after t, RF_VT_NONE past the last. */
static int64_t instant_from(struct sched *sc, int64_t t)
{
	long lo = 0, hi = sc->ninstants;
	while (lo < hi) {
		long mid = (lo + hi) / 2;
		if (sc->instants[mid] < t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < sc->ninstants ? sc->instants[lo] : RF_VT_NONE;
}

RF_EXPORT void rf_sched_set_frozen(struct sched *sc, int frozen)
{
	atomic_store(A(sc->shm->frozen), frozen);
}

RF_EXPORT int64_t rf_sched_now(struct sched *sc)
{
	return atomic_load(A(sc->shm->now));
}

RF_EXPORT void rf_sched_set_wake(struct sched *sc, int slot, int fd)
{
	if (slot < 0 || slot >= RF_VT_SLOTS)
		return;
	if (sc->wake_fd[slot] >= 0)
		close(sc->wake_fd[slot]);
	sc->wake_fd[slot] = fd;
}

/* A duplicate of descriptor `remote` of process `pid`, or -1 (pidfd_getfd: the controller runs as root with
 * CAP_SYS_PTRACE; without it, it keeps every eventfd). */
static int borrow(int pid, int remote)
{
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0)
		return -1;
	int fd = (int)syscall(SYS_pidfd_getfd, pidfd, remote, 0);
	close(pidfd);
	return fd;
}

/* The same, but the eventfd is borrowed from the daemon at each wake instead of kept: a descriptor per daemon
 * thread is more than the controller may hold at k=28 (about 12,000 threads; its limit here is 20,000 and cannot
 * be raised). Kept if borrowing does not work. */
#define REMOTE (-2)
RF_EXPORT void rf_sched_set_wake_remote(struct sched *sc, int slot, int fd, int pid, int remote)
{
	if (slot < 0 || slot >= RF_VT_SLOTS)
		return;
	int probe = borrow(pid, remote);
	if (probe < 0) {
		rf_sched_set_wake(sc, slot, fd);
		return;
	}
	close(probe);
	close(fd);
	if (sc->wake_fd[slot] >= 0)
		close(sc->wake_fd[slot]);
	sc->wake_pid[slot] = pid;
	sc->wake_remote[slot] = remote;
	sc->wake_fd[slot] = REMOTE;
}

static void wake(struct sched *sc, int slot)
{
	uint64_t one = 1;
	int fd = sc->wake_fd[slot] == REMOTE ? borrow(sc->wake_pid[slot], sc->wake_remote[slot]) : sc->wake_fd[slot];
	if (fd < 0)
		return;
	ssize_t w = write(fd, &one, sizeof(one));
	(void)w;
	if (sc->wake_fd[slot] == REMOTE)
		close(fd);
}

RF_EXPORT void rf_sched_msg_done(struct sched *sc)
{
	atomic_fetch_sub(A(sc->shm->msgs), 1);
}

/* Which process reads a registered end: stored with it (bits 32-62 of the epoll data, proc + 1; 0 unknown) so
 * that an ordered run can tell bytes whose reader already waits for its turn from bytes nobody has seen yet. */
#define OWNER_SHIFT 32
#define OWNER_MASK 0x7fffffffULL
RF_EXPORT void rf_sched_track_owned(struct sched *sc, int fd, int proc);
RF_EXPORT int rf_sched_watch_owned(struct sched *sc, int fd, int proc);

static uint64_t owner_bits(int proc)
{
	return proc >= 0 && proc < RF_VT_PROCS ? ((uint64_t)(proc + 1) & OWNER_MASK) << OWNER_SHIFT : 0;
}

RF_EXPORT void rf_sched_track(struct sched *sc, int fd)
{
	rf_sched_track_owned(sc, fd, -1);
}

RF_EXPORT void rf_sched_track_owned(struct sched *sc, int fd, int proc)
{
	pthread_mutex_lock(&sc->lock);
	if (sc->ntracked == sc->cap_tracked) {
		sc->cap_tracked = sc->cap_tracked ? sc->cap_tracked * 2 : 256;
		sc->tracked = realloc(sc->tracked, sc->cap_tracked * sizeof(int));
	}
	sc->tracked[sc->ntracked++] = fd;
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = owner_bits(proc) | (uint32_t)fd};
	if (sc->epfd >= 0 && epoll_ctl(sc->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		close(sc->epfd); /* cannot watch this one: scan every end from now on */
		sc->epfd = -1;
	}
	pthread_mutex_unlock(&sc->lock);
}

/* Watch a descriptor the controller does not keep: registered, then closed by the caller. epoll keeps a
 * registration as long as the open file lives, i.e. as long as the daemon holds its own descriptor of it, and
 * drops it with the daemon's last close (or its death): so a run's thousands of pipes, zserv sockets and
 * connection ends cost the controller no descriptor (its limit here is 20,000 and cannot be raised; k=28 has
 * about 44,000). Such an end counts 1 while readable with data (no byte count without a descriptor); an end
 * whose peer is gone (RDHUP/HUP) does not count: the /proc check still guards the reader's wake-up.
 * Returns 0, or -1 if it cannot be watched (keep and track it instead). */
#define WATCHED (1ULL << 63)
RF_EXPORT int rf_sched_watch(struct sched *sc, int fd)
{
	return rf_sched_watch_owned(sc, fd, -1);
}

RF_EXPORT int rf_sched_watch_owned(struct sched *sc, int fd, int proc)
{
	pthread_mutex_lock(&sc->lock);
	struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.u64 = WATCHED | owner_bits(proc) | (uint32_t)fd};
	int r = sc->epfd >= 0 ? epoll_ctl(sc->epfd, EPOLL_CTL_ADD, fd, &ev) : -1;
	if (r == 0)
		sc->nwatched++;
	pthread_mutex_unlock(&sc->lock);
	return r;
}

RF_EXPORT void rf_sched_untrack(struct sched *sc, int fd)
{
	pthread_mutex_lock(&sc->lock);
	if (sc->epfd >= 0)
		epoll_ctl(sc->epfd, EPOLL_CTL_DEL, fd, NULL);
	for (int i = 0; i < sc->ntracked; i++)
		if (sc->tracked[i] == fd) {
			sc->tracked[i] = sc->tracked[--sc->ntracked];
			break;
		}
	pthread_mutex_unlock(&sc->lock);
}

/* A daemon died: what it had counted as running (and its run slot) must not hold the clock forever. */
RF_EXPORT void rf_sched_proc_gone(struct sched *sc, int proc)
{
	if (proc < 0 || proc >= RF_VT_PROCS)
		return;
	struct rf_vt_proc *p = &sc->shm->procs[proc];
	int n = atomic_exchange(A(p->running), 0);
	for (int i = 0; i < atomic_load(A(sc->shm->nslots)) && i < RF_VT_SLOTS; i++) {
		struct rf_vt_slot *s = &sc->shm->slots[i];
		if (s->proc != proc)
			continue;
		if (atomic_exchange(A(s->state), RF_SLOT_FREE) == RF_SLOT_WAKING)
			n++;
		if (sc->wake_fd[i] >= 0)
			close(sc->wake_fd[i]);
		sc->wake_fd[i] = -1;
	}
	atomic_fetch_sub(A(sc->shm->running), n);
	atomic_fetch_sub(A(sc->shm->waiting), atomic_exchange(A(p->wants), 0));
	if (sc->released == proc)
		sc->released = -1;
	if (sc->current == proc)
		sc->current = -1;
	if (sc->shm->tokens_enabled && atomic_exchange(A(p->has_token), 0))
		sem_post(&sc->shm->tokens);
}

/* 1 if every thread of the process is blocked in a wait (its run slot given back), 0 if one runs or is woken. */
RF_EXPORT int rf_sched_proc_idle(struct sched *sc, int proc)
{
	if (proc < 0 || proc >= RF_VT_PROCS)
		return 1;
	struct rf_vt_proc *p = &sc->shm->procs[proc];
	return atomic_load(A(p->running)) == 0 && !atomic_load(A(p->has_token));
}

RF_EXPORT unsigned rf_sched_proc_polls(struct sched *sc, int proc)
{
	if (proc < 0 || proc >= RF_VT_PROCS)
		return 0;
	return atomic_load(A(sc->shm->procs[proc].polls));
}

/* One process at a time, in the controller's order (vclock.h). Set before any daemon starts. */
RF_EXPORT void rf_sched_set_ordered(struct sched *sc, int on)
{
	atomic_store(A(sc->shm->ordered), on ? 1 : 0);
}

RF_EXPORT int rf_sched_quiets(struct sched *sc)
{
	return sc->quiets;
}

RF_EXPORT void rf_sched_set_rank(struct sched *sc, int proc, int rank)
{
	if (proc >= 0 && proc < RF_VT_PROCS)
		atomic_store(A(sc->shm->procs[proc].rank), rank);
}

/* Ordered runs, with nothing else able to run: give its turn to the first process, by rank (then by its place
 * in the table, for a process whose rank is not known yet), of those waiting for one. Returns it, or -1. */
static int give_turn(struct sched *sc)
{
	int nprocs = atomic_load(A(sc->shm->nprocs)), best = -1, best_rank = 0;
	if (nprocs > RF_VT_PROCS)
		nprocs = RF_VT_PROCS;
	for (int p = 0; p < nprocs; p++) {
		struct rf_vt_proc *pr = &sc->shm->procs[p];
		if (!atomic_load(A(pr->wants)) || !atomic_load(A(pr->held)))
			continue;
		int rank = atomic_load(A(pr->rank));
		if (rank <= 0)
			rank = INT32_MAX - RF_VT_PROCS + p;
		if (best < 0 || rank < best_rank) {
			best = p;
			best_rank = rank;
		}
	}
	if (best >= 0) {
		struct rf_vt_proc *pr = &sc->shm->procs[best];
		sc->released = best;
		sc->current = best;
		sc->released_turns = atomic_load(A(pr->turns));
		sc->releases++;
		atomic_store(A(pr->held), 0);
		syscall(SYS_futex, &pr->held, FUTEX_WAKE, INT32_MAX, NULL, NULL, 0);
	}
	return best;
}

/* Keep an idle process from resuming (its first thread to wake waits), or let it go. */
RF_EXPORT void rf_sched_hold_proc(struct sched *sc, int proc, int held)
{
	if (proc < 0 || proc >= RF_VT_PROCS)
		return;
	struct rf_vt_proc *p = &sc->shm->procs[proc];
	atomic_store(A(p->held), held ? 1 : 0);
	if (!held)
		syscall(SYS_futex, &p->held, FUTEX_WAKE, INT32_MAX, NULL, NULL, 0);
}

/* Bytes written on emulated connections and not yet read: the sum of what waits to be read at every tracked end
 * (FIONREAD), plus one per watched end with data waiting (rf_sched_watch). The epoll set names the ends where
 * anything waits, so a step costs the few busy ones, not all (tens of thousands at k=28). Without epoll, every
 * tracked end is read. */
static char task_state(const char *path);

/* Ordered runs: bytes whose reader is known need not hold a decision when that reader already waits for its turn
 * (they are its input, taken in order), nor when no thread of it was woken by them (it does not poll that end, as
 * bgpd with the losing connection of a collision): the kernel marks a thread runnable as the bytes arrive, so
 * its state says which at once, where otherwise a wait of PARK_NS of wall time would, and a loaded host could
 * make that wait end too early. */
static void index_threads(struct sched *sc)
{
	int n = atomic_load(A(sc->shm->nslots)), nprocs = atomic_load(A(sc->shm->nprocs));
	n = n < RF_VT_SLOTS ? n : RF_VT_SLOTS;
	nprocs = nprocs < RF_VT_PROCS ? nprocs : RF_VT_PROCS;
	memset(sc->proc_head, -1, sizeof(int) * nprocs);
	memset(sc->proc_runs, 0, nprocs);
	for (int i = 0; i < n; i++) {
		struct rf_vt_slot *s = &sc->shm->slots[i];
		int st = atomic_load(A(s->state)), p = s->proc;
		if (st == RF_SLOT_FREE || p < 0 || p >= nprocs)
			continue;
		if (st != RF_SLOT_BLOCKED) {
			sc->proc_runs[p] = 1;
		} else {
			sc->slot_next[i] = sc->proc_head[p];
			sc->proc_head[p] = i;
		}
	}
	sc->index_stamp = sc->stamp;
}

static int claimed(struct sched *sc, uint64_t d)
{
	int owner = (int)((d >> OWNER_SHIFT) & OWNER_MASK) - 1;
	if (owner < 0 || owner >= RF_VT_PROCS || !atomic_load(A(sc->shm->ordered)))
		return 0;
	if (atomic_load(A(sc->shm->procs[owner].wants)))
		return 1;
	if (sc->verdict_stamp[owner] == sc->stamp)
		return sc->verdict[owner];
	if (sc->index_stamp != sc->stamp)
		index_threads(sc);
	int verdict = !sc->proc_runs[owner]; /* one of its threads runs: it may read them now */
	char path[64];
	for (int i = sc->proc_head[owner]; verdict && i >= 0; i = sc->slot_next[i]) {
		snprintf(path, sizeof(path), "/proc/%d/stat", sc->shm->slots[i].tid);
		char st = task_state(path);
		if (st == 'R' || st == 'D')
			verdict = 0;
	}
	sc->verdict_stamp[owner] = sc->stamp;
	sc->verdict[owner] = (uint8_t)verdict;
	return verdict;
}

static long in_flight(struct sched *sc)
{
	long total = 0;
	int q;
	pthread_mutex_lock(&sc->lock);
	sc->stamp++; /* claimed()'s index and verdicts are for this call only */
	int room = sc->ntracked + sc->nwatched + 64; /* watched ones that are gone still count here: a bound */
	if (sc->epfd >= 0 && room > sc->cap_events) {
		struct epoll_event *ev = realloc(sc->events, room * 2 * sizeof(*ev));
		if (ev) {
			sc->events = ev;
			sc->cap_events = room * 2;
		}
	}
	int n = sc->epfd >= 0 && sc->events ? epoll_wait(sc->epfd, sc->events, sc->cap_events, 0) : -1;
	if (n >= 0) {
		for (int i = 0; i < n; i++) {
			uint64_t d = sc->events[i].data.u64;
			if (claimed(sc, d))
				continue; /* its reader already waits for its turn (ordered runs) */
			if (!(d & WATCHED)) {
				if (ioctl((int)(uint32_t)d, FIONREAD, &q) == 0)
					total += q;
			} else if ((sc->events[i].events & EPOLLIN) &&
				   !(sc->events[i].events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))) {
				total++;
			}
		}
	} else {
		for (int i = 0; i < sc->ntracked; i++)
			if (ioctl(sc->tracked[i], FIONREAD, &q) == 0)
				total += q;
	}
	pthread_mutex_unlock(&sc->lock);
	return total;
}

RF_EXPORT long rf_sched_in_flight(struct sched *sc)
{
	return in_flight(sc);
}

static int busy(struct sched *sc)
{
	return atomic_load(A(sc->shm->running)) - atomic_load(A(sc->shm->waiting)) > 0 ||
	       atomic_load(A(sc->shm->msgs)) > 0 ||
	       (sc->released >= 0 && atomic_load(A(sc->shm->procs[sc->released].turns)) == sc->released_turns);
}

/* Tasks the kernel counts as runnable on the whole machine, this one included (the 4th field of
 * /proc/loadavg, "running/total", read live from the run queues). */
static int runnable_tasks(void)
{
	char buf[128];
	int fd = open("/proc/loadavg", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		return -1;
	buf[len] = 0;
	int running = -1, total;
	float a, b, c;
	if (sscanf(buf, "%f %f %f %d/%d", &a, &b, &c, &running, &total) != 5)
		return -1;
	return running;
}

/* A thread that published "blocked" but that the kernel has woken (data on a pipe, a zserv or vty socket)
 * is runnable before it can say so. The kernel knows: its state in /proc is R (or D), not S. Reading that
 * for thousands of threads costs milliseconds per clock move, so first the one-read question: is anything
 * but this thread runnable at all? Mostly nothing is (every daemon blocked, the controller's other threads
 * asleep), and then no thread was woken. */
/* A task's state letter from its /proc stat file (R running or runnable, S sleeping, D uninterruptible, ...), or
 * 0 if it cannot be read. */
static char task_state(const char *path)
{
	char buf[256];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		return 0;
	buf[len] = 0;
	char *p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}

/* How many of the controller's own threads are runnable (this one included): the main thread applying configs or
 * the memory sampler are not daemons, and must not cost a scan of every daemon thread. */
static int own_runnable(void)
{
	DIR *d = opendir("/proc/self/task");
	if (!d)
		return 1;
	int n = 0;
	char path[64];
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/stat", e->d_name);
		if (task_state(path) == 'R')
			n++;
	}
	closedir(d);
	return n ? n : 1;
}

/* Only processes where a thread blocked or resumed since the last check that found them idle are read: a thread
 * the kernel woke without our knowing was woken by a thread of its own process (its netlink replies, a futex),
 * every channel between processes being tracked (track.c, watched connection ends, raw inboxes), and that
 * waker's own block shows as activity. So a check reads the few routers that did something, not thousands of
 * threads (about 40 ms at k=16 on a loaded machine, where the run-queue count rarely says "nothing"). */
static int woken_by_kernel(struct sched *sc, int n)
{
	char path[64];
	int r = runnable_tasks();
	if (r == 1)
		return 0;
	/* Ours on both sides of the machine-wide count: none of the runnable tasks can be a daemon's. */
	int own = own_runnable();
	if (r <= own && runnable_tasks() <= own && own_runnable() >= r)
		return 0;
	sc->scans++;
	static uint32_t act[RF_VT_PROCS];
	static uint8_t look[RF_VT_PROCS];
	int nprocs = atomic_load(A(sc->shm->nprocs));
	if (nprocs > RF_VT_PROCS)
		nprocs = RF_VT_PROCS;
	for (int p = 0; p < nprocs; p++) {
		act[p] = atomic_load(A(sc->shm->procs[p].activity));
		look[p] = !sc->seen_valid[p] || act[p] != sc->seen_activity[p];
	}
	for (int i = 0; i < n; i++) {
		struct rf_vt_slot *s = &sc->shm->slots[i];
		if (atomic_load(A(s->state)) != RF_SLOT_BLOCKED || s->proc < 0 || s->proc >= nprocs || !look[s->proc])
			continue;
		snprintf(path, sizeof(path), "/proc/%d/stat", s->tid);
		char state = task_state(path); /* 0 if gone: the process-death path cleans it up */
		if (state == 'R' || state == 'D')
			return 1;
	}
	for (int p = 0; p < nprocs; p++) {
		sc->seen_activity[p] = act[p];
		sc->seen_valid[p] = 1;
	}
	return 0;
}

static int64_t mono_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* Bytes in flight normally mean a reader is about to run: the kernel makes a thread polling that socket
 * runnable as the bytes arrive. But a daemon may hold a connection it no longer reads (bgpd keeps the losing
 * connection of a collision open without polling it), and its unread bytes would stop the clock for good, where
 * on a real kernel they just sit in a buffer. So: when nothing has run and the in-flight total has not changed
 * for PARK_NS of wall time, those bytes are parked and no longer hold the clock (the /proc check for a
 * kernel-woken thread still guards every advance). */
#define PARK_NS 20000000LL
static int parked_now(struct sched *sc, long flight)
{
	int64_t t = mono_ns();
	if (flight != sc->pending) {
		sc->pending = flight;
		sc->pending_since = t;
		return 0;
	}
	if (t - sc->pending_since < PARK_NS)
		return 0;
	if (sc->parked != flight)
		sc->parks++;
	sc->parked = flight;
	return 1;
}

static void wait_kick(struct sched *sc, uint32_t seen, int wait_us)
{
	struct timespec t = {wait_us / 1000000, (wait_us % 1000000) * 1000L};
	syscall(SYS_futex, &sc->shm->kick, FUTEX_WAIT, seen, &t, NULL, 0);
}

/* One scheduling decision. Returns 0: something can still run (waited up to wait_us for that to change);
 * 1: the clock moved and threads were woken (rf_sched_last_woken() tells how many); 2: idle, and no deadline
 * before `limit` (the clock moved to `limit` if finite); 3: idle with no deadline at all.
 * With `hold`, threads due exactly at `limit` are not woken yet: the clock stops at `limit` first (a replay puts
 * in what the router met in the same poll as its timers of that instant, before they wake it). */
static int decide(struct sched *sc, int64_t limit, int hold, int64_t quantum, int wait_us, int spin_us)
{
	int64_t wake_limit = hold && limit != RF_VT_NONE ? limit - 1 : limit;
	uint32_t seen = atomic_load(A(sc->shm->kick));
	int ordered = atomic_load(A(sc->shm->ordered));
	if (sc->released >= 0 && atomic_load(A(sc->shm->procs[sc->released].turns)) != sc->released_turns)
		sc->released = -1; /* it has resumed: it counts as running until it is idle again */
	if ((atomic_load(A(sc->shm->frozen)) && !ordered) || busy(sc)) {
		sc->pending = -1; /* something runs: a wait for parked bytes starts over */
		wait_kick(sc, seen, wait_us);
		return 0;
	}
	long flight = in_flight(sc);
	if (flight > 0 && flight != sc->parked && !parked_now(sc, flight)) {
		wait_kick(sc, seen, 200); /* a reader is about to wake (or is slow to read): no need to spin hot; an
					  * ordered run's reader kicks as it starts waiting for its turn */
		return 0;
	}
	/* A thread the kernel just woke has not yet said so: give it a moment, then look again. */
	uint32_t gen = atomic_load(A(sc->shm->generation));
	if (!ordered || sc->current < 0)
		usleep(spin_us); /* (an ordered turn's end needs no pause: its process's own wake-ups show in /proc) */
	if (busy(sc) || atomic_load(A(sc->shm->generation)) != gen || in_flight(sc) != flight)
		return 0;
	int n = atomic_load(A(sc->shm->nslots));
	if (n > RF_VT_SLOTS)
		n = RF_VT_SLOTS;
	if (woken_by_kernel(sc, n) || busy(sc) || atomic_load(A(sc->shm->generation)) != gen) {
		if (ordered)
			wait_kick(sc, seen, 100); /* it will say so (it runs, or waits for its turn: both kick) */
		return 0;
	}
	/* Ordered runs: nothing can run but what waits for its turn. The process whose turn it was is quiet now
	 * (nothing of it runs, was woken or has bytes waiting): its turn ends. The first by rank of those waiting
	 * goes next, and the clock moves only when nobody waits (nor while frozen: daemons still boot). */
	if (ordered && sc->current >= 0) {
		atomic_store(A(sc->shm->procs[sc->current].held), 1);
		sc->current = -1;
	}
	if (ordered && give_turn(sc) >= 0)
		return 0;
	if (atomic_load(A(sc->shm->frozen))) {
		sc->quiets++; /* frozen, and nothing can run: a boot step is done (rf_sched_quiets) */
		wait_kick(sc, seen, wait_us);
		return 0;
	}
	int64_t first = RF_VT_NONE;
	for (int i = 0; i < n; i++) {
		struct rf_vt_slot *s = &sc->shm->slots[i];
		if (atomic_load(A(s->state)) == RF_SLOT_BLOCKED && s->deadline < first)
			first = s->deadline;
	}
	int64_t now = atomic_load(A(sc->shm->now));
	if (first == RF_VT_NONE || first > wake_limit) {
		if (limit != RF_VT_NONE && limit > now)
			atomic_store(A(sc->shm->now), limit);
		return first == RF_VT_NONE ? 3 : 2;
	}
	/* Timers within `quantum` of the first fire together (the kernel's timer slack does the same). A replay
	 * fires them where the recorded run did: at its first clock move not before the deadline (the recorded
	 * run's other routers' timers decided where the quantum fell). */
	int64_t target = first, recorded = sc->ninstants ? instant_from(sc, first) : RF_VT_NONE;
	if (recorded != RF_VT_NONE) {
		if (recorded > wake_limit) {
			if (limit > now)
				atomic_store(A(sc->shm->now), limit);
			return 2;
		}
		target = recorded;
	} else {
		for (int i = 0; i < n; i++) {
			struct rf_vt_slot *s = &sc->shm->slots[i];
			if (atomic_load(A(s->state)) == RF_SLOT_BLOCKED && s->deadline <= first + quantum &&
			    s->deadline > target && s->deadline <= wake_limit)
				target = s->deadline;
		}
	}
	if (target > now)
		atomic_store(A(sc->shm->now), target);
	else
		target = now;
	sc->last_woken = 0;
	for (int i = 0; i < n; i++) {
		struct rf_vt_slot *s = &sc->shm->slots[i];
		int blocked = RF_SLOT_BLOCKED;
		if (s->deadline <= target && sc->wake_fd[i] != -1 &&
		    atomic_compare_exchange_strong(A(s->state), &blocked, RF_SLOT_WAKING)) {
			atomic_fetch_add(A(sc->shm->running), 1);
			wake(sc, i);
			sc->woken_slot[sc->last_woken++] = i;
		}
	}
	return 1;
}

/* Ordered runs hand turns on here, without going back to the controller's loop (a Python iteration per decision
 * was most of their cost), until there is a message for the controller to answer, the clock moved or went idle,
 * or wait_us have passed (the controller's loop also accepts daemons that start, whose first message is not
 * counted yet). */
RF_EXPORT int rf_sched_step(struct sched *sc, int64_t limit, int hold, int64_t quantum, int wait_us, int spin_us)
{
	int64_t until = mono_ns() + wait_us * 1000LL;
	for (;;) {
		int r = decide(sc, limit, hold, quantum, wait_us, spin_us);
		if (r != 0 || !atomic_load(A(sc->shm->ordered)) || atomic_load(A(sc->shm->msgs)) > 0 ||
		    mono_ns() >= until)
			return r;
	}
}

RF_EXPORT int rf_sched_last_woken(struct sched *sc)
{
	return sc->last_woken;
}

/* Who the last clock move woke: (pid, tid) per thread, at most `max`; returns how many. */
RF_EXPORT int rf_sched_woken(struct sched *sc, int32_t *pids, int32_t *tids, int max)
{
	int n = sc->last_woken < max ? sc->last_woken : max;
	for (int k = 0; k < n; k++) {
		struct rf_vt_slot *s = &sc->shm->slots[sc->woken_slot[k]];
		pids[k] = s->proc >= 0 && s->proc < RF_VT_PROCS ? sc->shm->procs[s->proc].pid : 0;
		tids[k] = s->tid;
	}
	return n;
}

RF_EXPORT void rf_sched_counts(struct sched *sc, int *out)
{
	out[0] = atomic_load(A(sc->shm->running));
	out[1] = atomic_load(A(sc->shm->msgs));
	out[2] = atomic_load(A(sc->shm->nslots));
	out[3] = atomic_load(A(sc->shm->nprocs));
	out[4] = (int)atomic_load(A(sc->shm->generation));
	out[5] = sc->parks;
	out[6] = sc->scans;
	out[7] = sc->releases;
}
