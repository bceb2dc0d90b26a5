/* The router's identity: uname()/gethostname() report the router's name, as on a real box (or in a topotest,
 * where each router has its own UTS namespace). FRR uses it for its default hostname, which bgpd sends in
 * the hostname capability and which appears in `show bgp summary json`. */
#include "libreal.h"

#include <stdio.h>
#include <errno.h>
#include <string.h>
#include <sys/utsname.h>

RF_EXPORT int uname(struct utsname *buf)
{
	RF_INIT();
	int r = rf_real.uname(buf);
	if (r == 0 && rf_active())
		snprintf(buf->nodename, sizeof(buf->nodename), "%s", rf_router());
	return r;
}

RF_EXPORT int gethostname(char *name, size_t len)
{
	RF_INIT();
	if (!rf_active())
		return rf_real.gethostname(name, len);
	size_t n = strlen(rf_router());
	if (n + 1 > len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(name, rf_router(), n + 1);
	return 0;
}
