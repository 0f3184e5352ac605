/*
 * Helpers the views of qinqgw-stats share: filters, direction names,
 * uptime as the liveness says, counters by name.
 */
#include "views.h"

#include <string.h>

bool
qgw_port_selected(const struct qgw_stats_opts *o, const struct qgw_shm_view *v, unsigned int p)
{
	return o->port == NULL || strcmp(o->port, v->ports[p].name) == 0;
}

bool
qgw_flow_selected(const struct qgw_stats_opts *o, const struct qgw_shm_flow *f)
{
	return f->active && (o->flow == NULL || strcmp(o->flow, f->name) == 0);
}

const char *
qgw_direction(const struct qgw_shm_view *v, unsigned int p, char *buf, size_t len)
{
	snprintf(buf, len, "%s->%s", v->ports[p].name, v->ports[1 - p].name);
	return buf;
}

double
qgw_uptime(const struct qgw_reading *r)
{
	const struct qgw_shm_header *h = &r->v->hdr;
	double start = (double)h->start_time / 1e9, end;

	switch (r->live.state) {
	case QGW_LIVE_STOPPED:
		end = (double)h->stop_time / 1e9;
		break;
	case QGW_LIVE_DEAD:
		/* alive until its last heartbeat */
		end = r->now - r->live.heartbeat_age;
		break;
	default:
		end = r->now;
	}
	return end > start ? end - start : 0;
}

uint64_t
qgw_elem_dropped(const struct qgw_shm_view *v, unsigned int f, const uint64_t *val)
{
	uint64_t n = 0;

	if (v->hdr.fam[f].drop_off == UINT32_MAX)
		return 0;
	for (uint32_t r = 0; r < v->hdr.nb_drops; r++)
		n += val[v->hdr.fam[f].nb + r];
	return n;
}

uint64_t
qgw_value(const struct qgw_shm_view *v, unsigned int f, const uint64_t *val, const char *name)
{
	int j = qgw_shm_find(v, f, name);

	return j < 0 ? 0 : val[j];
}

double
qgw_busy_percent(const struct qgw_shm_view *v, const uint64_t *w)
{
	uint64_t busy = qgw_value(v, QGW_FAM_WORKER, w, "busy_cycles");
	uint64_t all = busy + qgw_value(v, QGW_FAM_WORKER, w, "idle_cycles");

	return all ? 100.0 * (double)busy / (double)all : 0.0;
}

bool
qgw_slot_rate_ok(const struct qgw_reading *r, uint32_t s)
{
	const struct qgw_sample *a = r->prev, *b = r->cur;

	return a != NULL && a->ino == b->ino && a->pid == b->pid &&
	       a->nb_elems[QGW_FAM_FLOW] == b->nb_elems[QGW_FAM_FLOW] &&
	       a->width[QGW_FAM_FLOW] == b->width[QGW_FAM_FLOW] &&
	       s < b->nb_elems[QGW_FAM_FLOW] / QGW_NB_PORTS && a->slot_gen[s] != 0 &&
	       a->slot_gen[s] == b->slot_gen[s];
}
