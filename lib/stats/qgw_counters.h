/*
 * Counter blocks kept by the workers.
 *
 * Each worker owns one struct qgw_worker_counters and is its only writer:
 * plain 64-bit stores, no atomics per packet, cache-line aligned so workers
 * never share a line. Readers (the exit summary, the stats segment) sum the
 * blocks of all workers. Accounting per ingress port:
 *   rx_pkts = frames forwarded out of the other port + sum(drop[])
 * and per flow and ingress port:
 *   pkts = forwarded + sum(drop[]).
 * A port's tx_pkts also counts the ICMP errors sent out of it (icmp_sent), so
 *   rx_pkts(A) = tx_pkts(B) - icmp_sent(B) + sum(drop[] of A).
 */
#ifndef QGW_COUNTERS_H
#define QGW_COUNTERS_H

#include <stdint.h>

#include <rte_common.h>

#include "qgw_config.h"
#include "qgw_drop.h"

/** One port, as seen by one worker. */
struct qgw_port_counters {
	uint64_t rx_pkts;  /**< frames received on the port */
	uint64_t rx_bytes;
	uint64_t tx_pkts;  /**< frames sent out of the port (forwarded and ICMP) */
	uint64_t tx_bytes;
	uint64_t icmp_sent;    /**< ICMP/ICMPv6 errors the gateway sent out of this port */
	uint64_t icmp_tx_full; /**< ICMP/ICMPv6 errors lost: the port's queue was full */
	uint64_t drop[QGW_DROP__MAX]; /**< frames received on the port and dropped */
} __rte_cache_aligned;

/** One flow in one direction (by ingress port), as seen by one worker. */
struct qgw_flow_counters {
	uint64_t pkts;	  /**< frames of the flow received on the ingress port */
	uint64_t bytes;	  /**< their length on ingress, no FCS */
	uint64_t max_len; /**< largest of them */
	uint64_t max_oversize;	  /**< largest frame dropped as oversize */
	uint64_t icmp_sent;	  /**< ICMP/ICMPv6 errors generated for oversize frames */
	uint64_t icmp_suppressed; /**< oversize frames not answered: rate limit */
	uint64_t df_clear;	  /**< oversize IPv4 without DF (dropped, no ICMP) */
	uint64_t mss_clamped;	  /**< TCP SYN / SYN-ACK whose MSS option was lowered */
	uint64_t mss_bad_options; /**< TCP SYN with malformed or truncated options, untouched */
	uint64_t drop[QGW_DROP__MAX];
};

struct qgw_worker_counters {
	uint64_t busy_polls; /**< loop iterations that received at least one frame */
	uint64_t idle_polls;
	uint64_t busy_cycles; /**< TSC cycles spent in busy iterations */
	uint64_t idle_cycles;
	struct qgw_port_counters port[QGW_NB_PORTS];
	struct qgw_flow_counters flow[QGW_MAX_FLOWS][QGW_NB_PORTS]; /**< [slot][ingress port] */
} __rte_cache_aligned;

/**
 * Add up counter blocks; safe while their workers write them.
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
		      const struct qgw_worker_counters *const *blocks, unsigned int nb,
		      uint32_t nb_slots);

/** Sum of a drop-reason array. */
uint64_t qgw_drops_total(const uint64_t drop[QGW_DROP__MAX]);

#endif /* QGW_COUNTERS_H */
