/*
 * The seed corpus of fuzz_segment: real stats segments.
 *
 * Every seed starts as a segment made by the gateway's own writer
 * (lib/stats/shm.c): qgw_shm_create(), qgw_shm_publish_config() of a real
 * config, qgw_shm_set_link(), qgw_shm_set_nic(), qgw_shm_set_state(), worker
 * entries and counter blocks filled through qgw_shm_worker() and
 * qgw_shm_counters(), oversize events through qgw_event_begin() and
 * qgw_event_commit(). Such a segment has QGW_MAX_SLOTS slots (7 MB with
 * one worker), far too large to fuzz (a mutation touches a few bytes of it),
 * so most seeds are that segment cut down to a few slots: the same parts in
 * the writer's order (header, ports, drops, counter directory, NIC counters,
 * workers, flows, counter blocks, event rings), each 64-byte aligned, the
 * same structs and counter directory; only nb_slots, nb_workers, the
 * offsets, counters_stride and the flow family's nb_elems differ, as the
 * layout rules of qgw_shm.h allow. One seed is the full segment, unchanged.
 * Fields that differ from run to run (pid, times, heartbeat, uid) are set to
 * fixed values, so the seeds come out the same every time.
 *
 * Usage:
 *   gen_segment_seeds DIR          write the seeds into DIR
 *                                  (test/fuzz/corpus/segment)
 *   gen_segment_seeds --check DIR  every file of DIR is a segment this
 *                                  build's reader opens and samples; fails
 *                                  when the layout changed (QGW_SHM_VERSION,
 *                                  a struct): then write the seeds again
 */
#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qgw_config.h"
#include "qgw_counters.h"
#include "qgw_drop.h"
#include "qgw_events.h"
#include "qgw_shm.h"

#define START_TIME 1700000000000000000LL /* 2023-11-14, Unix ns */
#define TSC_HZ 2000000000ull
#define SEC 1000000000ull

static const char config_json[] =
	"{\"version\": 1,"
	" \"ports\": {\"twaren\": {\"device\": \"0000:3b:00.0\", \"max_frame\": 1526},"
	"             \"ccx-1\": {\"device\": \"net_pcap1\", \"max_frame\": 1518}},"
	" \"flows\": ["
	"  {\"name\": \"twcc-aws-tokyo\", \"twaren\": [{\"tpid\": \"0x88a8\", \"vid\": 100}],"
	"   \"ccx-1\": [{\"tpid\": \"0x8100\", \"vid\": 3001}]},"
	"  {\"name\": \"lab-2to1\", \"twaren\": [{\"tpid\": \"0x88a8\", \"vid\": 200},"
	"   {\"tpid\": \"0x8100\", \"vid\": 30}],"
	"   \"ccx-1\": [{\"tpid\": \"0x9100\", \"vid\": 3002, \"pcp\": 5}]},"
	"  {\"name\": \"hinet.osaka:2\", \"twaren\": [{\"tpid\": \"0x88a8\", \"vid\": 300},"
	"   {\"tpid\": \"0x8100\", \"vid\": 40}],"
	"   \"ccx-1\": [{\"tpid\": \"0x9200\", \"vid\": 3003}, {\"tpid\": \"0x8100\", \"vid\": 41}]},"
	"  {\"name\": \"mgmt-untagged\", \"twaren\": [],"
	"   \"ccx-1\": [{\"tpid\": \"0x9300\", \"vid\": 4000}]}"
	" ]}";

/* Flow i of the config in slot slots[i]: slot 2 is free (a removed flow). */
static const uint32_t slots[] = {0, 1, 3, 4};
static const uint32_t gens[QGW_MAX_FLOWS] = {[0] = 1, [1] = 3, [2] = 2, [3] = 1, [4] = 7};

static size_t
align64(size_t x)
{
	return (x + 63) & ~(size_t)63;
}

