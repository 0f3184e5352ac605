/*
 * The gateway's counters over DPDK telemetry (/qinqgw/... commands), so
 * dpdk-telemetry.py and any telemetry client see them. The callbacks run in
 * DPDK's telemetry thread and read the stats segment like any other reader
 * (qgw_shm_sample(), the segment's own counter directory), so telemetry
 * shows the same counters, names and gateway state as qinqgw-stats.
 * Telemetry dict keys allow only letters, digits, '_' and '/', so port names
 * inside keys have other characters replaced by '_'.
 *
 * Shutdown: a callback enters (users + 1) and then checks that the segment
 * is still there; qgw_telemetry_fini() withdraws the segment and waits until
 * no callback is inside, so the segment is never unmapped under one.
 */
#include "qgw_telemetry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_telemetry.h>

#include "qgw_shm.h"

static const struct qgw_shm *tel_shm;
static uint32_t tel_users;

/* A view over the gateway's own mapping with a fresh directory copy. */
static int
enter(struct qgw_shm_view *v)
{
	const struct qgw_shm *s;

	memset(v, 0, sizeof(*v));
	v->fd = -1;
	__atomic_add_fetch(&tel_users, 1, __ATOMIC_SEQ_CST);
	s = __atomic_load_n(&tel_shm, __ATOMIC_SEQ_CST);
	if (s == NULL || qgw_shm_open_memory(s->base, s->size, v) < 0) {
		__atomic_sub_fetch(&tel_users, 1, __ATOMIC_SEQ_CST);
		return -1;
	}
	return 0;
}

static void
leave(struct qgw_shm_view *v)
{
	qgw_shm_close_view(v); /* memory view: nothing unmapped */
	__atomic_sub_fetch(&tel_users, 1, __ATOMIC_SEQ_CST);
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

/* One dict entry whose key is prefix + name (e.g. "twaren_to_ccx_" "packets"). */
static void
add_u64(struct rte_tel_data *d, const char *prefix, const char *name, uint64_t value)
{
	char key[256];

	snprintf(key, sizeof(key), "%s%s", prefix, name);
	rte_tel_data_add_dict_u64(d, key, value);
}

/* Every counter of one element of family f, then its drops and their total. */
static void
add_elem(struct rte_tel_data *d, const struct qgw_shm_view *v, const struct qgw_sample *s,
	 unsigned int f, uint32_t i, const char *prefix)
{
	const uint64_t *val = qgw_sample_elem(s, f, i);
	uint32_t nb = v->hdr.fam[f].nb;
	uint64_t total = 0;
	char name[128];

	if (val == NULL)
		return;
	for (uint32_t j = 0; j < nb; j++)
		add_u64(d, prefix, qgw_shm_desc(v, f, j)->name, val[j]);
	if (v->hdr.fam[f].drop_off == UINT32_MAX)
		return;
	for (uint32_t r = 0; r < v->hdr.nb_drops; r++) {
		snprintf(name, sizeof(name), "drop_%s", v->drops[r].name);
		add_u64(d, prefix, name, val[nb + r]);
		total += val[nb + r];
	}
	add_u64(d, prefix, "dropped", total);
}

static int
cmd_info(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct qgw_liveness l;
	struct qgw_shm_view v;
	struct timespec ts;
	uint32_t nb_flows = 0;
	int64_t end;

	(void)cmd;
	(void)params;
	if (enter(&v) < 0)
		return -1;
	qgw_shm_liveness(&v, &l);
	for (uint32_t s = 0; s < v.hdr.nb_slots; s++)
		nb_flows += v.flows[s].active;
	clock_gettime(CLOCK_REALTIME, &ts);
	end = l.state == QGW_LIVE_STOPPED ? v.hdr.stop_time
					  : ts.tv_sec * 1000000000LL + ts.tv_nsec;
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "version", v.hdr.version_str);
	rte_tel_data_add_dict_string(d, "state", qgw_live_name(l.state));
	rte_tel_data_add_dict_u64(d, "up", l.state == QGW_LIVE_RUNNING);
	rte_tel_data_add_dict_u64(d, "heartbeat_age_ms", (uint64_t)(l.heartbeat_age * 1000));
	rte_tel_data_add_dict_u64(d, "pid", v.hdr.pid);
	rte_tel_data_add_dict_u64(d, "generation", v.hdr.generation);
	rte_tel_data_add_dict_u64(d, "workers", v.hdr.nb_workers);
	rte_tel_data_add_dict_u64(d, "flows", nb_flows);
	rte_tel_data_add_dict_u64(d, "uptime_seconds",
				  end > v.hdr.start_time
					  ? (uint64_t)((end - v.hdr.start_time) / 1000000000LL)
					  : 0);
	leave(&v);
	return 0;
}

static int
cmd_ports(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct qgw_shm_view v;

	(void)cmd;
	(void)params;
	if (enter(&v) < 0)
		return -1;
	rte_tel_data_start_array(d, RTE_TEL_STRING_VAL);
	for (uint32_t p = 0; p < v.hdr.nb_ports; p++)
		rte_tel_data_add_array_string(d, v.ports[p].name);
	leave(&v);
	return 0;
}

