/*
 * The JSON view (--json, schema qinqgw-stats/1 in docs/stats.md). Every
 * counter of the segment's directory appears under its exported name:
 * ports (NIC counters under "nic"), flow directions, workers.
 */
#include "views.h"

#include <math.h>

#include <jansson.h>

#define JI(x) json_integer((json_int_t)(x))

/* The counters of one element of family f into object o, and its drops. */
static void
add_counters(json_t *o, const struct qgw_shm_view *v, unsigned int f, const uint64_t *val)
{
	for (uint32_t j = 0; j < v->hdr.fam[f].nb; j++)
		json_object_set_new(o, qgw_shm_desc(v, f, j)->name, JI(val[j]));
	if (v->hdr.fam[f].drop_off != UINT32_MAX) {
		json_t *drops = json_object();

		for (uint32_t r = 0; r < v->hdr.nb_drops; r++)
			json_object_set_new(drops, v->drops[r].name, JI(val[v->hdr.fam[f].nb + r]));
		json_object_set_new(o, "dropped", JI(qgw_elem_dropped(v, f, val)));
		json_object_set_new(o, "drops", drops);
	}
}

static json_t *
gateway(const struct qgw_stats_opts *o, const struct qgw_reading *r)
{
	const struct qgw_shm_header *h = &r->v->hdr;
	json_t *gw = json_object();

	json_object_set_new(gw, "version", json_string(h->version_str));
	json_object_set_new(gw, "stats_name", json_string(o->name));
	json_object_set_new(gw, "layout_version", JI(h->version));
	json_object_set_new(gw, "pid", JI(h->pid));
	json_object_set_new(gw, "state", json_string(qgw_live_name(r->live.state)));
	json_object_set_new(gw, "up", json_boolean(r->live.state == QGW_LIVE_RUNNING));
	json_object_set_new(gw, "heartbeat_age_seconds",
			    json_real(round(r->live.heartbeat_age * 1000) / 1000));
	json_object_set_new(gw, "start_time", JI(h->start_time / 1000000000));
	json_object_set_new(gw, "stop_time",
			    h->stop_time ? JI(h->stop_time / 1000000000) : json_null());
	json_object_set_new(gw, "uptime_seconds", json_real(qgw_uptime(r)));
	json_object_set_new(gw, "generation", JI(h->generation));
	return gw;
}

static json_t *
workers(const struct qgw_reading *r)
{
	const struct qgw_shm_view *v = r->v;
	json_t *arr = json_array();

	for (uint32_t w = 0; w < v->hdr.nb_workers; w++) {
		const uint64_t *val = qgw_sample_elem(r->cur, QGW_FAM_WORKER, w);
		json_t *j = json_object();

		json_object_set_new(j, "index", JI(w));
		json_object_set_new(j, "lcore", JI(v->workers[w].lcore));
		json_object_set_new(j, "socket", JI(v->workers[w].socket));
		json_object_set_new(j, "heartbeat", JI(v->workers[w].heartbeat));
		json_object_set_new(j, "stalled", json_boolean(v->workers[w].stalled));
		json_object_set_new(j, "stalls", JI(v->workers[w].stalls));
		json_object_set_new(j, "rx_packets", JI(r->cur->worker_rx[w]));
		add_counters(j, v, QGW_FAM_WORKER, val);
		json_object_set_new(j, "busy_percent", json_real(qgw_busy_percent(v, val)));
		json_array_append_new(arr, j);
	}
	return arr;
}

static json_t *
ports(const struct qgw_stats_opts *o, const struct qgw_reading *r)
{
	const struct qgw_shm_view *v = r->v;
	json_t *arr = json_array();

	for (unsigned int p = 0; p < v->hdr.nb_ports; p++) {
		json_t *j, *link, *nic;

		if (!qgw_port_selected(o, v, p))
			continue;
		j = json_object();
		link = json_object();
		nic = json_object();
		json_object_set_new(j, "name", json_string(v->ports[p].name));
		json_object_set_new(j, "device", json_string(v->ports[p].device));
		json_object_set_new(j, "max_frame", JI(v->ports[p].max_frame));
		json_object_set_new(link, "up", json_boolean(v->ports[p].link_up));
		json_object_set_new(link, "speed_mbps", JI(v->ports[p].link_speed));
		json_object_set_new(link, "full_duplex", json_boolean(v->ports[p].link_duplex));
		json_object_set_new(link, "changes", JI(v->ports[p].link_changes));
		json_object_set_new(j, "link", link);
		add_counters(nic, v, QGW_FAM_NIC, qgw_sample_elem(r->cur, QGW_FAM_NIC, p));
		json_object_set_new(j, "nic", nic);
		add_counters(j, v, QGW_FAM_PORT, qgw_sample_elem(r->cur, QGW_FAM_PORT, p));
		json_array_append_new(arr, j);
	}
	return arr;
}

static json_t *
flows(const struct qgw_stats_opts *o, const struct qgw_reading *r)
{
	const struct qgw_shm_view *v = r->v;
	json_t *arr = json_array();

	for (uint32_t s = 0; s < v->hdr.nb_slots; s++) {
		const struct qgw_shm_flow *f = &v->flows[s];
		json_t *j, *stacks, *dirs;

		if (!qgw_flow_selected(o, f))
			continue;
		j = json_object();
		stacks = json_object();
		dirs = json_array();
		json_object_set_new(j, "name", json_string(f->name));
		json_object_set_new(j, "slot", JI(s));
		json_object_set_new(j, "slot_gen", JI(f->gen));
		for (unsigned int p = 0; p < v->hdr.nb_ports; p++)
			json_object_set_new(stacks, v->ports[p].name, json_string(f->stack[p]));
		json_object_set_new(j, "stacks", stacks);
		for (unsigned int p = 0; p < v->hdr.nb_ports; p++) {
			json_t *d;
			char dir[2 * QGW_PORT_NAME_MAX + 2];

			if (!qgw_port_selected(o, v, p) && !qgw_port_selected(o, v, 1 - p))
				continue;
			d = json_object();
			json_object_set_new(d, "direction",
					    json_string(qgw_direction(v, p, dir, sizeof(dir))));
			json_object_set_new(d, "ingress", json_string(v->ports[p].name));
			json_object_set_new(d, "egress", json_string(v->ports[1 - p].name));
			add_counters(d, v, QGW_FAM_FLOW,
				     qgw_sample_elem(r->cur, QGW_FAM_FLOW, s * v->hdr.nb_ports + p));
			json_array_append_new(dirs, d);
		}
		json_object_set_new(j, "directions", dirs);
		json_array_append_new(arr, j);
	}
	return arr;
}

void
qgw_view_json(FILE *out, const struct qgw_stats_opts *o, const struct qgw_reading *r)
{
	const struct qgw_shm_view *v = r->v;
	json_t *doc = json_object(), *reasons = json_array();

	json_object_set_new(doc, "schema", json_string("qinqgw-stats/1"));
	json_object_set_new(doc, "gateway", gateway(o, r));
	json_object_set_new(doc, "workers", workers(r));
	json_object_set_new(doc, "ports", ports(o, r));
	json_object_set_new(doc, "flows", flows(o, r));
	for (unsigned int i = 0; i < v->hdr.nb_drops; i++) {
		json_t *j = json_object();

		json_object_set_new(j, "name", json_string(v->drops[i].name));
		json_object_set_new(j, "help", json_string(v->drops[i].help));
		json_array_append_new(reasons, j);
	}
	json_object_set_new(doc, "drop_reasons", reasons);
	json_dumpf(doc, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fprintf(out, "\n");
	json_decref(doc);
}
