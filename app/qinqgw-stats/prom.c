/*
 * The Prometheus view (--prometheus): text exposition format 0.0.4. Metric
 * names, labels, types and help come from the segment's counter directory;
 * counters (kind sum) are TYPE counter, the others gauges. Every drop reason
 * is exported for every port and flow direction, zeros included, so a
 * series never appears out of nowhere.
 */
#include "views.h"

#include <inttypes.h>
#include <string.h>

/* Label values: escape backslash, double quote and newline. */
static const char *
lv(const char *s, char *buf, size_t len)
{
	size_t n = 0;

	for (; *s != '\0' && n + 3 < len; s++) {
		if (*s == '\\' || *s == '"') {
			buf[n++] = '\\';
			buf[n++] = *s;
		} else if (*s == '\n') {
			buf[n++] = '\\';
			buf[n++] = 'n';
		} else {
			buf[n++] = *s;
		}
	}
	buf[n] = '\0';
	return buf;
}

static bool
metric_name_ok(const char *s)
{
	if (*s == '\0' || (*s >= '0' && *s <= '9'))
		return false;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == ':'))
			return false;
	return true;
}

/* An extra label from the directory: name="value" with plain characters only. */
static bool
label_ok(const char *s)
{
	const char *eq = strchr(s, '=');
	size_t n = strlen(s);

	if (eq == NULL || eq == s || n < (size_t)(eq - s) + 3 || eq[1] != '"' || s[n - 1] != '"')
		return false;
	for (const char *p = s; p < eq; p++)
		if (!((*p >= 'a' && *p <= 'z') || *p == '_'))
			return false;
	for (const char *p = eq + 2; p < s + n - 1; p++)
		if (*p == '"' || *p == '\\' || *p == '\n')
			return false;
	return true;
}

static void
head(FILE *out, const char *name, const char *type, const char *help)
{
	fprintf(out, "# HELP %s ", name);
	for (const char *p = help; *p != '\0'; p++) {
		if (*p == '\\')
			fputs("\\\\", out);
		else if (*p == '\n')
			fputs("\\n", out);
		else
			fputc(*p, out);
	}
	fprintf(out, "\n# TYPE %s %s\n", name, type);
}

/* Labels of element i of family f (without braces), or NULL to skip it. */
static const char *
elem_labels(const struct qgw_stats_opts *o, const struct qgw_reading *r, unsigned int f,
	    uint32_t i, char *buf, size_t len)
{
	const struct qgw_shm_view *v = r->v;
	char l1[160], l2[160], dir[2 * QGW_PORT_NAME_MAX + 2];
	uint32_t s, p;

	switch (f) {
	case QGW_FAM_PORT:
	case QGW_FAM_NIC:
		if (!qgw_port_selected(o, v, i))
			return NULL;
		snprintf(buf, len, "port=\"%s\"", lv(v->ports[i].name, l1, sizeof(l1)));
		return buf;
	case QGW_FAM_FLOW:
		s = i / v->hdr.nb_ports;
		p = i % v->hdr.nb_ports;
		if (!qgw_flow_selected(o, &v->flows[s]) ||
		    (!qgw_port_selected(o, v, p) && !qgw_port_selected(o, v, 1 - p)))
			return NULL;
		snprintf(buf, len, "flow=\"%s\",direction=\"%s\"",
			 lv(v->flows[s].name, l1, sizeof(l1)),
			 lv(qgw_direction(v, p, dir, sizeof(dir)), l2, sizeof(l2)));
		return buf;
	default:
		snprintf(buf, len, "worker=\"%u\"", i);
		return buf;
	}
}

/* Every metric of family f: one HELP/TYPE per metric name, all its series. */
static void
family(FILE *out, const struct qgw_stats_opts *o, const struct qgw_reading *r, unsigned int f)
{
	const struct qgw_shm_view *v = r->v;
	uint32_t nb = v->hdr.fam[f].nb, elems = r->cur->nb_elems[f];
	char labels[512];

	for (uint32_t j = 0; j < nb; j++) {
		const struct qgw_shm_counter *d = qgw_shm_desc(v, f, j);
		bool seen = false;

		for (uint32_t k = 0; k < j && !seen; k++)
			seen = strcmp(qgw_shm_desc(v, f, k)->prom, d->prom) == 0;
		if (seen || !metric_name_ok(d->prom))
			continue;
		head(out, d->prom, d->kind == QGW_KIND_SUM ? "counter" : "gauge", d->help);
		for (uint32_t i = 0; i < elems; i++) {
			const uint64_t *val = qgw_sample_elem(r->cur, f, i);

			if (elem_labels(o, r, f, i, labels, sizeof(labels)) == NULL)
				continue;
			for (uint32_t k = j; k < nb; k++) {
				const struct qgw_shm_counter *e = qgw_shm_desc(v, f, k);

				if (strcmp(e->prom, d->prom) != 0)
					continue;
				fprintf(out, "%s{%s%s%s} %" PRIu64 "\n", e->prom, labels,
					label_ok(e->label) ? "," : "",
					label_ok(e->label) ? e->label : "", val[k]);
			}
		}
	}
	if (v->hdr.fam[f].drop_off == UINT32_MAX)
		return;
	{
		char name[64], l1[160];

		snprintf(name, sizeof(name), "qinqgw_%s_drops_total", qgw_family_name(f));
		head(out, name, "counter",
		     f == QGW_FAM_PORT ? "Frames received on the port and dropped, by reason."
				       : "Frames of the flow dropped, by reason.");
		for (uint32_t i = 0; i < elems; i++) {
			const uint64_t *val = qgw_sample_elem(r->cur, f, i);

			if (elem_labels(o, r, f, i, labels, sizeof(labels)) == NULL)
				continue;
			for (uint32_t rs = 0; rs < v->hdr.nb_drops; rs++)
				fprintf(out, "%s{%s,reason=\"%s\"} %" PRIu64 "\n", name, labels,
					lv(v->drops[rs].name, l1, sizeof(l1)), val[nb + rs]);
		}
	}
}

