/*
 * memory.c: what FRR zeroes in bulk, zeroed without touching every page.
 *
 * bgpd (FRR 8.4) gives every BGP peer a 655 KiB input ring (ten 64 KiB extended messages) and wipes it with
 * memset at every session stop (bgp_stop), which the first refused connects at boot do for nearly every peer:
 * each wipe makes all 160 pages of the ring resident for good, about 0.65 MiB per peer, 14 GiB for the 21,952
 * peers of a k=28 fat-tree. The ring's memory comes from malloc (private anonymous), where madvise(MADV_DONTNEED)
 * gives whole pages back to the kernel and later reads see zeros, exactly what memset leaves; the partial pages
 * at the edges are memset. Then FRR's own ringbuf_reset. Only in emulated daemons (rf_active).
 */
#include "libreal.h"

#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* lib/ringbuf.h of FRR 8.4.4 */
struct frr_ringbuf {
	size_t size;
	ssize_t start;
	ssize_t end;
	bool empty;
	uint8_t *data;
};

RF_EXPORT void rf_zero(void *p, size_t n)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t a = (uintptr_t)p, lo = (a + page - 1) & ~(page - 1), hi = (a + n) & ~(page - 1);
	if (hi <= lo || madvise((void *)lo, hi - lo, MADV_DONTNEED) != 0) {
		memset(p, 0, n);
		return;
	}
	memset(p, 0, lo - a);
	memset((void *)hi, 0, a + n - hi);
}

RF_EXPORT void ringbuf_wipe(struct frr_ringbuf *buf)
{
	RF_INIT();
	if (!rf_active() || !rf_real.ringbuf_reset) {
		((void (*)(void *))rf_need(rf_real.ringbuf_wipe, "ringbuf_wipe"))(buf);
		return;
	}
	rf_zero(buf->data, buf->size);
	rf_real.ringbuf_reset(buf);
}
