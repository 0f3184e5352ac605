/*
 * systemd service notifications (sd_notify(3)): READY=1 once the ports
 * forward, STATUS= with a one-line state, WATCHDOG=1 from the main loop,
 * STOPPING=1. Without NOTIFY_SOCKET (not started by systemd) every call does
 * nothing. Control plane only.
 */
#ifndef QGW_NOTIFY_H
#define QGW_NOTIFY_H

#include <stdint.h>

/** Read the watchdog interval systemd asks for (WATCHDOG_USEC); call once at start. */
void qgw_notify_init(void);

/** READY=1 and STATUS=status. */
void qgw_notify_ready(const char *status);

/** STATUS=status (printf format). */
void qgw_notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/**
 * WATCHDOG=1 when due (every half watchdog interval); call every main-loop
 * round.
 *
 * @param now_ns
 *   CLOCK_MONOTONIC nanoseconds.
 */
void qgw_notify_watchdog(uint64_t now_ns);

/** STOPPING=1. */
void qgw_notify_stopping(void);

#endif /* QGW_NOTIFY_H */
