/*
 * The gateway's DPDK log type ("qinqgw"), so its messages can be filtered and
 * their level set with EAL's --log-level=qinqgw:LEVEL like any DPDK library's.
 */
#ifndef QGW_LOG_H
#define QGW_LOG_H

#include <rte_log.h>

extern int qgw_logtype;

#define QGW_LOG(level, fmt, ...)                                                                   \
	rte_log(RTE_LOG_##level, qgw_logtype, "qinqgw: " fmt "\n", ##__VA_ARGS__)

#endif /* QGW_LOG_H */
