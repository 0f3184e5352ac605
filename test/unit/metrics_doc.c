/*
 * Prints the metric table of docs/stats.md from the counter lists of
 * qgw_counters.h (the same lists that lay out the stats segment), so the
 * docs cannot drift from the code: test/unit/check_metrics_doc.py compares
 * this output with the block between the markers in docs/stats.md.
 *
 *   metrics_doc          the table (markdown)
 */
#include <stdio.h>
#include <string.h>

#include "qgw_shm.h"

static const char *const kinds[] = {
	[QGW_KIND_SUM] = "counter",
	[QGW_KIND_MAX] = "gauge (max over workers)",
	[QGW_KIND_GAUGE] = "gauge",
};

static const char *const scopes[QGW_FAM__MAX] = {
	[QGW_FAM_PORT] = "port",
	[QGW_FAM_FLOW] = "flow direction",
	[QGW_FAM_WORKER] = "worker",
	[QGW_FAM_NIC] = "port (NIC)",
};

static const char *const json_paths[QGW_FAM__MAX] = {
	[QGW_FAM_PORT] = "ports[].",
	[QGW_FAM_FLOW] = "flows[].directions[].",
	[QGW_FAM_WORKER] = "workers[].",
	[QGW_FAM_NIC] = "ports[].nic.",
};

static const char *const tel_keys[QGW_FAM__MAX] = {
	[QGW_FAM_PORT] = "/qinqgw/port `",
	[QGW_FAM_FLOW] = "/qinqgw/flow `<in>_to_<out>_",
	[QGW_FAM_WORKER] = "/qinqgw/workers `worker<N>_",
	[QGW_FAM_NIC] = "/qinqgw/port `nic_",
};

static const char *const labels[QGW_FAM__MAX] = {
	[QGW_FAM_PORT] = "`port`",
	[QGW_FAM_FLOW] = "`flow`, `direction`",
	[QGW_FAM_WORKER] = "`worker`",
	[QGW_FAM_NIC] = "`port`",
};

int
main(void)
{
	printf("| scope | JSON (`--json`) | Prometheus | labels | type | telemetry | meaning |\n");
	printf("|---|---|---|---|---|---|---|\n");
	for (unsigned int f = 0; f < QGW_FAM__MAX; f++) {
		uint32_t nb;
		const struct qgw_shm_counter *d = qgw_counter_list(f, &nb);

		for (uint32_t j = 0; j < nb; j++)
			printf("| %s | `%s%s` | `%s` | %s%s%s%s | %s | %s%s` | %s |\n", scopes[f],
			       json_paths[f], d[j].name, d[j].prom, labels[f],
			       d[j].label[0] ? ", `" : "", d[j].label,
			       d[j].label[0] ? "`" : "", kinds[d[j].kind], tel_keys[f],
			       d[j].name, d[j].help);
		if (f == QGW_FAM_PORT || f == QGW_FAM_FLOW)
			printf("| %s | `%sdrops.<reason>`, `%sdropped` | `qinqgw_%s_drops_total` "
			       "| %s, `reason` | counter | %sdrop_<reason>`, `dropped` | frames "
			       "dropped, by reason (every reason, zeros included) |\n",
			       scopes[f], json_paths[f], json_paths[f], qgw_family_name(f), labels[f],
			       tel_keys[f]);
	}
	return 0;
}
