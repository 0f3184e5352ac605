/*
 * Sums of the workers' counter blocks, and the human-readable counter report
 * the gateway prints when it stops.
 */
#ifndef QGW_SUMMARY_H
#define QGW_SUMMARY_H

#include <stdio.h>

#include "qgw_config.h"
#include "qgw_counters.h"

/**
 * Add up counter blocks.
 *
 * @param sum
 *   Receives the total (overwritten).
 * @param blocks
 *   One block per worker.
 * @param nb
 *   How many blocks.
 * @param nb_slots
 *   Flow slots to add up (the rest of sum->flow is left zero).
 */
void qgw_counters_sum(struct qgw_worker_counters *sum,
		      struct qgw_worker_counters *const *blocks, unsigned int nb,
		      uint32_t nb_slots);

/**
 * Print the counter report: ports, drops by port and reason, flows by
 * direction. Flow i of cfg uses counter slot i.
 *
 * @param f
 *   Where to print.
 * @param cfg
 *   The config the counters belong to (port and flow names).
 * @param sum
 *   Counters added up with qgw_counters_sum().
 * @param seconds
 *   Running time shown in the header line.
 */
void qgw_summary_print(FILE *f, const struct qgw_config *cfg,
		       const struct qgw_worker_counters *sum, double seconds);

#endif /* QGW_SUMMARY_H */
