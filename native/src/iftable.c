/* The router's interface table, written by the runtime into the run directory, plus the addresses zebra
 * has installed since (zebra configures addresses itself, through netlink, as on a Linux box).
 *
 * File format, one record a line:
 *   link IFINDEX NAME MTU MAC FLAGS SPEED (FLAGS as in ifi_flags, decimal; SPEED in Mb/s, 0: none, as lo)
 *   addr IFINDEX ADDRESS/PLEN            (pre-provisioned, e.g. 127.0.0.1/8 on lo)
 *   segment IFINDEX NAME                 (the L2 segment the interface is on)
 *   member IFINDEX ROUTER IFINDEX2       (another end of that segment: ROUTER's interface IFINDEX2)
 *
 * Addresses are per host, not per process: ospfd must know what zebra installed (raw sockets accept unicast
 * for the router's own addresses and pick source addresses), but only zebra sees the netlink requests. So the
 * table is also published in a small shared mapping next to the interface table (PATH.addrs), written by the
 * process that changes addresses (zebra) under a sequence lock and read lock-free by the router's other daemons.
 */
#include "libreal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/ethtool.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>


static struct rf_if ifs[RF_MAX_IF];
static int nifs;
static struct rf_ifaddr addrs[RF_MAX_ADDR];
static int naddrs;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

void rf_iftable_fork(enum rf_fork_phase phase)
{
	static pthread_mutex_t *const locks[] = {&lock};
	rf_fork_locks(phase, locks, 1);
}

/* Segment ends, sorted by local ifindex after loading; read-only afterwards. */
static int *member_if;
static struct rf_member *members;
static int nmembers;

#define RF_SHARED_ADDR RF_MAX_ADDR /* every address: the other daemons must see what zebra installed */
#define SHARED_MAGIC 0x52464164u /* "RFAd" */
struct shared_addrs {
	uint32_t magic;
	uint32_t seq; /* odd while the writer is at work */
	int32_t n;
	int32_t pad;
	struct rf_ifaddr a[RF_SHARED_ADDR];
};
static struct shared_addrs *shared;

static void shared_publish_locked(void)
{
	if (!shared)
		return;
	uint32_t seq = __atomic_load_n(&shared->seq, __ATOMIC_RELAXED);
	__atomic_store_n(&shared->seq, seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	int n = naddrs < RF_SHARED_ADDR ? naddrs : RF_SHARED_ADDR;
	memcpy(shared->a, addrs, n * sizeof(addrs[0]));
	shared->n = n;
	__atomic_store_n(&shared->seq, seq + 2, __ATOMIC_RELEASE);
}

/* Map PATH.addrs; whoever creates it (zebra, which starts first) fills it with the pre-provisioned addresses. */
static void shared_open(const char *iftable)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s.addrs", iftable);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		rf_log("cannot open the shared address table %s: %s", path, strerror(errno));
		return;
	}
	flock(fd, LOCK_EX);
	struct stat st;
	int fresh = fstat(fd, &st) == 0 && st.st_size < (off_t)sizeof(*shared);
	if (fresh && ftruncate(fd, sizeof(*shared)) < 0) {
		rf_log("cannot size %s: %s", path, strerror(errno));
		flock(fd, LOCK_UN);
		close(fd);
		return;
	}
	void *m = mmap(NULL, sizeof(*shared), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		rf_log("cannot map %s: %s", path, strerror(errno));
	} else {
		shared = m;
		if (fresh || shared->magic != SHARED_MAGIC) {
			pthread_mutex_lock(&lock);
			shared_publish_locked();
			shared->magic = SHARED_MAGIC;
			pthread_mutex_unlock(&lock);
		}
	}
	flock(fd, LOCK_UN);
	close(fd); /* the mapping stays */
}

static int cmp_member(const void *a, const void *b)
{
	const int *x = a, *y = b; /* pairs (ifindex, original position) */
	return x[0] != y[0] ? x[0] - y[0] : x[1] - y[1];
}

static void sort_members(void)
{
	int *keys = malloc(2 * sizeof(int) * (nmembers ? nmembers : 1));
	struct rf_member *sorted = malloc(sizeof(*sorted) * (nmembers ? nmembers : 1));
	if (!keys || !sorted) {
		free(keys);
		free(sorted);
		return;
	}
	for (int i = 0; i < nmembers; i++) {
		keys[2 * i] = member_if[i];
		keys[2 * i + 1] = i;
	}
	qsort(keys, nmembers, 2 * sizeof(int), cmp_member);
	for (int i = 0; i < nmembers; i++)
		sorted[i] = members[keys[2 * i + 1]];
	for (int i = 0; i < nmembers; i++)
		member_if[i] = keys[2 * i];
	free(members);
	free(keys);
	members = sorted;
}

static int cap; /* of member_if and members */

