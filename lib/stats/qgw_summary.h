/*
 * The human-readable counter report the gateway prints when it stops.
 */
#ifndef QGW_SUMMARY_H
#define QGW_SUMMARY_H

#include <stdio.h>

#include "qgw_config.h"
#include "qgw_counters.h"

/**
 * Print the counter report: ports, drops by port and reason, flows by
 * direction.
 *
 * @param f
 *   Where to print.
 * @param cfg
 *   The config the counters belong to (port and flow names).
 * @param slots
 *   Counter slot of each flow of cfg.
 * @param sum
 *   Counters added up with qgw_counters_sum().
 * @param seconds
 *   Running time shown in the header line.
 */
void qgw_summary_print(FILE *f, const struct qgw_config *cfg, const uint32_t *slots,
		       const struct qgw_worker_counters *sum, double seconds);

#endif /* QGW_SUMMARY_H */
