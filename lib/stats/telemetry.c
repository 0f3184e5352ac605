/*
 * The gateway's counters over DPDK telemetry (/qinqgw/... commands), so
 * dpdk-telemetry.py and any telemetry client see them. The callbacks run in
 * DPDK's telemetry thread and read the stats segment like any other reader:
 * a directory snapshot under the epoch protocol, relaxed loads of the live
 * counters. Telemetry dict keys allow only letters, digits, '_' and '/', so
 * port names inside keys have other characters replaced by '_'.
 */
#include "qgw_telemetry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_telemetry.h>

#include "qgw_shm.h"

/* Set once before the commands are registered; the mapping outlives them. */
static const struct qgw_shm *tel_shm;

static const char *
state_name(uint32_t s)
{
	return s == QGW_SHM_RUNNING ? "running" : s == QGW_SHM_STOPPED ? "stopped" : "starting";
}

/* A view over the gateway's own mapping, with a fresh directory copy. */
static int
view_open(struct qgw_shm_view *v)
{
	memset(v, 0, sizeof(*v));
	if (tel_shm == NULL)
		return -1;
	v->base = tel_shm->base;
	v->size = tel_shm->size;
	if (qgw_shm_refresh(v) < 0) {
		v->base = NULL; /* not ours to unmap */
		qgw_shm_close_view(v);
		return -1;
	}
	return 0;
}

static void
view_close(struct qgw_shm_view *v)
{
	v->base = NULL; /* the gateway's mapping stays */
	qgw_shm_close_view(v);
}

/* prefix + name (with characters telemetry refuses replaced) + suffix */
static void
key_name(char *dst, size_t len, const char *prefix, const char *name, const char *suffix)
{
	size_t n = snprintf(dst, len, "%s", prefix);

	for (const char *s = name; *s != '\0' && n + 1 < len; s++) {
		bool ok = (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
			  (*s >= '0' && *s <= '9') || *s == '_';

		dst[n++] = ok ? *s : '_';
	}
	dst[n] = '\0';
	snprintf(dst + n, len - n, "%s", suffix);
}

static int
cmd_info(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct qgw_shm_view v;
	struct timespec ts;
	uint32_t nb_flows = 0;

	(void)cmd;
	(void)params;
	if (view_open(&v) < 0)
		return -1;
	for (uint32_t s = 0; s < v.hdr.nb_slots; s++)
		nb_flows += v.flows[s].active;
	clock_gettime(CLOCK_REALTIME, &ts);
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "version", v.hdr.version_str);
	rte_tel_data_add_dict_string(d, "state", state_name(v.hdr.state));
	rte_tel_data_add_dict_u64(d, "pid", v.hdr.pid);
	rte_tel_data_add_dict_u64(d, "generation", v.hdr.generation);
	rte_tel_data_add_dict_u64(d, "workers", v.hdr.nb_workers);
	rte_tel_data_add_dict_u64(d, "flows", nb_flows);
	rte_tel_data_add_dict_u64(d, "uptime_seconds",
				  (uint64_t)((ts.tv_sec * 1000000000LL + ts.tv_nsec -
					      v.hdr.start_time) /
					     1000000000LL));
	view_close(&v);
	return 0;
}

static int
cmd_ports(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct qgw_shm_view v;

	(void)cmd;
	(void)params;
	if (view_open(&v) < 0)
		return -1;
	rte_tel_data_start_array(d, RTE_TEL_STRING_VAL);
	for (uint32_t p = 0; p < v.hdr.nb_ports; p++)
		rte_tel_data_add_array_string(d, v.ports[p].name);
	view_close(&v);
	return 0;
}

/* One dict entry whose key is prefix + name (e.g. "twaren_to_ccx_" "packets"). */
static void
add_u64(struct rte_tel_data *d, const char *prefix, const char *name, uint64_t value)
{
	char key[256];

	snprintf(key, sizeof(key), "%s%s", prefix, name);
	rte_tel_data_add_dict_u64(d, key, value);
}

/* Every worker's counters summed, or NULL; free() it. */
static struct qgw_worker_counters *
read_sum(struct qgw_shm_view *v)
{
	struct qgw_worker_counters *sum = malloc(sizeof(*sum));

	if (sum != NULL && qgw_shm_read_counters(v, sum) < 0) {
		free(sum);
		sum = NULL;
	}
	return sum;
}

static void
add_drops(struct rte_tel_data *d, const struct qgw_shm_view *v, const char *prefix,
	  const uint64_t *drop)
{
	uint64_t total = 0;
	char name[128];

	for (uint32_t r = 0; r < v->hdr.nb_drops; r++) {
		snprintf(name, sizeof(name), "drop_%s", v->drops[r].name);
		add_u64(d, prefix, name, drop[r]);
		total += drop[r];
	}
	add_u64(d, prefix, "dropped", total);
}

static int
cmd_port(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct qgw_worker_counters *sum;
	struct qgw_shm_view v;
	int port = -1;

	(void)cmd;
	if (params == NULL || view_open(&v) < 0)
		return -1;
	for (uint32_t p = 0; p < v.hdr.nb_ports; p++)
		if (strcmp(v.ports[p].name, params) == 0)
			port = (int)p;
	sum = port >= 0 ? read_sum(&v) : NULL;
	if (sum == NULL) {
		view_close(&v);
		return -1;
	}
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "name", v.ports[port].name);
	rte_tel_data_add_dict_string(d, "device", v.ports[port].device);
	rte_tel_data_add_dict_u64(d, "max_frame", v.ports[port].max_frame);
	rte_tel_data_add_dict_u64(d, "link_up", v.ports[port].link_up);
	rte_tel_data_add_dict_u64(d, "link_speed_mbps", v.ports[port].link_speed);
	rte_tel_data_add_dict_u64(d, "link_changes", v.ports[port].link_changes);
	rte_tel_data_add_dict_u64(d, "rx_packets", sum->port[port].rx_pkts);
	rte_tel_data_add_dict_u64(d, "rx_bytes", sum->port[port].rx_bytes);
	rte_tel_data_add_dict_u64(d, "tx_packets", sum->port[port].tx_pkts);
	rte_tel_data_add_dict_u64(d, "tx_bytes", sum->port[port].tx_bytes);
	add_drops(d, &v, "", sum->port[port].drop);
	free(sum);
	view_close(&v);
	return 0;
}

