/*
 * The exit report. The report is for people first, but its
 * lines are stable so scripts and the functional tests can read them:
 *   port <name> rx_pkts N rx_bytes N tx_pkts N tx_bytes N dropped N icmp_sent N
 *   drop <port> <reason> N
 *   flow <name> <in>-><out> pkts N bytes N max_len N dropped N oversize N icmp_sent N
 *        mss_clamped N
 * (fields are only ever added at the end of a line)
 */
#include "qgw_summary.h"

#include <inttypes.h>
#include <stdbool.h>
#include <string.h>

void
qgw_summary_print(FILE *f, const struct qgw_config *cfg, const uint32_t *slots,
		  const struct qgw_worker_counters *sum, double seconds)
{
	uint64_t cycles = sum->busy_cycles + sum->idle_cycles;
	bool any = false;

	fprintf(f, "qinqgw: counters after %.1f s (workers busy %.1f%% of cycles)\n", seconds,
		cycles ? 100.0 * (double)sum->busy_cycles / (double)cycles : 0.0);
	for (unsigned int p = 0; p < QGW_NB_PORTS; p++) {
		const struct qgw_port_counters *pc = &sum->port[p];

		fprintf(f,
			"port %-12s rx_pkts %" PRIu64 " rx_bytes %" PRIu64 " tx_pkts %" PRIu64
			" tx_bytes %" PRIu64 " dropped %" PRIu64 " icmp_sent %" PRIu64 "\n",
			cfg->port[p].name, pc->rx_pkts, pc->rx_bytes, pc->tx_pkts, pc->tx_bytes,
			qgw_drops_total(pc->drop), pc->icmp_sent);
	}
	for (unsigned int p = 0; p < QGW_NB_PORTS; p++) {
		for (unsigned int r = 0; r < QGW_DROP__MAX; r++) {
			if (sum->port[p].drop[r] == 0)
				continue;
			fprintf(f, "drop %-12s %-12s %" PRIu64 "\n", cfg->port[p].name,
				qgw_drop_name(r), sum->port[p].drop[r]);
			any = true;
		}
	}
	if (!any)
		fprintf(f, "drop (none)\n");
	for (uint32_t i = 0; i < cfg->nb_flows && i < QGW_MAX_FLOWS; i++) {
		for (unsigned int p = 0; p < QGW_NB_PORTS; p++) {
			const struct qgw_flow_counters *fc = &sum->flow[slots[i]][p];
			char dir[2 * QGW_PORT_NAME_MAX + 2];

			snprintf(dir, sizeof(dir), "%s->%s", cfg->port[p].name,
				 cfg->port[1 - p].name);
			fprintf(f,
				"flow %-20s %-16s pkts %" PRIu64 " bytes %" PRIu64
				" max_len %" PRIu64 " dropped %" PRIu64 " oversize %" PRIu64
				" icmp_sent %" PRIu64 " mss_clamped %" PRIu64 "\n",
				cfg->flows[i].name, dir, fc->pkts, fc->bytes, fc->max_len,
				qgw_drops_total(fc->drop), fc->drop[QGW_DROP_OVERSIZE],
				fc->icmp_sent, fc->mss_clamped);
		}
	}
}
