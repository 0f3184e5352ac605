/*
 * Adding up the workers' counter blocks. Used by the gateway for its exit
 * report and telemetry, and by qinqgw-stats on the shared-memory segment
 * while workers write: every counter is loaded once, relaxed, so it is never
 * torn, and a sum of growing counters never goes backwards.
 */
#include "qgw_counters.h"

#include <string.h>

#define LD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

void
qgw_counters_sum(struct qgw_worker_counters *sum, const struct qgw_worker_counters *const *blocks,
		 unsigned int nb, uint32_t nb_slots)
{
	memset(sum, 0, sizeof(*sum));
	if (nb_slots > QGW_MAX_FLOWS)
		nb_slots = QGW_MAX_FLOWS;
	for (unsigned int w = 0; w < nb; w++) {
		const struct qgw_worker_counters *b = blocks[w];

		sum->busy_polls += LD(b->busy_polls);
		sum->idle_polls += LD(b->idle_polls);
		sum->busy_cycles += LD(b->busy_cycles);
		sum->idle_cycles += LD(b->idle_cycles);
		for (unsigned int p = 0; p < QGW_NB_PORTS; p++) {
			sum->port[p].rx_pkts += LD(b->port[p].rx_pkts);
			sum->port[p].rx_bytes += LD(b->port[p].rx_bytes);
			sum->port[p].tx_pkts += LD(b->port[p].tx_pkts);
			sum->port[p].tx_bytes += LD(b->port[p].tx_bytes);
			sum->port[p].icmp_sent += LD(b->port[p].icmp_sent);
			sum->port[p].icmp_tx_full += LD(b->port[p].icmp_tx_full);
			for (unsigned int r = 0; r < QGW_DROP__MAX; r++)
				sum->port[p].drop[r] += LD(b->port[p].drop[r]);
		}
		for (uint32_t s = 0; s < nb_slots; s++) {
			for (unsigned int p = 0; p < QGW_NB_PORTS; p++) {
				struct qgw_flow_counters *d = &sum->flow[s][p];
				const struct qgw_flow_counters *x = &b->flow[s][p];
				uint64_t max_len = LD(x->max_len);
				uint64_t max_over = LD(x->max_oversize);

				d->pkts += LD(x->pkts);
				d->bytes += LD(x->bytes);
				if (max_len > d->max_len)
					d->max_len = max_len;
				if (max_over > d->max_oversize)
					d->max_oversize = max_over;
				d->icmp_sent += LD(x->icmp_sent);
				d->icmp_suppressed += LD(x->icmp_suppressed);
				d->df_clear += LD(x->df_clear);
				d->mss_clamped += LD(x->mss_clamped);
				d->mss_bad_options += LD(x->mss_bad_options);
				for (unsigned int r = 0; r < QGW_DROP__MAX; r++)
					d->drop[r] += LD(x->drop[r]);
			}
		}
	}
}

uint64_t
qgw_drops_total(const uint64_t drop[QGW_DROP__MAX])
{
	uint64_t n = 0;

	for (unsigned int r = 0; r < QGW_DROP__MAX; r++)
		n += drop[r];
	return n;
}
