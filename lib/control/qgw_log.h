/*
 * The gateway's DPDK log types, so its messages can be filtered and their
 * level set like any DPDK library's: with EAL's --log-level at start
 * (--log-level='qinqgw.*:debug') and live with `qinqgw-ctl log-level`.
 *
 *   qinqgw         lifecycle (start, stop) and what has no finer type
 *   qinqgw.port    port bring-up, link up/down, NUMA placement, MTU a device keeps
 *   qinqgw.ctl     the control socket (log-level changes, refused requests)
 *   qinqgw.config  config applies, confirms, rollbacks, reloads (SIGHUP), old tables freed
 *   qinqgw.stats   the stats segment and telemetry
 *   qinqgw.worker  worker lcores: launch, stalls, capture callbacks, fault injection
 *
 * Every message starts with "qinqgw: " whatever its type.
 */
#ifndef QGW_LOG_H
#define QGW_LOG_H

#include <rte_log.h>

extern int qgw_logtype;
extern int qgw_logtype_port;
extern int qgw_logtype_ctl;
extern int qgw_logtype_config;
extern int qgw_logtype_stats;
extern int qgw_logtype_worker;

/** Log on the type "qinqgw". */
#define QGW_LOG(level, fmt, ...)                                                                   \
	rte_log(RTE_LOG_##level, qgw_logtype, "qinqgw: " fmt "\n", ##__VA_ARGS__)

/** Log on the type "qinqgw.<type>", e.g. QGW_LOGT(port, WARNING, "...") on qinqgw.port. */
#define QGW_LOGT(type, level, fmt, ...)                                                            \
	rte_log(RTE_LOG_##level, qgw_logtype_##type, "qinqgw: " fmt "\n", ##__VA_ARGS__)

/** The pattern that stands for every gateway log type ("qinqgw" alone means it too). */
#define QGW_LOG_ALL "qinqgw*"

/**
 * A log level from its name as EAL's --log-level takes it (emergency, alert,
 * critical, error, warning, notice, info, debug, or a prefix such as "warn")
 * or its number 1..8.
 *
 * @return
 *   RTE_LOG_EMERG..RTE_LOG_DEBUG, or -EINVAL.
 */
int qgw_log_parse_level(const char *s);

/** The name of a level 1..8 ("debug"), or "?". */
const char *qgw_log_level_name(int level);

/**
 * A type pattern as the gateway takes it: a glob like EAL's
 * --log-level=PATTERN:LEVEL, where "qinqgw" alone stands for QGW_LOG_ALL.
 *
 * @return
 *   The glob to match type names with (pattern itself or QGW_LOG_ALL).
 */
const char *qgw_log_pattern(const char *pattern);

/**
 * Replay the --log-level options of the EAL command line once the gateway's
 * types exist, with "qinqgw:LEVEL" setting every qinqgw.* type (it set all
 * of the gateway's messages before they had sub-types). Does nothing unless
 * one names "qinqgw" alone.
 *
 * @param argc, argv
 *   The EAL part of the command line, as given to rte_eal_init().
 */
void qgw_log_apply_args(int argc, char *const argv[]);

/**
 * Set the level of every registered log type whose name matches a pattern.
 *
 * @param pattern
 *   Glob, see qgw_log_pattern().
 * @param level
 *   RTE_LOG_EMERG..RTE_LOG_DEBUG.
 * @return
 *   The number of types set (0: none matches), or -EINVAL for a bad level,
 *   -ENOMEM.
 */
int qgw_log_set(const char *pattern, int level);

/**
 * Call fn for every registered log type whose name matches pattern (NULL:
 * every type), in registration order, with its level.
 *
 * @return
 *   The number of types, or -ENOMEM.
 */
int qgw_log_foreach(const char *pattern, void (*fn)(const char *name, int level, void *arg),
		    void *arg);

#endif /* QGW_LOG_H */
