/*
 * systemd notifications (see qgw_notify.h), through libsystemd's sd_notify.
 */
#include "qgw_notify.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

#include <systemd/sd-daemon.h>

static uint64_t watchdog_ns; /* half the interval systemd asked for, 0: none */
static uint64_t next_watchdog;

void
qgw_notify_init(void)
{
	uint64_t usec = 0;

	if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0)
		watchdog_ns = usec * 1000 / 2;
}

void
qgw_notify_ready(const char *status)
{
	sd_notifyf(0, "READY=1\nSTATUS=%s", status);
}

void
qgw_notify_status(const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	sd_notifyf(0, "STATUS=%s", buf);
}

void
qgw_notify_watchdog(uint64_t now_ns)
{
	if (watchdog_ns == 0 || now_ns < next_watchdog)
		return;
	next_watchdog = now_ns + watchdog_ns;
	sd_notify(0, "WATCHDOG=1");
}

void
qgw_notify_stopping(void)
{
	sd_notify(0, "STOPPING=1");
}
