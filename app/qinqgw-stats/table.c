/*
 * The table view: gateway state, ports, drops and flows with human units,
 * and rates between two readings (--watch). Its columns are the counters
 * whose directory entry names a table column, then the drops.
 */
#include "views.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

#define NAME_W 12

/* Human units: 1234 -> "1234", 12345 -> "12.3k"; unit appended. */
static const char *
human(double x, const char *unit, char *buf, size_t len)
{
	static const char *const pfx[] = {"", "k", "M", "G", "T", "P"};
	unsigned int i = 0;

	while (fabs(x) >= 10000 && i + 1 < sizeof(pfx) / sizeof(pfx[0])) {
		x /= 1000;
		i++;
	}
	if (i == 0)
		snprintf(buf, len, "%.0f%s%s", x, unit[0] ? " " : "", unit);
	else
		snprintf(buf, len, "%.1f %s%s", x, pfx[i], unit);
	return buf;
}

static const char *
duration(double s, char *buf, size_t len)
{
	long t = (long)s;

	if (t >= 86400)
		snprintf(buf, len, "%ldd%02ldh%02ldm", t / 86400, t / 3600 % 24, t / 60 % 60);
	else if (t >= 3600)
		snprintf(buf, len, "%ldh%02ldm%02lds", t / 3600, t / 60 % 60, t % 60);
	else
		snprintf(buf, len, "%ldm%02lds", t / 60, t % 60);
	return buf;
}

/* Unit of a counter for human(): bytes show "B". */
static const char *
unit_of(const struct qgw_shm_counter *d)
{
	return strstr(d->name, "bytes") != NULL ? "B" : "";
}

/* Columns of family f: its counters with a column name, then DROPPED (and
 * OVERSIZE for flows). */
static void
print_columns(FILE *out, const struct qgw_shm_view *v, unsigned int f, int width)
{
	for (uint32_t j = 0; j < v->hdr.fam[f].nb; j++) {
		const struct qgw_shm_counter *d = qgw_shm_desc(v, f, j);

		if (d->column[0] != '\0')
			fprintf(out, " %*s", width, d->column);
	}
	fprintf(out, " %*s", width, "DROPPED");
	if (f == QGW_FAM_FLOW)
		fprintf(out, " %*s", width, "OVERSIZE");
}

static void
print_values(FILE *out, const struct qgw_shm_view *v, unsigned int f, const uint64_t *val,
	     int width)
{
	char b[32];

	for (uint32_t j = 0; j < v->hdr.fam[f].nb; j++) {
		const struct qgw_shm_counter *d = qgw_shm_desc(v, f, j);

		if (d->column[0] == '\0')
			continue;
		if (d->kind == QGW_KIND_SUM)
			fprintf(out, " %*s", width, human((double)val[j], unit_of(d), b, sizeof(b)));
		else
			fprintf(out, " %*" PRIu64, width, val[j]);
	}
	fprintf(out, " %*s", width, human((double)qgw_elem_dropped(v, f, val), "", b, sizeof(b)));
	if (f == QGW_FAM_FLOW) {
		uint64_t over = 0;

		for (uint32_t r = 0; r < v->hdr.nb_drops; r++)
			if (strcmp(v->drops[r].name, "oversize") == 0)
				over = val[v->hdr.fam[f].nb + r];
		fprintf(out, " %*s", width, human((double)over, "", b, sizeof(b)));
	}
}

/* Rate of counter `name` between two element values; "-" when unknown. */
static void
print_rate(FILE *out, const struct qgw_shm_view *v, unsigned int f, const uint64_t *cur,
	   const uint64_t *prev, double dt, const char *name, bool bits, int width)
{
	int j = qgw_shm_find(v, f, name);
	char b[32];

	if (prev == NULL || j < 0 || dt <= 0 || cur[j] < prev[j]) {
		fprintf(out, " %*s", width, "-");
		return;
	}
	fprintf(out, " %*s", width,
		human((double)(cur[j] - prev[j]) * (bits ? 8 : 1) / dt, bits ? "b/s" : "", b,
		      sizeof(b)));
}

static void
print_header(FILE *out, const struct qgw_reading *r)
{
	const struct qgw_shm_view *v = r->v;
	const struct qgw_shm_header *h = &v->hdr;
	const struct qgw_sample *c = r->cur;
	uint64_t busy = 0, idle = 0;
	char b1[32];
	bool ended = r->live.state == QGW_LIVE_STOPPED || r->live.state == QGW_LIVE_DEAD;

	for (uint32_t w = 0; w < h->nb_workers; w++) {
		const uint64_t *wv = qgw_sample_elem(c, QGW_FAM_WORKER, w);

		busy += qgw_value(v, QGW_FAM_WORKER, wv, "busy_cycles");
		idle += qgw_value(v, QGW_FAM_WORKER, wv, "idle_cycles");
	}
	fprintf(out,
		"qinqgw %s, pid %u, %s, %s %s, config generation %" PRIu64 ", %u worker%s "
		"busy %.1f%%\n\n",
		h->version_str, h->pid, qgw_live_name(r->live.state), ended ? "ran" : "up",
		duration(qgw_uptime(r), b1, sizeof(b1)), h->generation, h->nb_workers,
		h->nb_workers == 1 ? "" : "s",
		busy + idle ? 100.0 * (double)busy / (double)(busy + idle) : 0.0);
}