static void
die(const char *fmt, const char *arg)
{
	fprintf(stderr, "gen_segment_seeds: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	exit(1);
}

/* One oversize event, as a worker writes it. */
static void
event(struct qgw_event_ring *r, const struct qgw_shm_flow *flows, uint32_t slot, uint8_t port,
      unsigned int i, bool commit)
{
	struct qgw_event *e = qgw_event_begin(r);
	static const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 0x10};

	e->tsc = 5 * TSC_HZ + (uint64_t)i * TSC_HZ / 1000 + port;
	e->slot = slot;
	e->port = port;
	e->frame_len = (uint16_t)(1530 + i);
	e->limit = 1500;
	e->nb_tags = (uint8_t)(1 + i % 3);
	for (unsigned int t = 0; t < QGW_EVENT_TAGS; t++) {
		unsigned int vid = 100 + i + t;
		const uint8_t wire[4] = {t ? 0x81 : 0x88, t ? 0x00 : 0xa8, (uint8_t)(vid >> 8),
					 (uint8_t)vid}; /* TPID and TCI as on the wire */

		memcpy(&e->tags[t], wire, 4);
	}
	e->slot_gen = flows[slot].gen - (i % 5 == 4); /* now and then an older generation */
	snprintf(e->flow, sizeof(e->flow), "%s", flows[slot].name);
	switch (i % 4) {
	case 0: /* IPv4 TCP, DF: ICMP sent */
		e->ethertype = 0x0800;
		e->proto = 6;
		memcpy(e->src, (const uint8_t[]){192, 0, 2, 10}, 4);
		memcpy(e->dst, (const uint8_t[]){198, 51, 100, 20}, 4);
		e->sport = 40000;
		e->dport = 443;
		e->action = QGW_EV_ICMP_SENT;
		break;
	case 1: /* IPv6 UDP: rate limited */
		e->ethertype = 0x86dd;
		e->proto = 17;
		memcpy(e->src, v6, 16);
		memcpy(e->dst, v6, 16);
		e->dst[15] = 0x20;
		e->sport = 5353;
		e->dport = 53;
		e->action = QGW_EV_ICMP_SUPPRESSED;
		break;
	case 2: /* IPv4 without DF */
		e->ethertype = 0x0800;
		e->proto = 1;
		memcpy(e->src, (const uint8_t[]){10, 1, 2, 3}, 4);
		memcpy(e->dst, (const uint8_t[]){10, 3, 2, 1}, 4);
		e->action = QGW_EV_DF_CLEAR;
		break;
	default: /* not IP */
		e->ethertype = 0x88cc;
		e->nb_tags = 5;
		e->action = QGW_EV_DROPPED;
	}
	e->l3_len = (uint16_t)(e->frame_len - 14 - 4 * (e->nb_tags < 4 ? e->nb_tags : 4));
	if (commit)
		qgw_event_commit(r, e);
}

/*
 * A real segment of nb_workers workers in state `state`, every part written
 * by the writer; the name is unlinked at once (the mapping stays).
 */