static void add_member(int ifindex, const char *router, int peer_ifindex)
{
	if (nmembers == cap) {
		int ncap = cap ? 2 * cap : 16;
		int *mi = realloc(member_if, ncap * sizeof(int));
		if (mi)
			member_if = mi;
		struct rf_member *m = realloc(members, ncap * sizeof(*m));
		if (m)
			members = m;
		if (!mi || !m)
			return;
		cap = ncap;
	}
	member_if[nmembers] = ifindex;
	snprintf(members[nmembers].router, sizeof(members[nmembers].router), "%s", router);
	members[nmembers].ifindex = peer_ifindex;
	nmembers++;
}

static int parse_prefix(const char *text, struct rf_ifaddr *a)
{
	char buf[64];
	snprintf(buf, sizeof(buf), "%s", text);
	char *slash = strchr(buf, '/');
	if (!slash)
		return -1;
	*slash = 0;
	a->plen = atoi(slash + 1);
	memset(a->addr, 0, sizeof(a->addr));
	if (inet_pton(AF_INET, buf, a->addr) == 1)
		a->family = AF_INET;
	else if (inet_pton(AF_INET6, buf, a->addr) == 1)
		a->family = AF_INET6;
	else
		return -1;
	return 0;
}

/* A forked daemon forgets the zygote's table before it loads its router's (zygote.c). */
void rf_iftable_reset(void)
{
	pthread_mutex_lock(&lock);
	nifs = naddrs = 0;
	free(member_if);
	free(members);
	member_if = NULL;
	members = NULL;
	nmembers = cap = 0;
	if (shared)
		munmap(shared, sizeof(*shared));
	shared = NULL;
	pthread_mutex_unlock(&lock);
}

int rf_iftable_load(const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	char line[256];
	int lineno = 0;
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		char kind[8], name[16], mac[32], prefix[64], peer[64];
		int idx, mtu, idx2, speed = 0;
		unsigned flags;
		if (sscanf(line, "link %d %15s %d %31s %u %d", &idx, name, &mtu, mac, &flags, &speed) >= 5) {
			if (nifs == RF_MAX_IF)
				rf_fatal("%s:%d: more than %d interfaces", path, lineno, RF_MAX_IF);
			struct rf_if *i = &ifs[nifs++];
			i->index = idx;
			i->speed = speed;
			snprintf(i->name, sizeof(i->name), "%s", name);
			i->mtu = mtu;
			i->flags = flags;
			unsigned m[6] = {0};
			sscanf(mac, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]);
			for (int k = 0; k < 6; k++)
				i->mac[k] = m[k];
		} else if (sscanf(line, "addr %d %63s", &idx, prefix) == 2) {
			if (naddrs == RF_MAX_ADDR)
				rf_fatal("%s:%d: more than %d addresses", path, lineno, RF_MAX_ADDR);
			struct rf_ifaddr *a = &addrs[naddrs];
			a->ifindex = idx;
			if (parse_prefix(prefix, a) == 0)
				naddrs++;
			else
				rf_log("%s:%d: bad address %s", path, lineno, prefix);
		} else if (sscanf(line, "segment %d %63s", &idx, peer) == 2) {
			/* the name is for people reading the file; delivery needs only the members */
		} else if (sscanf(line, "member %d %63s %d", &idx, peer, &idx2) == 3) {
			add_member(idx, peer, idx2);
		} else if (sscanf(line, "%7s", kind) == 1 && kind[0] != '#') {
			rf_log("%s:%d: unknown record", path, lineno);
		}
	}
	fclose(f);
	sort_members();
	shared_open(path);
	return 0;
}

int rf_if_members(int ifindex, const struct rf_member **out)
{
	int first = -1, n = 0;
	for (int i = 0; i < nmembers; i++)
		if (member_if[i] == ifindex) {
			if (first < 0)
				first = i;
			n++;
		}
	*out = first >= 0 ? &members[first] : NULL;
	return n;
}

int rf_if_by_index(int ifindex, struct rf_if *out)
{
	for (int i = 0; i < nifs; i++)
		if (ifs[i].index == ifindex) {
			*out = ifs[i];
			return 0;
		}
	return -1;
}

/* The interface a packet leaves on (raw.c, raw6.c): ENODEV if there is none, ENETDOWN if it is down. */
int rf_if_sending(int ifindex, struct rf_if *out)
{
	if (rf_if_by_index(ifindex, out) < 0) {
		errno = ENODEV;
		return -1;
	}
	if (!(out->flags & IFF_UP)) {
		errno = ENETDOWN;
		return -1;
	}
	return 0;
}

int rf_if_by_name(const char *name, struct rf_if *out)
{
	for (int i = 0; i < nifs; i++)
		if (strcmp(ifs[i].name, name) == 0) {
			*out = ifs[i];
			return 0;
		}
	return -1;
}

int rf_addr_find(int (*match)(const struct rf_ifaddr *, const void *), const void *ctx, struct rf_ifaddr *out)
{
	if (!shared) { /* no mapping: this process's own view */
		pthread_mutex_lock(&lock);
		int found = 0;
		for (int i = 0; i < naddrs && !found; i++)
			if (match(&addrs[i], ctx)) {
				*out = addrs[i];
				found = 1;
			}
		pthread_mutex_unlock(&lock);
		return found;
	}
	for (;;) {
		uint32_t seq = __atomic_load_n(&shared->seq, __ATOMIC_ACQUIRE);
		if (seq & 1) {
			sched_yield();
			continue;
		}
		int found = 0, n = shared->n;
		struct rf_ifaddr a;
		for (int i = 0; i < n && i < RF_SHARED_ADDR && !found; i++) {
			memcpy(&a, &shared->a[i], sizeof(a));
			if (a.family == AF_INET || a.family == AF_INET6)
				found = match(&a, ctx);
		}
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&shared->seq, __ATOMIC_RELAXED) == seq) {
			if (found)
				*out = a;
			return found;
		}
	}
}

