/*
 * The running configuration and how it changes while the gateway forwards:
 * validated against the running ports, flow counter slots carried over for
 * unchanged flows, the new flow table built aside and published with one
 * pointer store, the old one freed only after every worker has been
 * quiescent (rte_rcu_qsbr), and "commit confirmed" with automatic rollback.
 * Control plane only (main lcore).
 */
#ifndef QGW_RUNTIME_H
#define QGW_RUNTIME_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>
#include <rte_rcu_qsbr.h>

#include "qgw_config.h"
#include "qgw_datapath.h"
#include "qgw_counters.h"
#include "qgw_shm.h"
#include "qgw_table.h"

#define QGW_RCU_SPIN_US 200	/**< spin for quiescence after a publish, then defer */
#define QGW_RCU_TIMEOUT_MS 1000 /**< an apply's answer waits this long for retirement */
#define QGW_MAX_DEFERRED 64	/**< old tables waiting; applies are refused beyond */

/** An old table waiting for quiescence, with the counter slots it held. */
struct qgw_deferred {
	struct qgw_table *table;
	uint64_t token; /**< rte_rcu_qsbr_start() when it was replaced */
	uint32_t nb_slots;
	uint32_t *slots; /**< slots to release with it */
};

struct qgw_runtime {
	struct qgw_config *cfg;	    /**< running config */
	uint32_t *slots;	    /**< counter slot of each flow of cfg */
	uint64_t generation;
	/* Written here with a release store, read by every worker (acquire). */
	struct qgw_table *table;
	struct rte_rcu_qsbr *rcu;
	unsigned int nb_workers;
	struct qgw_worker_counters **counters; /**< per worker, in the stats segment */
	struct qgw_shm *shm;
	uint16_t port_id[QGW_NB_PORTS];
	bool slot_used[QGW_MAX_SLOTS]; /**< held by the running table or a deferred one */
	uint32_t slot_gen[QGW_MAX_SLOTS]; /**< bumped each time a slot is given to a new flow */
	uint32_t next_slot;	       /**< where the round-robin search for a free slot starts */
	struct qgw_deferred deferred[QGW_MAX_DEFERRED];
	unsigned int nb_deferred;
	uint64_t retired_total;	    /**< deferred tables freed later by qgw_runtime_tick() */
	/* Fault injection (--fault-injection; tests only). */
	bool fault_injection;
	struct qgw_worker *workers; /**< nb_workers entries */
	uint64_t hold_until;	    /**< CLOCK_MONOTONIC ns, for the log */
	uint32_t control_stall_ms;  /**< fault injection: freeze the next main-loop round */
	const volatile bool *quit;  /**< set on SIGTERM/SIGINT: ends an injected freeze */
	/* Commit confirmed: while pending, rollback is the config to restore. */
	struct qgw_config *rollback;
	uint64_t confirm_deadline; /**< CLOCK_MONOTONIC ns, 0: nothing pending */
};

/**
 * First table: flows get slots 0..n-1, generation 1.
 *
 * @return
 *   0 or -errno.
 */
int qgw_runtime_init(struct qgw_runtime *rt, struct qgw_config *cfg);

/**
 * Check a candidate config against the running one: ports must keep their
 * names and devices (changing them needs a restart). The candidate's ports
 * are put in the running order (its flows' stacks with them).
 *
 * @param errs
 *   Receives one message per problem, with the JSON path.
 * @return
 *   0 if it can be applied live, -EINVAL otherwise.
 */
int qgw_runtime_check(const struct qgw_runtime *rt, struct qgw_config *cand,
		      struct qgw_errors *errs);

/**
 * Apply a config checked by qgw_runtime_check(): on success the runtime owns
 * cand and the generation grows by one.
 *
 * @param who
 *   For the log: who asked (e.g. "uid 0 pid 42", "SIGHUP").
 * @param confirm_s
 *   0, or seconds within which qinqgw-ctl confirm must come, else the config
 *   running before the first unconfirmed apply comes back.
 * @param msg
 *   Receives a summary ("generation 5: 1 flow added, ...") or an error.
 * @return
 *   0, or -errno and nothing changed: -ENOSPC no free counter slot,
 *   -EBUSY too many old tables wait for a stalled worker, -ENOTSUP/-EIO a
 *   device does not take a changed max_frame (restart needed), -ENOMEM.
 *   On success the old table may still be in use by a stalled worker:
 *   qgw_runtime_retired() tells when it is not.
 */
int qgw_runtime_apply(struct qgw_runtime *rt, struct qgw_config *cand, const char *who,
		      unsigned int confirm_s, char *msg, size_t msglen);

/** Free the old tables every worker has moved past (qgw_runtime_tick() does it too). */
void qgw_runtime_reap(struct qgw_runtime *rt);

/**
 * Can no worker use a table older than generation any more?
 *
 * @return
 *   true once every table replaced before generation is freed.
 */
bool qgw_runtime_retired(const struct qgw_runtime *rt, uint64_t generation);

/**
 * The workers flagged stalled, as text ("worker 0 (lcore 1), ...").
 *
 * @return
 *   How many.
 */
unsigned int qgw_runtime_stalled(const struct qgw_runtime *rt, char *buf, size_t len);

/** Confirm a pending apply; -ENOENT if none is pending. */
int qgw_runtime_confirm(struct qgw_runtime *rt, const char *who);

/**
 * Periodic work: roll back an unconfirmed apply whose time is up, free
 * deferred tables whose readers have all been quiescent.
 */
void qgw_runtime_tick(struct qgw_runtime *rt);

/**
 * Fault injection: stall a worker for ms, hold every mbuf of the pool for
 * ms (the NIC then has nothing to receive into), or freeze the control
 * plane (the main lcore) for ms from its next round on: no heartbeat, no
 * control socket, no link polling meanwhile (it still leaves on SIGTERM).
 *
 * @return
 *   0, -EPERM without --fault-injection, -EINVAL on a bad worker or value.
 */
int qgw_runtime_fault(struct qgw_runtime *rt, int worker, uint32_t stall_ms, uint32_t hold_ms,
		      uint32_t control_ms);

/** Wait for quiescence and free everything; the workers must have stopped. */
void qgw_runtime_fini(struct qgw_runtime *rt);

/**
 * What would change from a to b: flows added, removed, changed field by field.
 *
 * @return
 *   {"added": [names], "removed": [names], "changed": {name: [changes]},
 *    "ports": [changes], "unchanged": N}
 */
json_t *qgw_config_diff(const struct qgw_config *a, const struct qgw_config *b);

/** The config as JSON, every key with its effective value. */
json_t *qgw_config_dump(const struct qgw_config *cfg);

#endif /* QGW_RUNTIME_H */