static struct qgw_shm *
real_segment(unsigned int nb_workers, enum qgw_shm_state state)
{
	static unsigned int seq;
	struct qgw_errors errs = {0};
	struct qgw_config *cfg = qgw_config_load_string(config_json, &errs);
	struct qgw_shm_header *h;
	struct qgw_shm_flow *flows;
	struct qgw_shm *s;
	char name[64], msg[512];

	if (cfg == NULL)
		die("the seed config does not load: %s", errs.nb ? errs.msg[0] : "?");
	qgw_errors_clear(&errs);
	snprintf(name, sizeof(name), "qgw_seedgen_%d_%u", (int)getpid(), seq++);
	s = qgw_shm_create(name, NULL, nb_workers, msg, sizeof(msg));
	if (s == NULL)
		die("qgw_shm_create: %s", msg);
	snprintf(msg, sizeof(msg), "/%s", name);
	shm_unlink(msg);
	h = s->hdr;
	flows = (struct qgw_shm_flow *)((char *)s->base + h->flows_off);

	qgw_shm_publish_config(s, cfg, slots, gens, 5);
	qgw_config_free(cfg);
	qgw_shm_set_link(s, 0, true, 10000, true);
	qgw_shm_set_link(s, 1, true, nb_workers == 2 ? 0 : 25000, true); /* 0: unknown speed */
	if (state != QGW_SHM_STARTING)
		qgw_shm_set_state(s, QGW_SHM_RUNNING);
	qgw_shm_set_link(s, 1, false, 0, false); /* two link changes on port 1 */
	qgw_shm_set_link(s, 1, true, nb_workers == 2 ? 0 : 25000, true);
	for (unsigned int p = 0; p < QGW_NB_PORTS; p++) {
		struct qgw_nic_counters nic = {.rx_missed = 12 + p, .rx_nombuf = p, .rx_errors = 3,
					       .tx_errors = p * 2};

		qgw_shm_set_nic(s, p, &nic);
	}
	for (unsigned int w = 0; w < nb_workers; w++) {
		struct qgw_shm_worker *wk = qgw_shm_worker(s, w);
		struct qgw_worker_counters *c = qgw_shm_counters(s, w);
		uint64_t k = w + 1;

		wk->lcore = w + 1;
		wk->socket = 0;
		wk->heartbeat = 123456 * k;
		wk->stalled = w == 1;
		wk->stalls = w == 1 ? 2 : 0;
		c->busy_polls = 1000 * k;
		c->idle_polls = 90000 * k;
		c->busy_cycles = 3000000 * k;
		c->idle_cycles = 97000000 * k;
		for (unsigned int p = 0; p < QGW_NB_PORTS; p++) {
			struct qgw_port_counters *pc = &c->port[p];

			pc->rx_pkts = 10000 * k + p;
			pc->rx_bytes = pc->rx_pkts * 700;
			pc->tx_pkts = 9000 * k + p;
			pc->tx_bytes = pc->tx_pkts * 704;
			pc->icmp_sent = 4 * k;
			pc->icmp_tx_full = p;
			for (unsigned int r = 0; r < QGW_DROP__MAX; r++)
				pc->drop[r] = r == QGW_DROP_TX_FULL ? 0 : (r + 1) * k;
		}
		for (uint32_t i = 0; i < RTE_DIM(slots); i++) {
			for (unsigned int p = 0; p < QGW_NB_PORTS; p++) {
				struct qgw_flow_counters *fc = &c->flow[slots[i]][p];

				fc->pkts = 2000 * k * (i + 1) + p;
				fc->bytes = fc->pkts * 1000;
				fc->max_len = 1400 + 100 * w + p;
				fc->max_oversize = i == 1 ? 9000 : 0;
				fc->icmp_sent = i;
				fc->icmp_suppressed = i == 1 ? 5 * k : 0;
				fc->df_clear = p;
				fc->mss_clamped = 11 * k;
				fc->mss_bad_options = i == 2;
				fc->drop[QGW_DROP_OVERSIZE] = 3 * k * i;
				fc->drop[QGW_DROP_NO_HEADROOM] = i == 3;
			}
		}
		/* a flow that was removed: its counters stay, its slot is inactive */
		c->flow[2][0].pkts = 77;
		for (unsigned int p = 0; p < QGW_NB_PORTS; p++) {
			struct qgw_event_ring *r = qgw_shm_events(s, w, p);
			/* worker 0 wraps port 0's ring, and the oldest entry in
			 * range is being written again */
			unsigned int n = w == 0 && p == 0 ? QGW_EVENTS + 9 : 6 + w;

			for (unsigned int i = 0; i < n; i++)
				event(r, flows, slots[(i + w) % RTE_DIM(slots)], (uint8_t)p, i, true);
			if (w == 0 && p == 0)
				event(r, flows, slots[0], (uint8_t)p, n, false);
		}
	}
	if (state == QGW_SHM_STOPPED)
		qgw_shm_set_state(s, QGW_SHM_STOPPED);

	/* What differs from run to run. pid 1 is always alive (and never the
	 * gateway): its liveness then depends on the heartbeat alone. */
	h->start_time = START_TIME;
	h->update_time = START_TIME + 3 * (int64_t)SEC;
	h->stop_time = state == QGW_SHM_STOPPED ? START_TIME + 3600 * (int64_t)SEC : 0;
	h->tsc_hz = TSC_HZ;
	h->start_tsc = 4 * TSC_HZ;
	h->start_mono = 1 * SEC;
	h->heartbeat = 2 * SEC; /* long ago on any machine: stalled */
	h->pid = 1;
	h->pid_start = 0;
	h->uid = 0;
	return s;
}

/* Descriptors of a seed: the writer's, or a directory this build does not have. */
struct directory {
	struct qgw_shm_counter desc[QGW_SHM_MAX_COUNTERS];
	uint32_t nb;
	struct qgw_shm_family fam[QGW_FAM__MAX];
};

