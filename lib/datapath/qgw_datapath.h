/*
 * The data plane: classify a burst of frames against the flow table, rewrite
 * their outer tag stacks, and run the poll-mode worker loop.
 *
 * Nothing here allocates, locks, makes a system call or reads config: the
 * workers read an immutable qgw_table published by the control plane and
 * bump their own counters.
 */
#ifndef QGW_DATAPATH_H
#define QGW_DATAPATH_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>

#include "qgw_counters.h"
#include "qgw_events.h"
#include "qgw_table.h"

#define QGW_BURST 32
#define QGW_MIN_FRAME 60 /**< egress frames are padded to this (Ethernet minimum, no FCS) */

/** Frames of one burst ready to leave by the egress port. */
struct qgw_dp_out {
	uint16_t nb;			  /**< frames in pkts[] */
	uint64_t bytes;			  /**< their total length */
	const struct qgw_dp_dir *dir[QGW_BURST]; /**< flow entry of each frame */
	struct rte_mbuf *pkts[QGW_BURST];
};

/** ICMP rate limit of one flow direction on one worker (token bucket in TSC cycles). */
struct qgw_icmp_bucket {
	uint64_t credit;
	uint64_t last; /**< TSC of the last refill, 0: never used */
};

/** What a worker's data path writes besides the frames. */
struct qgw_dp_ctx {
	struct qgw_worker_counters *c;
	struct qgw_icmp_bucket *bucket;		     /**< [QGW_MAX_SLOTS * QGW_NB_PORTS] */
	struct qgw_event_ring *events[QGW_NB_PORTS]; /**< oversize log by ingress port, or NULL */
};

/**
 * Classify and rewrite one burst received on one port.
 *
 * Frames that match a flow get their outer tags rewritten (TCP MSS clamped
 * when the flow says so) and are placed in out->pkts[] in arrival order,
 * ready for the egress port. Oversize frames answered with ICMP become that
 * ICMP error in back->pkts[], for the ingress port. Every other frame is
 * counted under its drop reason and freed.
 *
 * @param t
 *   The flow table.
 * @param in
 *   Ingress port index (0 or 1); the egress port is the other one.
 * @param pkts
 *   The received frames.
 * @param nb
 *   How many, at most QGW_BURST.
 * @param out
 *   Receives the frames to send out of the egress port.
 * @param back
 *   Receives the ICMP errors to send out of the ingress port.
 * @param ctx
 *   The calling worker's counters and state.
 */
void qgw_dp_burst(const struct qgw_table *t, unsigned int in, struct rte_mbuf **pkts,
		  uint16_t nb, struct qgw_dp_out *out, struct qgw_dp_out *back,
		  struct qgw_dp_ctx *ctx);

/**
 * Account for a transmit of out->pkts[]: the driver took the first `sent`;
 * the rest are counted as tx_full drops (on the ingress port and the flow)
 * and freed.
 *
 * @param in
 *   Ingress port index of the frames.
 */
void qgw_dp_tx_done(unsigned int in, const struct qgw_dp_out *out, uint16_t sent,
		    struct qgw_worker_counters *c);

/**
 * Account for a transmit of ICMP errors out of their ingress port `in`: the
 * driver took the first `sent`; the rest are counted (icmp_tx_full) and freed.
 */
void qgw_dp_back_done(unsigned int in, const struct qgw_dp_out *back, uint16_t sent,
		      struct qgw_worker_counters *c);

/** Everything a worker needs; owned by the control plane. */
struct qgw_worker {
	unsigned int lcore_id;
	unsigned int index;	/**< worker number, also its RCU thread id */
	uint16_t queue;		/**< RX/TX queue on both ports */
	uint16_t port_id[QGW_NB_PORTS];
	/* Written by the control plane (release), read by the worker (acquire). */
	struct qgw_table *const *table;
	struct rte_rcu_qsbr *rcu;
	/* Written by the control plane, read by the worker (relaxed). */
	const volatile bool *quit;
	/* Written by this worker only; read by the control plane / stats readers. */
	struct qgw_worker_counters *counters;
	uint64_t *heartbeat; /**< loop iterations / 256, relaxed stores */
	struct qgw_icmp_bucket *buckets; /**< this worker's ICMP rate limits */
	struct qgw_event_ring *events[QGW_NB_PORTS]; /**< this worker's oversize logs */
	/* Fault injection (qinqgw --fault-injection, tests only): written by the
	 * control plane, read and cleared by the worker once per loop. */
	volatile uint32_t stall_ms;
	volatile uint32_t hold_ms; /**< take every mbuf of `pool` for that long */
	struct rte_mempool *pool;
	void **held;		   /**< room for every mbuf of `pool` */
	uint32_t nb_held;
	uint64_t hold_until;	   /**< TSC */
};

/**
 * Worker main loop, for rte_eal_remote_launch(). Runs until *quit is set.
 *
 * @param arg
 *   A struct qgw_worker.
 * @return
 *   0.
 */
int qgw_worker_main(void *arg);

#endif /* QGW_DATAPATH_H */