static int
cmd_flows(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct qgw_shm_view v;
	unsigned long skip = params ? strtoul(params, NULL, 10) : 0, n = 0, seen = 0;

	(void)cmd;
	if (view_open(&v) < 0)
		return -1;
	rte_tel_data_start_array(d, RTE_TEL_STRING_VAL);
	for (uint32_t s = 0; s < v.hdr.nb_slots && n < RTE_TEL_MAX_ARRAY_ENTRIES; s++) {
		if (!v.flows[s].active || seen++ < skip)
			continue;
		rte_tel_data_add_array_string(d, v.flows[s].name);
		n++;
	}
	view_close(&v);
	return 0;
}

static int
cmd_flow(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct qgw_worker_counters *sum;
	struct qgw_shm_view v;
	int64_t slot = -1;

	(void)cmd;
	if (params == NULL || view_open(&v) < 0)
		return -1;
	for (uint32_t s = 0; s < v.hdr.nb_slots && slot < 0; s++)
		if (v.flows[s].active && strcmp(v.flows[s].name, params) == 0)
			slot = s;
	sum = slot >= 0 ? read_sum(&v) : NULL;
	/* the slot is looked up again if the directory changes meanwhile */
	if (sum == NULL || !v.flows[slot].active || strcmp(v.flows[slot].name, params) != 0) {
		free(sum);
		view_close(&v);
		return -1;
	}
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "name", v.flows[slot].name);
	rte_tel_data_add_dict_u64(d, "slot", (uint64_t)slot);
	for (uint32_t p = 0; p < v.hdr.nb_ports; p++) {
		const struct qgw_flow_counters *fc = &sum->flow[slot][p];
		char from[64], prefix[140], key[200];

		key_name(key, sizeof(key), "", v.ports[p].name, "_stack");
		rte_tel_data_add_dict_string(d, key, v.flows[slot].stack[p]);
		/* e.g. twaren_to_ccx_packets */
		key_name(from, sizeof(from), "", v.ports[p].name, "_to_");
		key_name(prefix, sizeof(prefix), from, v.ports[1 - p].name, "_");
		add_u64(d, prefix, "packets", fc->pkts);
		add_u64(d, prefix, "bytes", fc->bytes);
		add_u64(d, prefix, "max_frame", fc->max_len);
		add_u64(d, prefix, "max_oversize", fc->max_oversize);
		add_u64(d, prefix, "icmp_sent", fc->icmp_sent);
		add_u64(d, prefix, "icmp_suppressed", fc->icmp_suppressed);
		add_u64(d, prefix, "df_clear", fc->df_clear);
		add_u64(d, prefix, "mss_clamped", fc->mss_clamped);
		add_drops(d, &v, prefix, fc->drop);
	}
	free(sum);
	view_close(&v);
	return 0;
}

static int
cmd_workers(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct qgw_worker_counters *c;
	struct qgw_shm_view v;

	(void)cmd;
	(void)params;
	if (view_open(&v) < 0)
		return -1;
	c = malloc(sizeof(*c));
	if (c == NULL) {
		view_close(&v);
		return -1;
	}
	rte_tel_data_start_dict(d);
	/* 6 keys a worker, 256 keys a dict at most */
	for (uint32_t w = 0; w < v.hdr.nb_workers && w < 42; w++) {
		char prefix[32];

		qgw_shm_read_worker(&v, w, c);
		snprintf(prefix, sizeof(prefix), "worker%u_", w);
		add_u64(d, prefix, "lcore", v.workers[w].lcore);
		add_u64(d, prefix, "heartbeat", v.workers[w].heartbeat);
		add_u64(d, prefix, "busy_polls", c->busy_polls);
		add_u64(d, prefix, "idle_polls", c->idle_polls);
		add_u64(d, prefix, "busy_cycles", c->busy_cycles);
		add_u64(d, prefix, "idle_cycles", c->idle_cycles);
	}
	free(c);
	view_close(&v);
	return 0;
}

int
qgw_telemetry_init(const struct qgw_shm *s)
{
	int ret = 0;

	tel_shm = s;
	ret |= rte_telemetry_register_cmd("/qinqgw/info", cmd_info,
					  "Gateway state, version, config generation. No parameters");
	ret |= rte_telemetry_register_cmd("/qinqgw/ports", cmd_ports,
					  "Names of the gateway's ports. No parameters");
	ret |= rte_telemetry_register_cmd("/qinqgw/port", cmd_port,
					  "Counters and drops of one port. Parameter: port name");
	ret |= rte_telemetry_register_cmd("/qinqgw/flows", cmd_flows,
					  "Names of the flows (512 at most). Parameter: flows to skip");
	ret |= rte_telemetry_register_cmd("/qinqgw/flow", cmd_flow,
					  "Counters of one flow, by direction. Parameter: flow name");
	ret |= rte_telemetry_register_cmd("/qinqgw/workers", cmd_workers,
					  "Worker heartbeat, busy/idle polls and cycles. No parameters");
	return ret ? -1 : 0;
}