static void
directory_of(const struct qgw_shm *s, struct directory *d)
{
	d->nb = s->hdr->nb_desc;
	memcpy(d->desc, (const char *)s->base + s->hdr->desc_off, d->nb * sizeof(d->desc[0]));
	memcpy(d->fam, s->hdr->fam, sizeof(d->fam));
}

/*
 * s cut down to nb_slots slots and its first nb_workers workers, in the
 * writer's layout (see qgw_shm_create()). *len receives the size.
 */
static void *
cut(const struct qgw_shm *s, const struct directory *d, uint32_t nb_slots, uint32_t nb_workers,
    size_t *len)
{
	const struct qgw_shm_header *rh = s->hdr;
	const char *rb = s->base;
	const struct qgw_shm_family *rf = &rh->fam[QGW_FAM_FLOW];
	size_t off, ports_off, drops_off, desc_off, nic_off, workers_off, flows_off, counters_off;
	size_t events_off, stride, block = 0, size;
	struct qgw_shm_header *h;
	char *b;

	if (nb_slots > rh->nb_slots || nb_workers > rh->nb_workers)
		die("%s: cut larger than the segment", "cut");
	/* A counter block: every family of the block, with nb_slots flow slots. */
	for (unsigned int f = 0; f < QGW_FAM__MAX; f++) {
		uint64_t elems = f == QGW_FAM_FLOW ? (uint64_t)nb_slots * QGW_NB_PORTS
						   : d->fam[f].nb_elems;
		size_t end = elems ? d->fam[f].off + (elems - 1) * d->fam[f].stride + d->fam[f].size
				   : 0;

		if (f != QGW_FAM_NIC && end > block)
			block = end;
	}
	stride = align64(block);

	off = align64(sizeof(*h));
	ports_off = off;
	off = align64(off + rh->nb_ports * sizeof(struct qgw_shm_port));
	drops_off = off;
	off = align64(off + rh->nb_drops * sizeof(struct qgw_shm_drop));
	desc_off = off;
	off = align64(off + d->nb * sizeof(struct qgw_shm_counter));
	nic_off = off;
	off = align64(off + rh->nb_ports * d->fam[QGW_FAM_NIC].stride);
	workers_off = off;
	off = align64(off + nb_workers * sizeof(struct qgw_shm_worker));
	flows_off = off;
	off = align64(off + nb_slots * sizeof(struct qgw_shm_flow));
	counters_off = off;
	off = align64(off + nb_workers * stride);
	events_off = off;
	size = off + (size_t)nb_workers * rh->nb_ports * sizeof(struct qgw_event_ring);

	b = calloc(1, size);
	if (b == NULL)
		die("%s", strerror(ENOMEM));
	h = (struct qgw_shm_header *)b;
	memcpy(h, rh, sizeof(*h));
	memcpy(b + ports_off, rb + rh->ports_off, rh->nb_ports * sizeof(struct qgw_shm_port));
	memcpy(b + drops_off, rb + rh->drops_off, rh->nb_drops * sizeof(struct qgw_shm_drop));
	memcpy(b + desc_off, d->desc, d->nb * sizeof(struct qgw_shm_counter));
	memcpy(b + nic_off, rb + rh->fam[QGW_FAM_NIC].off,
	       rh->nb_ports * rh->fam[QGW_FAM_NIC].stride);
	memcpy(b + workers_off, rb + rh->workers_off, nb_workers * sizeof(struct qgw_shm_worker));
	memcpy(b + flows_off, rb + rh->flows_off, nb_slots * sizeof(struct qgw_shm_flow));
	for (uint32_t w = 0; w < nb_workers; w++) {
		/* worker and port counters, then the first nb_slots slots */
		size_t keep = rf->off + (size_t)nb_slots * QGW_NB_PORTS * rf->stride;

		memcpy(b + counters_off + w * stride, rb + rh->counters_off + w * rh->counters_stride,
		       keep < stride ? keep : stride);
	}
	memcpy(b + events_off, rb + rh->events_off,
	       (size_t)nb_workers * rh->nb_ports * sizeof(struct qgw_event_ring));

	h->size = size;
	h->nb_workers = nb_workers;
	h->nb_slots = nb_slots;
	h->ports_off = ports_off;
	h->drops_off = drops_off;
	h->workers_off = workers_off;
	h->flows_off = flows_off;
	h->counters_off = counters_off;
	h->counters_stride = stride;
	h->events_off = events_off;
	h->desc_off = desc_off;
	h->nb_desc = d->nb;
	memcpy(h->fam, d->fam, sizeof(h->fam));
	h->fam[QGW_FAM_FLOW].nb_elems = nb_slots * QGW_NB_PORTS;
	h->fam[QGW_FAM_NIC].off = nic_off;
	*len = size;
	return b;
}