static int
cmd_port(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct qgw_sample s = {0};
	struct qgw_shm_view v;
	int port = -1;

	(void)cmd;
	if (params == NULL || enter(&v) < 0)
		return -1;
	if (qgw_shm_sample(&v, &s) == 0)
		for (uint32_t p = 0; p < v.hdr.nb_ports; p++)
			if (strcmp(v.ports[p].name, params) == 0)
				port = (int)p;
	if (port < 0) {
		qgw_sample_free(&s);
		leave(&v);
		return -1;
	}
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "name", v.ports[port].name);
	rte_tel_data_add_dict_string(d, "device", v.ports[port].device);
	rte_tel_data_add_dict_u64(d, "max_frame", v.ports[port].max_frame);
	rte_tel_data_add_dict_u64(d, "link_up", v.ports[port].link_up);
	rte_tel_data_add_dict_u64(d, "link_speed_mbps", v.ports[port].link_speed);
	rte_tel_data_add_dict_u64(d, "link_changes", v.ports[port].link_changes);
	add_elem(d, &v, &s, QGW_FAM_PORT, (uint32_t)port, "");
	add_elem(d, &v, &s, QGW_FAM_NIC, (uint32_t)port, "nic_");
	qgw_sample_free(&s);
	leave(&v);
	return 0;
}

static int
cmd_flows(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct qgw_shm_view v;
	unsigned long skip = params ? strtoul(params, NULL, 10) : 0, n = 0, seen = 0;

	(void)cmd;
	if (enter(&v) < 0)
		return -1;
	rte_tel_data_start_array(d, RTE_TEL_STRING_VAL);
	for (uint32_t s = 0; s < v.hdr.nb_slots && n < RTE_TEL_MAX_ARRAY_ENTRIES; s++) {
		if (!v.flows[s].active || seen++ < skip)
			continue;
		rte_tel_data_add_array_string(d, v.flows[s].name);
		n++;
	}
	leave(&v);
	return 0;
}

static int
cmd_flow(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct qgw_sample s = {0};
	struct qgw_shm_view v;
	int64_t slot = -1;

	(void)cmd;
	if (params == NULL || enter(&v) < 0)
		return -1;
	/* the slot is looked up after the reading: the directory may have moved */
	if (qgw_shm_sample(&v, &s) == 0)
		for (uint32_t i = 0; i < v.hdr.nb_slots && slot < 0; i++)
			if (v.flows[i].active && strcmp(v.flows[i].name, params) == 0)
				slot = i;
	if (slot < 0) {
		qgw_sample_free(&s);
		leave(&v);
		return -1;
	}
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "name", v.flows[slot].name);
	rte_tel_data_add_dict_u64(d, "slot", (uint64_t)slot);
	rte_tel_data_add_dict_u64(d, "slot_gen", v.flows[slot].gen);
	for (uint32_t p = 0; p < v.hdr.nb_ports; p++) {
		char from[64], prefix[140], key[200];

		key_name(key, sizeof(key), "", v.ports[p].name, "_stack");
		rte_tel_data_add_dict_string(d, key, v.flows[slot].stack[p]);
		/* e.g. twaren_to_ccx_packets */
		key_name(from, sizeof(from), "", v.ports[p].name, "_to_");
		key_name(prefix, sizeof(prefix), from, v.ports[1 - p].name, "_");
		add_elem(d, &v, &s, QGW_FAM_FLOW, (uint32_t)slot * v.hdr.nb_ports + p, prefix);
	}
	qgw_sample_free(&s);
	leave(&v);
	return 0;
}

static int
cmd_workers(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct qgw_sample s = {0};
	struct qgw_shm_view v;
	uint32_t per;

	(void)cmd;
	(void)params;
	if (enter(&v) < 0)
		return -1;
	if (qgw_shm_sample(&v, &s) < 0) {
		qgw_sample_free(&s);
		leave(&v);
		return -1;
	}
	per = 5 + v.hdr.fam[QGW_FAM_WORKER].nb;
	rte_tel_data_start_dict(d);
	/* RTE_TEL_MAX_DICT_ENTRIES keys a dict at most */
	for (uint32_t w = 0; w < v.hdr.nb_workers && (w + 1) * per <= RTE_TEL_MAX_DICT_ENTRIES; w++) {
		char prefix[32];

		snprintf(prefix, sizeof(prefix), "worker%u_", w);
		add_u64(d, prefix, "lcore", v.workers[w].lcore);
		add_u64(d, prefix, "heartbeat", v.workers[w].heartbeat);
		add_u64(d, prefix, "stalled", v.workers[w].stalled);
		add_u64(d, prefix, "stalls", v.workers[w].stalls);
		add_u64(d, prefix, "rx_packets", s.worker_rx[w]);
		add_elem(d, &v, &s, QGW_FAM_WORKER, w, prefix);
	}
	qgw_sample_free(&s);
	leave(&v);
	return 0;
}

int
qgw_telemetry_init(const struct qgw_shm *s)
{
	int ret = 0;

	__atomic_store_n(&tel_shm, s, __ATOMIC_SEQ_CST);
	ret |= rte_telemetry_register_cmd("/qinqgw/info", cmd_info,
					  "Gateway state (running, stalled, stopped), version, "
					  "config generation. No parameters");
	ret |= rte_telemetry_register_cmd("/qinqgw/ports", cmd_ports,
					  "Names of the gateway's ports. No parameters");
	ret |= rte_telemetry_register_cmd("/qinqgw/port", cmd_port,
					  "Every counter of one port, NIC counters, drops. "
					  "Parameter: port name");
	ret |= rte_telemetry_register_cmd("/qinqgw/flows", cmd_flows,
					  "Names of the flows (512 at most). Parameter: flows to skip");
	ret |= rte_telemetry_register_cmd("/qinqgw/flow", cmd_flow,
					  "Every counter of one flow, by direction. Parameter: flow name");
	ret |= rte_telemetry_register_cmd("/qinqgw/workers", cmd_workers,
					  "Worker heartbeat, stalled flag, polls and cycles. No parameters");
	return ret ? -1 : 0;
}

void
qgw_telemetry_fini(void)
{
	__atomic_store_n(&tel_shm, NULL, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(&tel_users, __ATOMIC_SEQ_CST) != 0)
		usleep(100);
}
