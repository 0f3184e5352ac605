/*
 * Flow table construction: turns a validated config into the precomputed
 * lookup arrays and rewrite entries the data path reads (qgw_table.h).
 * Runs on the control plane only; may allocate and fail.
 */
#include "qgw_table.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_malloc.h>

#include "qgw_datapath.h"
#include "qgw_drop.h"

static const uint16_t standard_tpids[] = {0x8100, 0x88a8, 0x9100, 0x9200, 0x9300};

static void
encode_stack(const struct qgw_stack_cfg *s, uint8_t bytes[8])
{
	memset(bytes, 0, 8);
	for (unsigned int i = 0; i < s->nb_tags; i++) {
		uint16_t tci = s->tag[i].vid | (s->tag[i].pcp > 0 ? s->tag[i].pcp << 13 : 0);

		bytes[4 * i + 0] = s->tag[i].tpid >> 8;
		bytes[4 * i + 1] = s->tag[i].tpid & 0xff;
		bytes[4 * i + 2] = tci >> 8;
		bytes[4 * i + 3] = tci & 0xff;
	}
}

/*
 * Frames from QGW_MIN_FRAME + pop - push bytes (no padding needed once
 * rewritten) to `hi` bytes take the fast path; an empty range when none can.
 */
static void
set_fast_range(struct qgw_dp_dir *d, uint32_t hi)
{
	int lo = QGW_MIN_FRAME - d->move;

	if (lo < 0)
		lo = 0;
	if (hi < (uint32_t)lo) {
		d->fast_lo = UINT32_C(0x80000000);
		d->fast_span = 0;
	} else {
		d->fast_lo = (uint32_t)lo;
		d->fast_span = hi - (uint32_t)lo;
	}
}

/*
 * Egress tag i keeps PCP/DEI of popped tag i (counted from the outermost)
 * when it replaces one at the same depth and the config does not set pcp.
 */
static void
fill_dir(struct qgw_dp_dir *d, const struct qgw_config *cfg, uint32_t f, unsigned int in_port,
	 uint32_t slot)
{
	const struct qgw_flow_cfg *fc = &cfg->flows[f];
	const struct qgw_stack_cfg *in = &fc->stack[in_port], *out = &fc->stack[1 - in_port];
	unsigned int out_port = 1 - in_port;
	uint32_t max_out = cfg->port[out_port].max_frame;
	uint64_t hz = rte_get_tsc_hz();
	uint8_t tags[8], keep[8] = {0};

	encode_stack(out, tags);
	for (unsigned int i = 0; i < out->nb_tags && i < in->nb_tags; i++)
		if (out->tag[i].pcp < 0)
			keep[4 * i + 2] = 0xf0;
	/* In place (as many tags pushed as popped), the rewrite stores 8 bytes:
	 * whatever follows the tags is kept as it is. */
	if (out->nb_tags == in->nb_tags)
		for (unsigned int b = 4 * out->nb_tags; b < 8; b++)
			keep[b] = 0xff;
	memcpy(&d->tags, tags, 8);
	memcpy(&d->keep, keep, 8);
	d->tags &= ~d->keep; /* so the rewrite is one AND and one OR */
	d->slot = slot;
	d->cnt_off = (uint32_t)(offsetof(struct qgw_worker_counters, flow) +
				((size_t)slot * QGW_NB_PORTS + in_port) * sizeof(struct qgw_flow_counters));
	d->pop = 4 * in->nb_tags;
	d->push = 4 * out->nb_tags;
	d->out = out_port;

	/*
	 * A frame no longer than safe_len has at most mtu bytes after the
	 * popped tags (so after all tags) and at most max_out bytes once
	 * rewritten: the per-packet MTU check is one comparison.
	 */
	d->mtu = fc->mtu;
	d->max_out = max_out;
	d->safe_len = RTE_MIN(14 + d->pop + fc->mtu, max_out + d->pop - d->push);
	d->icmp = fc->oversize_icmp;
	d->mss4 = fc->mss4;
	d->mss6 = fc->mss6;
	d->mss_any = d->mss4 || d->mss6;
	d->icmp_cost = fc->icmp_rate ? hz / fc->icmp_rate : 0;
	d->icmp_burst = fc->icmp_burst;
	d->move = (int8_t)(d->push - d->pop);
	set_fast_range(d, d->safe_len);
}


/* Entry 0 of dir[]: frames that match no flow. */
static void
fill_no_flow(struct qgw_dp_dir *d)
{
	memset(d, 0, sizeof(*d));
	d->drop = QGW_DROP_NO_FLOW + 1;
	set_fast_range(d, 0);
}

static uint64_t
l2_key(const struct qgw_stack_cfg *s)
{
	struct qgw_stack_cfg t = *s;
	uint8_t b[8];
	uint64_t k;

	t.tag[0].pcp = t.tag[1].pcp = -1;
	encode_stack(&t, b);
	memcpy(&k, b, 8);
	return k & qgw_l2_key_mask();
}

static unsigned int
count_tpids(const struct qgw_config *cfg, unsigned int p, uint16_t tpids[QGW_MAX_TPIDS])
{
	unsigned int nb = 0;

	for (uint32_t f = 0; f < cfg->nb_flows; f++) {
		const struct qgw_stack_cfg *s = &cfg->flows[f].stack[p];

		for (unsigned int t = 0; t < s->nb_tags; t++) {
			unsigned int k;

			for (k = 0; k < nb && tpids[k] != s->tag[t].tpid; k++)
				;
			if (k == nb && nb < QGW_MAX_TPIDS)
				tpids[nb++] = s->tag[t].tpid;
		}
	}
	return nb;
}