/* The reader must take every seed: a seed it refuses fuzzes nothing. */
static int
accepted(const void *data, size_t len, char *why, size_t whylen)
{
	struct qgw_shm_view v;
	struct qgw_sample smp = {0};
	void *buf = NULL;
	int ret;

	if (posix_memalign(&buf, 64, len ? len : 1) != 0)
		return -ENOMEM;
	memcpy(buf, data, len);
	ret = qgw_shm_open_memory(buf, len, &v);
	if (ret == 0) {
		ret = qgw_shm_sample(&v, &smp);
		snprintf(why, whylen, "%u workers, %u slots", v.hdr.nb_workers, v.hdr.nb_slots);
		qgw_sample_free(&smp);
		qgw_shm_close_view(&v);
	}
	if (ret < 0)
		snprintf(why, whylen, "%s", qgw_shm_strerror(ret));
	free(buf);
	return ret;
}

static void
write_seed(const char *dir, const char *name, const void *data, size_t len)
{
	char path[4096], why[256];
	FILE *f;

	if (accepted(data, len, why, sizeof(why)) != 0)
		die("a seed the reader refuses: %s", why);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (f == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0)
		die("cannot write %s", path);
	printf("%s: %zu bytes, %s\n", name, len, why);
}

static void
put_string(char *dst, size_t size, const char *s)
{
	memset(dst, 0, size);
	memcpy(dst, s, strlen(s) < size ? strlen(s) : size);
}