void
qgw_view_prom(FILE *out, const struct qgw_stats_opts *o, const struct qgw_reading *r)
{
	const struct qgw_shm_view *v = r->v;
	const struct qgw_shm_header *h = &v->hdr;
	char l1[160], l2[160];

	head(out, "qinqgw_up", "gauge",
	     "1 while the gateway runs (heartbeat fresh, process alive), else 0.");
	fprintf(out, "qinqgw_up %d\n", r->live.state == QGW_LIVE_RUNNING);
	head(out, "qinqgw_state", "gauge",
	     "1 for the gateway's state: starting, running, stalled, dead or stopped.");
	for (int s = QGW_LIVE_STARTING; s <= QGW_LIVE_STOPPED; s++)
		fprintf(out, "qinqgw_state{state=\"%s\"} %d\n", qgw_live_name(s),
			r->live.state == (enum qgw_live)s);
	head(out, "qinqgw_heartbeat_age_seconds", "gauge",
	     "Seconds since the gateway's control plane last stamped its heartbeat.");
	fprintf(out, "qinqgw_heartbeat_age_seconds %.3f\n", r->live.heartbeat_age);
	head(out, "qinqgw_info", "gauge", "Gateway version and stats segment name.");
	fprintf(out, "qinqgw_info{version=\"%s\",stats_name=\"%s\"} 1\n",
		lv(h->version_str, l1, sizeof(l1)), lv(o->name, l2, sizeof(l2)));
	head(out, "qinqgw_start_time_seconds", "gauge", "Gateway start, Unix time.");
	fprintf(out, "qinqgw_start_time_seconds %.3f\n", (double)h->start_time / 1e9);
	head(out, "qinqgw_uptime_seconds", "gauge",
	     "Seconds the gateway has run (until its stop or last heartbeat once ended).");
	fprintf(out, "qinqgw_uptime_seconds %.3f\n", qgw_uptime(r));
	head(out, "qinqgw_config_generation", "gauge", "Generation of the config in force.");
	fprintf(out, "qinqgw_config_generation %" PRIu64 "\n", h->generation);

	family(out, o, r, QGW_FAM_PORT);
	family(out, o, r, QGW_FAM_NIC);
	head(out, "qinqgw_port_link_up", "gauge", "1 if the port's link is up.");
	for (unsigned int p = 0; p < h->nb_ports; p++)
		if (qgw_port_selected(o, v, p))
			fprintf(out, "qinqgw_port_link_up{port=\"%s\"} %u\n",
				lv(v->ports[p].name, l1, sizeof(l1)), v->ports[p].link_up);
	head(out, "qinqgw_port_link_speed_bytes", "gauge",
	     "Link speed of the port in bytes per second, 0 if unknown.");
	for (unsigned int p = 0; p < h->nb_ports; p++)
		if (qgw_port_selected(o, v, p))
			fprintf(out, "qinqgw_port_link_speed_bytes{port=\"%s\"} %" PRIu64 "\n",
				lv(v->ports[p].name, l1, sizeof(l1)),
				(uint64_t)v->ports[p].link_speed * 125000);
	head(out, "qinqgw_port_link_changes_total", "counter",
	     "Link up/down transitions of the port since start.");
	for (unsigned int p = 0; p < h->nb_ports; p++)
		if (qgw_port_selected(o, v, p))
			fprintf(out, "qinqgw_port_link_changes_total{port=\"%s\"} %" PRIu64 "\n",
				lv(v->ports[p].name, l1, sizeof(l1)), v->ports[p].link_changes);
	family(out, o, r, QGW_FAM_FLOW);
	family(out, o, r, QGW_FAM_WORKER);
	head(out, "qinqgw_worker_rx_packets_total", "counter",
	     "Frames the worker received, on both ports.");
	for (unsigned int w = 0; w < h->nb_workers; w++)
		fprintf(out, "qinqgw_worker_rx_packets_total{worker=\"%u\"} %" PRIu64 "\n", w,
			r->cur->worker_rx[w]);
	head(out, "qinqgw_worker_stalls_total", "counter",
	     "Times the worker was found stalled since start.");
	for (unsigned int w = 0; w < h->nb_workers; w++)
		fprintf(out, "qinqgw_worker_stalls_total{worker=\"%u\"} %" PRIu64 "\n", w,
			v->workers[w].stalls);
	head(out, "qinqgw_worker_stalled", "gauge",
	     "1 while the worker's heartbeat stands still (checked every half second).");
	for (unsigned int w = 0; w < h->nb_workers; w++)
		fprintf(out, "qinqgw_worker_stalled{worker=\"%u\"} %u\n", w, v->workers[w].stalled);
	head(out, "qinqgw_worker_heartbeat", "gauge",
	     "Worker loop progress (iterations / 256); stuck if it stops moving.");
	for (unsigned int w = 0; w < h->nb_workers; w++)
		fprintf(out, "qinqgw_worker_heartbeat{worker=\"%u\"} %" PRIu64 "\n", w,
			v->workers[w].heartbeat);
}
