/*
 * The virtual clock and the run slots, shared between every daemon (libreal) and the controller: one file
 * per run, mapped MAP_SHARED. Layout is plain C so that the controller's scheduler (sched.c, same library,
 * called through ctypes) and the daemons agree on it.
 *
 * Accounting: `running` counts threads that are not blocked in an intercepted wait (ppoll, poll, select,
 * epoll_wait, nanosleep, condition waits). A thread that blocks publishes its virtual deadline in its slot and
 * decrements `running`; when the controller finds the emulation idle (running == 0, no message unprocessed,
 * no byte unread on an emulated connection, nothing woke meanwhile) it moves `now` to the earliest deadline
 * and wakes exactly the threads due, through their eventfds. Run slots: at most `tokens` processes run at
 * once; a process takes a token when its first thread wakes and gives it back when its last thread blocks.
 * Ordered runs (`ordered`): one process at a time, and which one is the controller's choice, by rank, among
 * those that want to run once nothing else can: the order inside a virtual instant is then the emulation's,
 * not the host scheduler's (docs/explore.md).
 */
#ifndef REALFISH_VCLOCK_H
#define REALFISH_VCLOCK_H

#include <semaphore.h>
#include <stdint.h>

#define RF_VT_MAGIC 0x52465654u
#define RF_VT_SLOTS 16384
#define RF_VT_PROCS 8192
#define RF_VT_NONE INT64_MAX

enum { RF_SLOT_FREE = 0, RF_SLOT_RUNNING = 1, RF_SLOT_BLOCKED = 2, RF_SLOT_WAKING = 3 };

/* Fields marked "atomic" are C11 _Atomic: every access is atomic, both in the daemons and in the controller's
 * scheduler. On x86-64 and aarch64 an _Atomic integer has its plain type's size and alignment, so the layout is
 * the one the Python side reads (realfish/runtime/vclock.py, tests/test_vtime.py); the asserts below hold it. */
struct rf_vt_slot {
	_Atomic int32_t state;    /* RF_SLOT_*, atomic */
	int32_t proc;             /* index into procs */
	int32_t tid;
	int32_t pad;
	_Atomic int64_t deadline; /* virtual ns, RF_VT_NONE when waiting for I/O only, atomic */
};

struct rf_vt_proc {
	int32_t pid;
	_Atomic int32_t running;   /* threads of this process not blocked, atomic */
	_Atomic int32_t has_token; /* atomic */
	_Atomic int32_t held;      /* futex word: 1 while the controller keeps an idle process from resuming (a
				    * replay putting several messages in at once), atomic */
	_Atomic uint32_t polls;    /* how often its main thread's polls returned (a replay's inputs go in poll by
				    * poll), atomic */
	_Atomic uint32_t activity; /* bumps whenever one of its threads blocks or resumes, atomic (sched.c's /proc
				    * check) */
	_Atomic int32_t wants;     /* ordered runs: 1 while a thread of it waits for its turn (held), atomic */
	_Atomic int32_t rank;      /* ordered runs: its place in the order of turns (the controller's, by router and
				    * daemon); 0 unknown, atomic */
	_Atomic uint32_t turns;    /* ordered runs: bumps as a thread goes on after the controller gave its turn,
				    * atomic */
	int32_t pad;
};

struct rf_vt_shm {
	_Atomic uint32_t magic;       /* atomic: written last when the controller creates the clock */
	_Atomic int32_t frozen;       /* 1: the clock does not move (set-up, queries), atomic */
	_Atomic int64_t now;          /* virtual CLOCK_MONOTONIC, ns, atomic */
	int64_t realtime_offset;      /* CLOCK_REALTIME = now + offset */
	_Atomic int32_t running;      /* see above, atomic */
	_Atomic int32_t msgs;         /* messages sent to the controller and not yet processed, atomic */
	_Atomic uint32_t generation;  /* bumps whenever a thread resumes, atomic */
	_Atomic uint32_t kick;        /* futex word the controller waits on, bumped when running hits 0 or a message is
				       * sent, atomic */
	_Atomic int32_t nslots, nprocs; /* allocation counters, atomic */
	int32_t tokens_enabled;
	_Atomic int32_t ordered;      /* 1: one process runs at a time, in the controller's order (an idle process
				       * holds itself; the controller lets the first by rank go when nothing else can
				       * run), atomic */
	_Atomic int32_t waiting;      /* threads counted in `running` that wait for their process's turn, atomic */
	int32_t pad2;
	sem_t tokens;                 /* process-shared */
	struct rf_vt_proc procs[RF_VT_PROCS];
	struct rf_vt_slot slots[RF_VT_SLOTS];
};

/* The layout the Python side reads (tests/test_vtime.py's ctypes mirror). */
_Static_assert(sizeof(struct rf_vt_slot) == 24, "rf_vt_slot layout");
_Static_assert(sizeof(struct rf_vt_proc) == 40, "rf_vt_proc layout");
_Static_assert(__builtin_offsetof(struct rf_vt_shm, now) == 8, "rf_vt_shm layout");
_Static_assert(__builtin_offsetof(struct rf_vt_shm, running) == 24, "rf_vt_shm layout");
_Static_assert(__builtin_offsetof(struct rf_vt_shm, tokens) == 64, "rf_vt_shm layout");
_Static_assert(__builtin_offsetof(struct rf_vt_shm, procs) == 96, "rf_vt_shm layout");
_Static_assert(__builtin_offsetof(struct rf_vt_shm, slots) == 96 + 40 * RF_VT_PROCS, "rf_vt_shm layout");

#endif