void
qgw_view_table(FILE *out, const struct qgw_stats_opts *o, const struct qgw_reading *r)
{
	const struct qgw_shm_view *v = r->v;
	const struct qgw_shm_header *h = &v->hdr;
	const struct qgw_sample *c = r->cur, *pv = r->prev;
	bool rates = pv != NULL && pv->ino == c->ino && pv->pid == c->pid &&
		     pv->width[QGW_FAM_PORT] == c->width[QGW_FAM_PORT];
	double dt = pv ? c->t - pv->t : 0;
	char b1[32], dir[2 * QGW_PORT_NAME_MAX + 2];
	bool any = false;

	print_header(out, r);
	if (r->live.state == QGW_LIVE_DEAD)
		fprintf(out,
			"DEAD: process %u is gone without a clean stop (last heartbeat %.1f s "
			"ago); the counters below are the last it wrote\n\n",
			h->pid, r->live.heartbeat_age);
	else if (r->live.state == QGW_LIVE_STALLED)
		fprintf(out,
			"STALLED: the gateway's control plane has not run for %.1f s (process %u "
			"is alive but frozen or stopped); counters may be stale\n\n",
			r->live.heartbeat_age, h->pid);
	if (h->state == QGW_SHM_STARTING) {
		fprintf(out, "(starting: ports and flows are not published yet)\n");
		return;
	}
	for (unsigned int w = 0; w < h->nb_workers; w++)
		if (v->workers[w].stalled && r->live.state == QGW_LIVE_RUNNING)
			fprintf(out,
				"WARNING: worker %u (lcore %u) is STALLED: its heartbeat stands "
				"still\n\n",
				w, v->workers[w].lcore);
	fprintf(out, "%-12s %-14s %-9s", "PORT", "DEVICE", "LINK");
	print_columns(out, v, QGW_FAM_PORT, 10);
	if (pv)
		fprintf(out, " %10s %12s %10s %12s", "RX PPS", "RX BIT/S", "TX PPS", "TX BIT/S");
	fprintf(out, "\n");
	for (unsigned int p = 0; p < h->nb_ports; p++) {
		const uint64_t *val = qgw_sample_elem(c, QGW_FAM_PORT, p);
		const uint64_t *old = rates ? qgw_sample_elem(pv, QGW_FAM_PORT, p) : NULL;
		char link[16];

		if (!qgw_port_selected(o, v, p))
			continue;
		if (!v->ports[p].link_up)
			snprintf(link, sizeof(link), "down");
		else if (v->ports[p].link_speed)
			snprintf(link, sizeof(link), "up %uG", v->ports[p].link_speed / 1000);
		else
			snprintf(link, sizeof(link), "up");
		fprintf(out, "%-12s %-14s %-9s", v->ports[p].name, v->ports[p].device, link);
		print_values(out, v, QGW_FAM_PORT, val, 10);
		if (pv) {
			print_rate(out, v, QGW_FAM_PORT, val, old, dt, "rx_packets", false, 10);
			print_rate(out, v, QGW_FAM_PORT, val, old, dt, "rx_bytes", true, 12);
			print_rate(out, v, QGW_FAM_PORT, val, old, dt, "tx_packets", false, 10);
			print_rate(out, v, QGW_FAM_PORT, val, old, dt, "tx_bytes", true, 12);
		}
		fprintf(out, "\n");
	}
	for (unsigned int p = 0; p < h->nb_ports; p++)
		if (qgw_port_selected(o, v, p) && v->ports[p].link_changes)
			fprintf(out, "link of port %s went down or up %" PRIu64 " time%s since start\n",
				v->ports[p].name, (uint64_t)v->ports[p].link_changes,
				v->ports[p].link_changes == 1 ? "" : "s");

	fprintf(out, "\n%-12s %-14s %12s\n", "DROPS", "REASON", "PKTS");
	for (unsigned int p = 0; p < h->nb_ports; p++) {
		const uint64_t *val = qgw_sample_elem(c, QGW_FAM_PORT, p);

		if (!qgw_port_selected(o, v, p))
			continue;
		for (unsigned int rs = 0; rs < h->nb_drops; rs++) {
			uint64_t n = val[h->fam[QGW_FAM_PORT].nb + rs];

			if (n == 0)
				continue;
			fprintf(out, "%-12s %-14s %12" PRIu64 "\n", v->ports[p].name,
				v->drops[rs].name, n);
			any = true;
		}
	}
	if (!any)
		fprintf(out, "(none)\n");

	fprintf(out, "\n%-24s %-20s", "FLOW", "DIRECTION");
	print_columns(out, v, QGW_FAM_FLOW, 9);
	if (pv)
		fprintf(out, " %10s %12s", "PPS", "BIT/S");
	fprintf(out, "\n");
	for (uint32_t s = 0; s < h->nb_slots; s++) {
		const struct qgw_shm_flow *f = &v->flows[s];
		bool slot_rates = qgw_slot_rate_ok(r, s);

		if (!qgw_flow_selected(o, f))
			continue;
		for (unsigned int p = 0; p < h->nb_ports; p++) {
			uint32_t i = s * h->nb_ports + p;
			const uint64_t *val = qgw_sample_elem(c, QGW_FAM_FLOW, i);
			const uint64_t *old = slot_rates ? qgw_sample_elem(pv, QGW_FAM_FLOW, i) : NULL;

			if (!qgw_port_selected(o, v, p) && !qgw_port_selected(o, v, 1 - p))
				continue;
			fprintf(out, "%-24s %-20s", f->name, qgw_direction(v, p, dir, sizeof(dir)));
			print_values(out, v, QGW_FAM_FLOW, val, 9);
			if (pv) {
				print_rate(out, v, QGW_FAM_FLOW, val, old, dt, "packets", false, 10);
				print_rate(out, v, QGW_FAM_FLOW, val, old, dt, "bytes", true, 12);
			}
			fprintf(out, "\n");
		}
	}
	(void)b1;
}
