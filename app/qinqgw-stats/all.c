/*
 * The --all view: every counter of the segment's directory by its exported
 * name, exact, one per line ("port NAME COUNTER VALUE", "flow NAME
 * DIRECTION COUNTER VALUE", "worker N COUNTER VALUE"), for scripts and for
 * counters the table has no column for.
 */
#include "views.h"

/* --all: every counter of the directory by its exported name, exact. */
void
qgw_view_all(FILE *out, const struct qgw_stats_opts *o, const struct qgw_reading *r)
{
	const struct qgw_shm_view *v = r->v;
	const struct qgw_shm_header *h = &v->hdr;
	char dir[2 * QGW_PORT_NAME_MAX + 2];

	fprintf(out, "gateway state %s\n", qgw_live_name(r->live.state));
	fprintf(out, "gateway up %d\n", r->live.state == QGW_LIVE_RUNNING);
	fprintf(out, "gateway heartbeat_age_seconds %.3f\n", r->live.heartbeat_age);
	fprintf(out, "gateway pid %u\n", h->pid);
	fprintf(out, "gateway generation %llu\n", (unsigned long long)h->generation);
	for (unsigned int p = 0; p < h->nb_ports; p++) {
		const uint64_t *pv = qgw_sample_elem(r->cur, QGW_FAM_PORT, p);
		const uint64_t *nv = qgw_sample_elem(r->cur, QGW_FAM_NIC, p);

		if (!qgw_port_selected(o, v, p))
			continue;
		for (uint32_t j = 0; j < h->fam[QGW_FAM_PORT].nb; j++)
			fprintf(out, "port %s %s %llu\n", v->ports[p].name,
				qgw_shm_desc(v, QGW_FAM_PORT, j)->name, (unsigned long long)pv[j]);
		for (uint32_t j = 0; j < h->fam[QGW_FAM_NIC].nb; j++)
			fprintf(out, "port %s nic_%s %llu\n", v->ports[p].name,
				qgw_shm_desc(v, QGW_FAM_NIC, j)->name, (unsigned long long)nv[j]);
		for (uint32_t rs = 0; rs < h->nb_drops; rs++)
			fprintf(out, "port %s drop_%s %llu\n", v->ports[p].name, v->drops[rs].name,
				(unsigned long long)pv[h->fam[QGW_FAM_PORT].nb + rs]);
		fprintf(out, "port %s dropped %llu\n", v->ports[p].name,
			(unsigned long long)qgw_elem_dropped(v, QGW_FAM_PORT, pv));
		fprintf(out, "port %s link_up %u\n", v->ports[p].name, v->ports[p].link_up);
		fprintf(out, "port %s link_changes %llu\n", v->ports[p].name,
			(unsigned long long)v->ports[p].link_changes);
	}
	for (uint32_t s = 0; s < h->nb_slots; s++) {
		const struct qgw_shm_flow *f = &v->flows[s];

		if (!qgw_flow_selected(o, f))
			continue;
		for (unsigned int p = 0; p < h->nb_ports; p++) {
			const uint64_t *fv = qgw_sample_elem(r->cur, QGW_FAM_FLOW, s * h->nb_ports + p);

			if (!qgw_port_selected(o, v, p) && !qgw_port_selected(o, v, 1 - p))
				continue;
			qgw_direction(v, p, dir, sizeof(dir));
			for (uint32_t j = 0; j < h->fam[QGW_FAM_FLOW].nb; j++)
				fprintf(out, "flow %s %s %s %llu\n", f->name, dir,
					qgw_shm_desc(v, QGW_FAM_FLOW, j)->name,
					(unsigned long long)fv[j]);
			for (uint32_t rs = 0; rs < h->nb_drops; rs++)
				fprintf(out, "flow %s %s drop_%s %llu\n", f->name, dir,
					v->drops[rs].name,
					(unsigned long long)fv[h->fam[QGW_FAM_FLOW].nb + rs]);
			fprintf(out, "flow %s %s dropped %llu\n", f->name, dir,
				(unsigned long long)qgw_elem_dropped(v, QGW_FAM_FLOW, fv));
		}
	}
	for (uint32_t w = 0; w < h->nb_workers; w++) {
		const uint64_t *wv = qgw_sample_elem(r->cur, QGW_FAM_WORKER, w);

		fprintf(out, "worker %u rx_packets %llu\n", w, (unsigned long long)r->cur->worker_rx[w]);
		for (uint32_t j = 0; j < h->fam[QGW_FAM_WORKER].nb; j++)
			fprintf(out, "worker %u %s %llu\n", w, qgw_shm_desc(v, QGW_FAM_WORKER, j)->name,
				(unsigned long long)wv[j]);
		fprintf(out, "worker %u stalled %u\n", w, v->workers[w].stalled);
		fprintf(out, "worker %u stalls %llu\n", w, (unsigned long long)v->workers[w].stalls);
	}
}