static int
build_port(struct qgw_table *t, const struct qgw_config *cfg, const uint32_t *slots,
	   unsigned int p, int socket)
{
	struct qgw_port_table *pt = &t->port[p];
	uint16_t tpids[QGW_MAX_TPIDS];
	unsigned int nb_tpids = count_tpids(cfg, p, tpids), nb_l2 = 0, l2_size = 0, bits = 0;

	for (unsigned int i = 0; i < RTE_DIM(standard_tpids); i++)
		pt->tpid[standard_tpids[i]] = QGW_TPID_OTHER;
	for (unsigned int i = 0; i < nb_tpids; i++)
		pt->tpid[tpids[i]] = i + 1;

	for (uint32_t f = 0; f < cfg->nb_flows; f++)
		nb_l2 += cfg->flows[f].stack[p].nb_tags == 2;
	if (nb_l2 > 0) {
		for (bits = 1; (1u << bits) < 2 * nb_l2; bits++)
			;
		l2_size = 1u << bits;
	}

	pt->dir = rte_zmalloc_socket("qgw_dir", (cfg->nb_flows + 1) * sizeof(*pt->dir),
				     RTE_CACHE_LINE_SIZE, socket);
	pt->l1 = rte_zmalloc_socket("qgw_l1", (nb_tpids + 1) * QGW_VID_SPACE * sizeof(*pt->l1),
				    RTE_CACHE_LINE_SIZE, socket);
	if (l2_size)
		pt->l2 = rte_zmalloc_socket("qgw_l2", l2_size * sizeof(*pt->l2),
					    RTE_CACHE_LINE_SIZE, socket);
	if (pt->dir == NULL || pt->l1 == NULL || (l2_size && pt->l2 == NULL))
		return -ENOMEM;
	fill_no_flow(&pt->dir[0]);
	pt->l2_mask = l2_size ? l2_size - 1 : 0;
	pt->l2_shift = 64 - bits;

	for (uint32_t f = 0; f < cfg->nb_flows; f++) {
		const struct qgw_stack_cfg *s = &cfg->flows[f].stack[p];
		unsigned int ti = 0;
		struct qgw_l1 *e = NULL;

		fill_dir(&pt->dir[f + 1], cfg, f, p, slots ? slots[f] : f);
		if (s->nb_tags == 0) {
			pt->any = f + 1;
			continue;
		}
		while (tpids[ti] != s->tag[0].tpid)
			ti++;
		e = &pt->l1[ti * QGW_VID_SPACE + s->tag[0].vid];
		if (s->nb_tags == 1) {
			e->flow = f + 1;
			e->one = 1;
		} else {
			uint64_t key = l2_key(s);
			uint32_t h = qgw_l2_hash(key, pt->l2_shift);

			while (pt->l2[h].key != 0)
				h = (h + 1) & pt->l2_mask;
			pt->l2[h].key = key;
			pt->l2[h].flow = f + 1;
			e->l2 = 1;
		}
	}
	/* Entries without a one-tag flow (and the last row, for frames whose
	 * outermost EtherType is no TPID of this port) lead to the catch-all. */
	for (size_t i = 0; i < (size_t)(nb_tpids + 1) * QGW_VID_SPACE; i++)
		if (!pt->l1[i].one)
			pt->l1[i].flow = pt->any;
	for (unsigned int v = 0; v < RTE_DIM(pt->row); v++)
		pt->row[v] = &pt->l1[(v >= 1 && v <= nb_tpids ? v - 1 : nb_tpids) * QGW_VID_SPACE];
	return 0;
}

struct qgw_table *
qgw_table_build(const struct qgw_config *cfg, const uint32_t *slots, uint64_t generation,
		int socket)
{
	struct qgw_table *t;
	int ret;

	t = rte_zmalloc_socket("qgw_table", sizeof(*t), RTE_CACHE_LINE_SIZE, socket);
	if (t == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	t->generation = generation;
	t->nb_flows = cfg->nb_flows;
	for (unsigned int p = 0; p < QGW_NB_PORTS; p++)
		t->max_frame[p] = cfg->port[p].max_frame;
	t->port[0].info = rte_zmalloc_socket("qgw_flow_info",
					     (cfg->nb_flows + 1) * sizeof(*t->port[0].info), 0, socket);
	if (t->port[0].info == NULL) {
		qgw_table_free(t);
		errno = ENOMEM;
		return NULL;
	}
	for (uint32_t f = 0; f < cfg->nb_flows; f++) {
		snprintf(t->port[0].info[f].name, sizeof(t->port[0].info[f].name), "%s",
			 cfg->flows[f].name);
		t->port[0].info[f].slot_gen = 1;
	}
	for (unsigned int p = 0; p < QGW_NB_PORTS; p++) {
		t->port[p].info = t->port[0].info;
		ret = build_port(t, cfg, slots, p, socket);
		if (ret < 0) {
			qgw_table_free(t);
			errno = -ret;
			return NULL;
		}
	}
	return t;
}

void
qgw_table_free(struct qgw_table *t)
{
	if (t == NULL)
		return;
	for (unsigned int p = 0; p < QGW_NB_PORTS; p++) {
		rte_free(t->port[p].dir);
		rte_free(t->port[p].l1);
		rte_free(t->port[p].l2);
	}
	rte_free(t->port[0].info);
	rte_free(t);
}