int rf_if_count(void)
{
	return nifs;
}

int rf_if_get(int i, struct rf_if *out)
{
	if (i < 0 || i >= nifs)
		return -1;
	*out = ifs[i];
	return 0;
}

int rf_if_name(int ifindex, char *out)
{
	for (int i = 0; i < nifs; i++)
		if (ifs[i].index == ifindex) {
			strcpy(out, ifs[i].name);
			return 0;
		}
	return -1;
}

int rf_addr_snapshot(struct rf_ifaddr *out, int max)
{
	pthread_mutex_lock(&lock);
	int n = naddrs < max ? naddrs : max;
	memcpy(out, addrs, n * sizeof(*out));
	pthread_mutex_unlock(&lock);
	return n;
}

/* Returns 0 on change, or an errno the kernel would give (EEXIST, EADDRNOTAVAIL, ENODEV). */
int rf_addr_update(int add, const struct rf_ifaddr *a)
{
	char name[16];
	if (rf_if_name(a->ifindex, name) < 0)
		return ENODEV;
	int alen = a->family == AF_INET ? 4 : 16;
	pthread_mutex_lock(&lock);
	int found = -1;
	for (int i = 0; i < naddrs; i++)
		if (addrs[i].ifindex == a->ifindex && addrs[i].family == a->family &&
		    addrs[i].plen == a->plen && memcmp(addrs[i].addr, a->addr, alen) == 0)
			found = i;
	int err = 0;
	if (add) {
		if (found >= 0)
			err = EEXIST;
		else if (naddrs >= RF_MAX_ADDR)
			rf_fatal("more than %d addresses on the router's interfaces", RF_MAX_ADDR);
		else
			addrs[naddrs++] = *a;
	} else {
		if (found < 0)
			err = EADDRNOTAVAIL;
		else
			addrs[found] = addrs[--naddrs];
	}
	if (!err)
		shared_publish_locked();
	pthread_mutex_unlock(&lock);
	return err;
}

/* SIOCETHTOOL: a port's link settings from the table. zebra reads the speed (ETHTOOL_GSET in 8.4, the newer
 * ETHTOOL_GLINKSETTINGS answered too) and ospfd derives its auto-cost from it, as from a real port's. Answered
 * as a veth answers (full duplex, no autonegotiation); an interface without a speed (lo) has no link
 * settings, as the kernel's loopback; any other ethtool command is not supported, as by a simple driver. */
#define RF_LINK_MODE_NWORDS 4 /* __ETHTOOL_LINK_MODE_MASK_NU32, as a 6.x kernel answers */
int rf_if_ethtool(struct ifreq *ifr)
{
	char name[IFNAMSIZ + 1];
	memcpy(name, ifr->ifr_name, IFNAMSIZ);
	name[IFNAMSIZ] = 0;
	struct rf_if i;
	if (rf_if_by_name(name, &i) < 0) {
		errno = ENODEV;
		return -1;
	}
	void *data = ifr->ifr_data;
	if (!data) {
		errno = EFAULT;
		return -1;
	}
	uint32_t cmd;
	memcpy(&cmd, data, sizeof(cmd));
	if (i.speed <= 0 || (cmd != ETHTOOL_GSET && cmd != ETHTOOL_GLINKSETTINGS)) {
		errno = EOPNOTSUPP;
		return -1;
	}
	if (cmd == ETHTOOL_GSET) {
		struct ethtool_cmd *e = data;
		memset(e, 0, sizeof(*e));
		e->cmd = cmd;
		ethtool_cmd_speed_set(e, (uint32_t)i.speed);
		e->duplex = DUPLEX_FULL;
		e->port = PORT_TP;
		e->autoneg = AUTONEG_DISABLE;
		return 0;
	}
	struct ethtool_link_settings *l = data;
	int nwords = l->link_mode_masks_nwords;
	if (nwords != RF_LINK_MODE_NWORDS) { /* the kernel's handshake: it tells the caller the masks' size */
		memset(l, 0, sizeof(*l));
		l->cmd = cmd;
		l->link_mode_masks_nwords = -RF_LINK_MODE_NWORDS;
		return 0;
	}
	memset(l, 0, sizeof(*l) + 3 * RF_LINK_MODE_NWORDS * sizeof(uint32_t));
	l->cmd = cmd;
	l->speed = (uint32_t)i.speed;
	l->duplex = DUPLEX_FULL;
	l->port = PORT_TP;
	l->autoneg = AUTONEG_DISABLE;
	l->link_mode_masks_nwords = RF_LINK_MODE_NWORDS;
	return 0;
}
