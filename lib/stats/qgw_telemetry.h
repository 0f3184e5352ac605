/*
 * DPDK telemetry commands (/qinqgw/info, /qinqgw/ports, /qinqgw/port,NAME,
 * /qinqgw/flows[,SKIP], /qinqgw/flow,NAME, /qinqgw/workers) that read the
 * stats segment.
 */
#ifndef QGW_TELEMETRY_H
#define QGW_TELEMETRY_H

#include "qgw_shm.h"

/**
 * Register the commands; call once after rte_eal_init().
 *
 * @param s
 *   The gateway's stats segment; must stay mapped while EAL runs.
 * @return
 *   0, or -1 if a command could not be registered.
 */
int qgw_telemetry_init(const struct qgw_shm *s);

/**
 * Withdraw the segment from the commands and wait until no command is
 * reading it; call before qgw_shm_close(). Commands answer an error after.
 */
void qgw_telemetry_fini(void);

#endif /* QGW_TELEMETRY_H */