static int
write_seeds(const char *dir)
{
	struct qgw_shm *one = real_segment(1, QGW_SHM_RUNNING);
	struct qgw_shm *two = real_segment(2, QGW_SHM_STOPPED);
	struct qgw_shm *starting = real_segment(1, QGW_SHM_STARTING);
	struct directory d, custom;
	struct qgw_shm_header *h;
	size_t len;
	char *b;

	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		die("cannot make %s", dir);
	directory_of(one, &d);

	/* The full segment of one worker, as the writer made it. */
	write_seed(dir, "full-1worker-running", one->base, one->size);

	b = cut(one, &d, 5, 1, &len);
	write_seed(dir, "running-1worker-5slots", b, len);
	free(b);

	b = cut(two, &d, 5, 2, &len);
	write_seed(dir, "stopped-2workers-5slots", b, len);
	free(b);

	b = cut(starting, &d, 2, 1, &len);
	write_seed(dir, "starting-1worker-2slots", b, len);
	free(b);

	/* No worker (nothing but the directory and NIC counters), dead. */
	b = cut(one, &d, 5, 0, &len);
	((struct qgw_shm_header *)b)->pid = 0;
	write_seed(dir, "dead-0workers-5slots", b, len);
	free(b);

	/* Names no config allows: quotes, backslashes, newlines, no NUL at all. */
	b = cut(two, &d, 5, 2, &len);
	h = (struct qgw_shm_header *)b;
	{
		struct qgw_shm_port *p = (struct qgw_shm_port *)(b + h->ports_off);
		struct qgw_shm_drop *dr = (struct qgw_shm_drop *)(b + h->drops_off);
		struct qgw_shm_flow *f = (struct qgw_shm_flow *)(b + h->flows_off);

		put_string(p[0].name, sizeof(p[0].name), "we\"st\\\n");
		memset(p[1].name, 'E', sizeof(p[1].name));
		memset(p[1].device, 'd', sizeof(p[1].device));
		put_string(dr[0].name, sizeof(dr[0].name), "no\"flow\n");
		memset(dr[1].help, 'h', sizeof(dr[1].help));
		put_string(f[0].name, sizeof(f[0].name), "a\"b\\c\nd}e{");
		memset(f[1].name, 'F', sizeof(f[1].name));
		memset(f[1].stack[0], 'S', sizeof(f[1].stack[0]));
		memset(h->version_str, 'v', sizeof(h->version_str));
	}
	write_seed(dir, "odd-names-2workers", b, len);
	free(b);

	/*
	 * A counter directory this build does not have: renamed, reordered,
	 * another kind, a label that is not k="v", a metric name Prometheus
	 * refuses, two descriptors sharing a metric name, one more counter in
	 * the padding of a port element.
	 */
	custom = d;
	{
		struct qgw_shm_counter *pd = &custom.desc[custom.fam[QGW_FAM_PORT].first];
		struct qgw_shm_counter extra = pd[0], tmp;
		uint32_t at = custom.fam[QGW_FAM_PORT].first + custom.fam[QGW_FAM_PORT].nb;

		tmp = pd[0];
		pd[0] = pd[2];
		pd[2] = tmp;
		put_string(pd[1].prom, sizeof(pd[1].prom), "9not_a_metric");
		put_string(pd[3].label, sizeof(pd[3].label), "dir=\"out");
		put_string(pd[3].help, sizeof(pd[3].help), "a \\ and a\nnewline");
		put_string(custom.desc[custom.fam[QGW_FAM_WORKER].first].label,
			   sizeof(pd[0].label), "State=\"busy\"");
		put_string(pd[4].prom, sizeof(pd[4].prom), pd[5].prom);
		put_string(pd[4].label, sizeof(pd[4].label), "k=\"v\"");
		pd[5].kind = QGW_KIND_GAUGE;
		put_string(pd[5].column, sizeof(pd[5].column), "TX FULL");
		put_string(extra.name, sizeof(extra.name), "rx_future");
		put_string(extra.prom, sizeof(extra.prom), "qinqgw_port_rx_future_total");
		put_string(extra.column, sizeof(extra.column), "FUTURE");
		extra.kind = QGW_KIND_MAX;
		extra.offset = custom.fam[QGW_FAM_PORT].size - 8; /* padding of the element */
		memmove(&custom.desc[at + 1], &custom.desc[at],
			(custom.nb - at) * sizeof(custom.desc[0]));
		custom.desc[at] = extra;
		custom.nb++;
		custom.fam[QGW_FAM_PORT].nb++;
		for (unsigned int f = 0; f < QGW_FAM__MAX; f++)
			if (f != QGW_FAM_PORT && custom.fam[f].first >= at)
				custom.fam[f].first++;
	}
	b = cut(one, &custom, 5, 1, &len);
	write_seed(dir, "other-directory-1worker", b, len);
	free(b);

	qgw_shm_close(one);
	qgw_shm_close(two);
	qgw_shm_close(starting);
	return 0;
}

static int
check_dir(const char *dir)
{
	struct dirent **ents;
	int n = scandir(dir, &ents, NULL, alphasort), bad = 0, nb = 0;

	if (n < 0)
		die("cannot read %s", dir);
	for (int i = 0; i < n; i++) {
		char path[4096], why[256];
		struct stat st;
		void *data;
		FILE *f;

		snprintf(path, sizeof(path), "%s/%s", dir, ents[i]->d_name);
		free(ents[i]);
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		data = malloc(st.st_size ? (size_t)st.st_size : 1);
		f = fopen(path, "rb");
		if (data == NULL || f == NULL || fread(data, 1, st.st_size, f) != (size_t)st.st_size)
			die("cannot read %s", path);
		fclose(f);
		nb++;
		if (accepted(data, st.st_size, why, sizeof(why)) == 0) {
			printf("ok %s (%s)\n", path, why);
		} else {
			printf("STALE %s: %s\n", path, why);
			bad++;
		}
		free(data);
	}
	free(ents);
	if (bad)
		printf("%d of %d seeds are refused by this build's reader: the segment layout "
		       "changed; write them again with gen_segment_seeds %s\n",
		       bad, nb, dir);
	else
		printf("%d seeds, all accepted\n", nb);
	return bad || nb == 0 ? 1 : 0;
}

int
main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--check") == 0)
		return check_dir(argv[2]);
	if (argc == 2 && argv[1][0] != '-')
		return write_seeds(argv[1]);
	fprintf(stderr, "usage: gen_segment_seeds DIR | --check DIR\n");
	return 2;
}
