/*
 * The poll-mode worker loop: receive a burst on each port, rewrite it,
 * transmit it on the other port, report quiescence to RCU once per loop so
 * the control plane knows when an old flow table may be freed.
 */
#include "qgw_datapath.h"

#include <rte_branch_prediction.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mempool.h>

/*
 * Fault injection (tests only, off unless qinqgw --fault-injection): a stall,
 * or every mbuf of the pool held by this worker (its mempool cache included,
 * which only this lcore can empty) so that the NIC has nothing to receive
 * into; the worker keeps polling meanwhile.
 */
static void
fault(struct qgw_worker *w)
{
	if (w->stall_ms) {
		uint32_t ms = w->stall_ms;

		w->stall_ms = 0;
		rte_delay_ms(ms);
	}
	if (w->hold_ms && w->held != NULL && w->nb_held == 0) {
		w->hold_until = rte_rdtsc() + rte_get_tsc_hz() / 1000 * w->hold_ms;
		while (w->nb_held < w->pool->size && rte_mempool_get(w->pool, &w->held[w->nb_held]) == 0)
			w->nb_held++;
	}
	w->hold_ms = 0;
	if (w->nb_held && rte_rdtsc() >= w->hold_until) {
		rte_mempool_put_bulk(w->pool, w->held, w->nb_held);
		w->nb_held = 0;
	}
}

int
qgw_worker_main(void *arg)
{
	struct qgw_worker *w = arg;
	struct qgw_worker_counters *c = w->counters;
	struct qgw_dp_ctx ctx = {.c = c, .bucket = w->buckets};
	struct rte_mbuf *pkts[QGW_BURST];
	struct qgw_dp_out out, back;
	uint64_t busy = 0, idle = 0, busy_cyc = 0, idle_cyc = 0;
	uint64_t prev = rte_rdtsc(), beats = 0;

	for (unsigned int p = 0; p < QGW_NB_PORTS; p++)
		ctx.events[p] = w->events[p];
	rte_rcu_qsbr_thread_register(w->rcu, w->index);
	rte_rcu_qsbr_thread_online(w->rcu, w->index);

	while (!*w->quit) {
		const struct qgw_table *t = __atomic_load_n(w->table, __ATOMIC_ACQUIRE);
		unsigned int got = 0;
		uint64_t now;

		for (unsigned int in = 0; in < QGW_NB_PORTS; in++) {
			uint16_t nb = rte_eth_rx_burst(w->port_id[in], w->queue, pkts, QGW_BURST);
			uint16_t sent = 0;

			if (nb == 0)
				continue;
			got += nb;
			qgw_dp_burst(t, in, pkts, nb, &out, &back, &ctx);
			if (out.nb)
				sent = rte_eth_tx_burst(w->port_id[1 - in], w->queue, out.pkts,
							out.nb);
			qgw_dp_tx_done(in, &out, sent, c);
			if (unlikely(back.nb)) {
				sent = rte_eth_tx_burst(w->port_id[in], w->queue, back.pkts,
							back.nb);
				qgw_dp_back_done(in, &back, sent, c);
			}
		}
		rte_rcu_qsbr_quiescent(w->rcu, w->index);
		if (unlikely(w->stall_ms | w->hold_ms | w->nb_held))
			fault(w);

		now = rte_rdtsc();
		if (got) {
			busy++;
			busy_cyc += now - prev;
		} else {
			idle++;
			idle_cyc += now - prev;
		}
		prev = now;
		/* Loop counters are flushed every 256 iterations, not per loop. */
		if (((busy + idle) & 0xff) == 0) {
			c->busy_polls += busy;
			c->idle_polls += idle;
			c->busy_cycles += busy_cyc;
			c->idle_cycles += idle_cyc;
			busy = idle = busy_cyc = idle_cyc = 0;
			__atomic_store_n(w->heartbeat, ++beats, __ATOMIC_RELAXED);
		}
	}
	c->busy_polls += busy;
	c->idle_polls += idle;
	c->busy_cycles += busy_cyc;
	c->idle_cycles += idle_cyc;

	rte_rcu_qsbr_thread_offline(w->rcu, w->index);
	rte_rcu_qsbr_thread_unregister(w->rcu, w->index);
	return 0;
}
