/* The router's interface table, written by the runtime into the run directory, plus the addresses zebra
 * has installed since (zebra configures addresses itself, through netlink, as on a Linux box).
 *
 * File format, one record a line:
 *   link IFINDEX NAME MTU MAC FLAGS      (FLAGS as in ifi_flags, decimal)
 *   addr IFINDEX ADDRESS/PLEN            (pre-provisioned, e.g. 127.0.0.1/8 on lo)
 */
#include "libreal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RF_MAX_IF 1024
#define RF_MAX_ADDR 4096

static struct rf_if ifs[RF_MAX_IF];
static int nifs;
static struct rf_ifaddr addrs[RF_MAX_ADDR];
static int naddrs;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

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

int rf_iftable_load(const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	char line[256];
	int lineno = 0;
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		char kind[8], name[16], mac[32], prefix[64];
		int idx, mtu;
		unsigned flags;
		if (sscanf(line, "link %d %15s %d %31s %u", &idx, name, &mtu, mac, &flags) == 5 && nifs < RF_MAX_IF) {
			struct rf_if *i = &ifs[nifs++];
			i->index = idx;
			snprintf(i->name, sizeof(i->name), "%s", name);
			i->mtu = mtu;
			i->flags = flags;
			unsigned m[6] = {0};
			sscanf(mac, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]);
			for (int k = 0; k < 6; k++)
				i->mac[k] = m[k];
		} else if (sscanf(line, "addr %d %63s", &idx, prefix) == 2 && naddrs < RF_MAX_ADDR) {
			struct rf_ifaddr *a = &addrs[naddrs];
			a->ifindex = idx;
			if (parse_prefix(prefix, a) == 0)
				naddrs++;
			else
				rf_log("%s:%d: bad address %s", path, lineno, prefix);
		} else if (sscanf(line, "%7s", kind) == 1 && kind[0] != '#') {
			rf_log("%s:%d: unknown record", path, lineno);
		}
	}
	fclose(f);
	return 0;
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
			err = ENOSPC;
		else
			addrs[naddrs++] = *a;
	} else {
		if (found < 0)
			err = EADDRNOTAVAIL;
		else
			addrs[found] = addrs[--naddrs];
	}
	pthread_mutex_unlock(&lock);
	return err;
}
