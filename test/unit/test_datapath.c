/*
 * Unit tests of the data path: qgw_dp_burst() and qgw_dp_tx_done() on real
 * mbufs, against flow tables built by qgw_table_build() from configs parsed
 * by qgw_config_load_string().
 *
 * The expected output of every case is built here, byte by byte, from the
 * test's own description of the flows and of the received frame; the
 * library's tag encoder is never used to predict its own output. Every test
 * also checks the per-burst accounting (rx_pkts = forwarded + drops, rx and
 * out byte counts) and that the mbuf pool is back to its starting level, so
 * a frame that is dropped without being freed fails the test that sent it.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>

#include <rte_eal.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "dp_testlib.h"
#include "qgw_config.h"
#include "qgw_counters.h"
#include "qgw_datapath.h"
#include "qgw_drop.h"
#include "qgw_table.h"

#define FRAME_MAX 9216
#define POOL_SIZE 2047
#define MIN_FRAME 60   /* the spec's padding target, kept apart from QGW_MIN_FRAME */
#define FWD (-1)       /* expected outcome: forwarded, not dropped */
#define CATCH_ALL (-2) /* expected flow: the port's catch-all, or no_flow without one */
#define NO_PCP (-1)

static struct qgw_worker_counters *c;

static const uint16_t std_tpids[5] = {0x8100, 0x88a8, 0x9100, 0x9200, 0x9300};

/* A tag as the test writes it into a config; pcp NO_PCP leaves "pcp" out. */
struct ctag {
	uint16_t tpid;
	uint16_t vid;
	int pcp;
};

struct cstack {
	unsigned int nb;
	struct ctag tag[2];
};

/* One flow: its stack on port "a" (index 0) and on port "b" (index 1). */
struct cflow {
	struct cstack port[QGW_NB_PORTS];
};

/*
 * Write a frame: fixed MACs, the tags, an EtherType and a payload whose
 * bytes depend on their position in the payload and on seed, so a payload
 * that moved or changed cannot compare equal. Returns the length.
 */
static unsigned int
frame_bytes(uint8_t *buf, const struct wtag *tags, unsigned int nb_tags, uint16_t etype,
	    unsigned int payload_len, uint8_t seed)
{
	static const uint8_t macs[12] = {0x02, 0x00, 0x5e, 0x10, 0x20, 0x30,
					 0x02, 0x00, 0x5e, 0xa0, 0xb0, 0xc0};
	unsigned int n = sizeof(macs);

	memcpy(buf, macs, sizeof(macs));
	for (unsigned int i = 0; i < nb_tags; i++) {
		put16(buf + n, tags[i].tpid);
		put16(buf + n + 2, tags[i].tci);
		n += 4;
	}
	put16(buf + n, etype);
	n += 2;
	for (unsigned int j = 0; j < payload_len; j++)
		buf[n++] = (uint8_t)(seed + 13 * j + (j >> 8));
	return n;
}

/* Same, sized to a total length (at least the header and the tags). */
static unsigned int
frame_len(uint8_t *buf, const struct wtag *tags, unsigned int nb_tags, unsigned int len,
	  uint8_t seed)
{
	return frame_bytes(buf, tags, nb_tags, 0x0800, len - 14 - 4 * nb_tags, seed);
}

/* Zero-pad to the Ethernet minimum, as the spec wants egress frames. */
static unsigned int
pad_min(uint8_t *buf, unsigned int len)
{
	if (len >= MIN_FRAME)
		return len;
	memset(buf + len, 0, MIN_FRAME - len);
	return MIN_FRAME;
}

/*
 * The frame the spec mandates when flow f receives, on port in, a frame with
 * wire tags ft[] (the first f->port[in].nb of them matched): the other port's
 * stack replaces the matched tags; egress tag i takes its PCP from the config,
 * else the top 4 TCI bits of popped tag i if there is one, else 0; the rest
 * of the frame is unchanged; short results are zero-padded.
 */
static unsigned int
expect_frame(uint8_t *buf, const struct cflow *f, unsigned int in, const struct wtag *ft,
	     unsigned int nb_ft, uint16_t etype, unsigned int payload_len, uint8_t seed)
{
	const struct cstack *pop = &f->port[in], *push = &f->port[1 - in];
	struct wtag t[6];
	unsigned int n = 0;

	for (unsigned int i = 0; i < push->nb; i++) {
		uint16_t top = 0;

		if (push->tag[i].pcp >= 0)
			top = (uint16_t)(push->tag[i].pcp << 13);
		else if (i < pop->nb)
			top = ft[i].tci & 0xf000;
		t[n].tpid = push->tag[i].tpid;
		t[n++].tci = top | push->tag[i].vid;
	}
	for (unsigned int i = pop->nb; i < nb_ft; i++)
		t[n++] = ft[i];
	return pad_min(buf, frame_bytes(buf, t, n, etype, payload_len, seed));
}

static int
stack_json(char *s, size_t len, const struct cstack *st)
{
	int n = snprintf(s, len, "[");

	for (unsigned int i = 0; i < st->nb; i++) {
		n += snprintf(s + n, len - n, "%s{\"tpid\": \"0x%04x\", \"vid\": %u", i ? ", " : "",
			      st->tag[i].tpid, st->tag[i].vid);
		if (st->tag[i].pcp >= 0)
			n += snprintf(s + n, len - n, ", \"pcp\": %d", st->tag[i].pcp);
		n += snprintf(s + n, len - n, "}");
	}
	n += snprintf(s + n, len - n, "]");
	return n;
}

/* Write flows as a config document, parse it and build a table from it. */
static struct qgw_table *
make_table(const struct cflow *flows, unsigned int nb, const uint32_t *slots)
{
	size_t cap = 512 + 256 * (size_t)nb;
	struct qgw_errors errs = {0};
	struct qgw_config *cfg;
	struct qgw_table *t;
	char *doc = malloc(cap);
	int n;

	CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
	n = snprintf(doc, cap,
		     "{\"version\": 1, \"ports\": {\"a\": {\"device\": \"net_null0\", "
		     "\"max_frame\": 16384}, \"b\": {\"device\": \"net_null1\", "
		     "\"max_frame\": 16384}}, \"flows\": [");
	/* Tag rewriting only: no size limit is reached, TCP is left alone. */
	for (unsigned int f = 0; f < nb; f++) {
		n += snprintf(doc + n, cap - n,
			      "%s{\"name\": \"f%u\", \"mss_clamp\": false, \"a\": ",
			      f ? ", " : "", f);
		n += stack_json(doc + n, cap - n, &flows[f].port[0]);
		n += snprintf(doc + n, cap - n, ", \"b\": ");
		n += stack_json(doc + n, cap - n, &flows[f].port[1]);
		n += snprintf(doc + n, cap - n, "}");
	}
	snprintf(doc + n, cap - n, "]}");

	cfg = qgw_config_load_string(doc, &errs);
	if (cfg == NULL) {
		printf("\n    config rejected:\n%s\n", doc);
		for (size_t i = 0; i < errs.nb; i++)
			printf("    %s\n", errs.msg[i]);
	}
	qgw_errors_clear(&errs);
	free(doc);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	CU_ASSERT_EQUAL(cfg->nb_flows, nb);
	CU_ASSERT_EQUAL(qgw_config_port_index(cfg, "a"), 0);
	CU_ASSERT_EQUAL(qgw_config_port_index(cfg, "b"), 1);
	t = qgw_table_build(cfg, slots, 1, SOCKET_ID_ANY);
	qgw_config_free(cfg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	return t;
}

/* A frame that ends where its buffer ends: no tailroom. */
static struct rte_mbuf *
mbuf_at_end(const uint8_t *buf, unsigned int len)
{
	return mbuf_headroom(buf, len,
			     (uint16_t)(RTE_MBUF_DEFAULT_DATAROOM + RTE_PKTMBUF_HEADROOM - len));
}

/*
 * Run one burst and check what every burst must keep: rx counters grow by
 * the frames and their ingress bytes, each frame is either forwarded or
 * counted under exactly one drop reason, out->bytes is the sum of the
 * egress lengths, and nothing is counted as transmitted yet.
 */
static void
run_burst(const struct qgw_table *t, unsigned int in, struct rte_mbuf **pkts, uint16_t nb,
	  struct qgw_dp_out *out, const char *what)
{
	static struct qgw_icmp_bucket buckets[QGW_MAX_FLOWS * QGW_NB_PORTS];
	struct qgw_dp_ctx ctx = {.c = c, .bucket = buckets};
	struct qgw_dp_out back;

	struct qgw_port_counters before = c->port[in], eg = c->port[1 - in];
	uint64_t rx_bytes = 0, tx_bytes = 0;

	for (uint16_t i = 0; i < nb; i++)
		rx_bytes += pkts[i]->pkt_len;
	memset(out, 0xee, sizeof(*out));
	qgw_dp_burst(t, in, pkts, nb, out, &back, &ctx);
	CHECK_EQ(back.nb, 0, what);
	CHECK(out->nb <= nb, what);
	if (out->nb > nb)
		out->nb = 0;
	CHECK_EQ(c->port[in].rx_pkts - before.rx_pkts, nb, what);
	CHECK_EQ(c->port[in].rx_bytes - before.rx_bytes, rx_bytes, what);
	CHECK_EQ(out->nb + sum_drops(c->port[in].drop) - sum_drops(before.drop), nb, what);
	for (uint16_t i = 0; i < out->nb; i++)
		tx_bytes += out->pkts[i]->pkt_len;
	CHECK_EQ(out->bytes, tx_bytes, what);
	CHECK_EQ(c->port[1 - in].tx_pkts, eg.tx_pkts, what);
	CHECK_EQ(c->port[in].tx_pkts, before.tx_pkts, what);
}

/* Everything was sent: the egress port counts it all, nothing is freed. */
static void
transmit(unsigned int in, const struct qgw_dp_out *out, const char *what)
{
	struct qgw_port_counters eg = c->port[1 - in], ing = c->port[in];

	qgw_dp_tx_done(in, out, out->nb, c);
	CHECK_EQ(c->port[1 - in].tx_pkts - eg.tx_pkts, out->nb, what);
	CHECK_EQ(c->port[1 - in].tx_bytes - eg.tx_bytes, out->bytes, what);
	CHECK_EQ(c->port[in].drop[QGW_DROP_TX_FULL], ing.drop[QGW_DROP_TX_FULL], what);
}

static void
release(struct qgw_dp_out *out)
{
	if (out->nb)
		rte_pktmbuf_free_bulk(out->pkts, out->nb);
	out->nb = 0;
}

/*
 * Send one frame. want is FWD or a drop reason. A forwarded frame is
 * returned (the caller checks and frees it) with its slot; a dropped one must
 * be counted under exactly that reason on the ingress port.
 */
static struct rte_mbuf *
pass_one(const struct qgw_table *t, unsigned int in, struct rte_mbuf *m, int want, uint32_t *slot,
	 const char *what)
{
	struct qgw_port_counters before = c->port[in];
	struct qgw_dp_out out;

	run_burst(t, in, &m, 1, &out, what);
	if (want == FWD) {
		CHECK_EQ(out.nb, 1, what);
		for (unsigned int r = 0; r < QGW_DROP__MAX && out.nb == 0; r++)
			if (c->port[in].drop[r] != before.drop[r])
				printf(" (dropped as %s)", qgw_drop_name(r));
		if (out.nb != 1)
			return NULL;
		transmit(in, &out, what);
		if (slot != NULL)
			*slot = out.dir[0]->slot;
		return out.pkts[0];
	}
	CHECK_EQ(out.nb, 0, what);
	CHECK_EQ(c->port[in].drop[want] - before.drop[want], 1, what);
	release(&out);
	return NULL;
}

static void
reset_counters(void)
{
	memset(c, 0, sizeof(*c));
}

/*
 * One flow popping np tags on port a and pushing nq on port b, its TPIDs
 * rotated by k through the standard ones; frames of it sent both ways, with
 * and without a customer tag behind the flow's tags. Returns the frames sent.
 */
static unsigned int
combo(unsigned int np, unsigned int nq, unsigned int k)
{
	struct cflow f = {0};
	unsigned int sent = 0;
	struct qgw_table *t;

	f.port[0].nb = np;
	f.port[0].tag[0] = (struct ctag){std_tpids[k], 100 + k, NO_PCP};
	f.port[0].tag[1] = (struct ctag){std_tpids[(k + 1) % 5], 200 + k, NO_PCP};
	f.port[1].nb = nq;
	f.port[1].tag[0] = (struct ctag){std_tpids[(k + 2) % 5], 3000 + k, NO_PCP};
	f.port[1].tag[1] = (struct ctag){std_tpids[(k + 3) % 5], 4000 + k, NO_PCP};
	t = make_table(&f, 1, NULL);
	reset_counters();

	for (unsigned int in = 0; in < QGW_NB_PORTS; in++) {
		for (unsigned int ctag = 0; ctag <= 1; ctag++) {
			static uint8_t buf[FRAME_MAX], exp[FRAME_MAX];
			const struct cstack *s = &f.port[in];
			unsigned int n = 0, len, elen, plen = 100 + 3 * k;
			struct wtag ft[3];
			struct rte_mbuf *m;
			uint32_t slot = ~0u;
			char what[96];

			for (unsigned int i = 0; i < s->nb; i++) {
				/* PCP/DEI bits that differ between tags and cases */
				uint16_t top = ((k * 3 + i * 5 + in + 1) & 0xf) << 12;

				ft[n].tpid = s->tag[i].tpid;
				ft[n++].tci = top | s->tag[i].vid;
			}
			if (ctag) {
				ft[n].tpid = 0x8100;
				ft[n++].tci = 0x6007 ^ k;
			}
			snprintf(what, sizeof(what),
				 "pop %u push %u, TPID rotation %u, in %u, ctag %u", s->nb,
				 f.port[1 - in].nb, k, in, ctag);
			len = frame_bytes(buf, ft, n, 0x0800, plen, (uint8_t)k);
			elen = expect_frame(exp, &f, in, ft, n, 0x0800, plen, (uint8_t)k);
			m = pass_one(t, in, mbuf_from(buf, len), FWD, &slot, what);
			if (m != NULL) {
				check_frame(what, m, exp, elen);
				CHECK_EQ(slot, 0, what);
				rte_pktmbuf_free(m);
			}
			sent++;
		}
	}
	/* two frames each way, all of the one flow (slot 0) */
	CU_ASSERT_EQUAL(c->flow[0][0].pkts, 2);
	CU_ASSERT_EQUAL(c->flow[0][1].pkts, 2);
	CU_ASSERT_EQUAL(c->port[0].tx_pkts, 2);
	CU_ASSERT_EQUAL(c->port[1].tx_pkts, 2);
	qgw_table_free(t);
	return sent;
}

/* Every pop x push combination, every standard TPID in every position. */
static void
test_rewrite_combos(void)
{
	unsigned int avail = pool_avail(), sent = 0;

	for (unsigned int np = 0; np <= 2; np++)
		for (unsigned int nq = 0; nq <= 2; nq++)
			for (unsigned int k = 0; k < RTE_DIM(std_tpids); k++)
				sent += combo(np, nq, k);
	CU_ASSERT_EQUAL(sent, 9 * 5 * 2 * 2);
	CU_ASSERT_EQUAL(pool_avail(), avail);
}

/*
 * Flows on port a for the matching tests; the catch-all is last so that the
 * same list without it is a table with no catch-all.
 */
static const struct cflow match_flows[] = {
	{{{2, {{0x88a8, 100, NO_PCP}, {0x8100, 10, NO_PCP}}}, {1, {{0x9100, 1000, NO_PCP}}}}},
	{{{1, {{0x88a8, 100, NO_PCP}}}, {1, {{0x9100, 1001, NO_PCP}}}}},
	{{{1, {{0x8100, 100, NO_PCP}}}, {1, {{0x9100, 1002, NO_PCP}}}}},
	{{{1, {{0x88a8, 10, NO_PCP}}}, {1, {{0x9100, 1003, NO_PCP}}}}},
	{{{1, {{0x88a8, 200, NO_PCP}}}, {1, {{0x9100, 1004, NO_PCP}}}}},
	{{{2, {{0x8100, 5, NO_PCP}, {0x8100, 6, NO_PCP}}}, {1, {{0x9100, 1005, NO_PCP}}}}},
	{{{2, {{0x9200, 300, NO_PCP}, {0x88a8, 100, NO_PCP}}}, {1, {{0x9100, 1006, NO_PCP}}}}},
	{{{1, {{0x9300, 4094, NO_PCP}}}, {1, {{0x9100, 1007, NO_PCP}}}}},
	{{{1, {{0x9100, 1, NO_PCP}}}, {1, {{0x9100, 1008, NO_PCP}}}}},
	{{{0, {{0}}}, {1, {{0x9100, 1009, NO_PCP}}}}},
};

struct match_case {
	const char *what;
	unsigned int in;
	unsigned int nb;
	struct wtag tag[3];
	int flow; /* index in match_flows, or CATCH_ALL */
};

static const struct match_case match_cases[] = {
	{"2-tag flow", 0, 2, {{0x88a8, 0x0064}, {0x8100, 0x000a}}, 0},
	{"2-tag flow, PCP/DEI set", 0, 2, {{0x88a8, 0xf064}, {0x8100, 0xb00a}}, 0},
	{"2-tag flow, DEI only", 0, 2, {{0x88a8, 0x1064}, {0x8100, 0x100a}}, 0},
	{"2-tag flow + C-tag", 0, 3, {{0x88a8, 0x0064}, {0x8100, 0x000a}, {0x8100, 0x0005}}, 0},
	{"outer of 2-tag flow, other inner VID", 0, 2, {{0x88a8, 0x0064}, {0x8100, 0x000b}}, 1},
	{"outer of 2-tag flow alone", 0, 1, {{0x88a8, 0x0064}}, 1},
	{"1-tag flow, PCP set", 0, 1, {{0x88a8, 0x7064}}, 1},
	{"inner TPID differs", 0, 2, {{0x88a8, 0x0064}, {0x88a8, 0x000a}}, 1},
	{"inner VID 0", 0, 2, {{0x88a8, 0x0064}, {0x8100, 0x0000}}, 1},
	{"inner VID 4095", 0, 2, {{0x88a8, 0x0064}, {0x8100, 0x0fff}}, 1},
	{"same VID, TPID 0x8100", 0, 1, {{0x8100, 0x0064}}, 2},
	{"0x8100/100 + C-tag", 0, 2, {{0x8100, 0x1064}, {0x8100, 0x000a}}, 2},
	{"inner equals other flow's outer", 0, 2, {{0x88a8, 0x00c8}, {0x88a8, 0x000a}}, 4},
	{"that other flow", 0, 1, {{0x88a8, 0x000a}}, 3},
	{"2-tag 0x8100.0x8100", 0, 2, {{0x8100, 0x0005}, {0x8100, 0x0006}}, 5},
	{"outer of 0x8100.0x8100 alone", 0, 1, {{0x8100, 0x0005}}, CATCH_ALL},
	{"0x8100.0x8100, other inner", 0, 2, {{0x8100, 0x0005}, {0x8100, 0x0007}}, CATCH_ALL},
	{"0x8100.0x8100 reversed", 0, 2, {{0x8100, 0x0006}, {0x8100, 0x0005}}, CATCH_ALL},
	{"2-tag flow with inner = 1-tag flow", 0, 2, {{0x9200, 0x012c}, {0x88a8, 0x0064}}, 6},
	{"outer of it alone", 0, 1, {{0x9200, 0x012c}}, CATCH_ALL},
	{"its outer, inner VID 0", 0, 2, {{0x9200, 0x012c}, {0x88a8, 0x0000}}, CATCH_ALL},
	{"VID 4094", 0, 1, {{0x9300, 0x0ffe}}, 7},
	{"VID 4095", 0, 1, {{0x9300, 0x0fff}}, CATCH_ALL},
	{"VID 0", 0, 1, {{0x9300, 0x0000}}, CATCH_ALL},
	{"VID 0, PCP 7", 0, 1, {{0x88a8, 0xe000}}, CATCH_ALL},
	{"VID 4095 0x88a8", 0, 1, {{0x88a8, 0x0fff}}, CATCH_ALL},
	{"outer VID 0, inner of 2-tag flow", 0, 2, {{0x88a8, 0x0000}, {0x8100, 0x000a}}, CATCH_ALL},
	{"outer VID 4095, inner of 2-tag flow",
	 0,
	 2,
	 {{0x88a8, 0x0fff}, {0x8100, 0x000a}},
	 CATCH_ALL},
	{"VID 1", 0, 1, {{0x9100, 0x0001}}, 8},
	{"VID 0 beside a VID 1 flow", 0, 1, {{0x9100, 0x0000}}, CATCH_ALL},
	{"VID 0 beside a VID 1 flow, PCP 1", 0, 1, {{0x9100, 0x2000}}, CATCH_ALL},
	{"unknown VID", 0, 1, {{0x88a8, 0x0065}}, CATCH_ALL},
	{"TPID 0x9100 with VID 100", 0, 1, {{0x9100, 0x0064}}, CATCH_ALL},
	{"TPID 0x9200 with VID 100", 0, 1, {{0x9200, 0x0064}}, CATCH_ALL},
	{"inner tag of a flow as outer", 0, 1, {{0x8100, 0x000a}}, CATCH_ALL},
	{"untagged", 0, 0, {{0}}, CATCH_ALL},
	{"port b, 1-tag", 1, 1, {{0x9100, 0x03e8}}, 0},
	{"port b, PCP kept into 2 tags", 1, 1, {{0x9100, 0xa3ec}}, 4},
	{"port b, port a's stack", 1, 1, {{0x88a8, 0x0064}}, CATCH_ALL},
	{"port b, catch-all's stack", 1, 1, {{0x9100, 0x03f1}}, 9},
	{"port b, untagged", 1, 0, {{0}}, CATCH_ALL},
};

static void
run_match(bool with_catch_all)
{
	unsigned int nb_flows = RTE_DIM(match_flows) - !with_catch_all;
	struct qgw_table *t = make_table(match_flows, nb_flows, NULL);
	unsigned int avail = pool_avail();

	reset_counters();
	for (unsigned int i = 0; i < RTE_DIM(match_cases); i++) {
		static uint8_t buf[FRAME_MAX], exp[FRAME_MAX];
		const struct match_case *mc = &match_cases[i];
		int flow = mc->flow;
		unsigned int len, elen;
		struct rte_mbuf *m;
		uint32_t slot = ~0u;
		char what[128];

		/* Port b has no catch-all; the last flow's b stack is a normal flow. */
		if (flow == CATCH_ALL && mc->in == 0 && with_catch_all)
			flow = RTE_DIM(match_flows) - 1;
		if (flow == (int)RTE_DIM(match_flows) - 1 && !with_catch_all)
			flow = CATCH_ALL;
		snprintf(what, sizeof(what), "%s (case %u, %s catch-all)", mc->what, i,
			 with_catch_all ? "with" : "without");
		len = frame_bytes(buf, mc->tag, mc->nb, 0x86dd, 80, (uint8_t)i);
		m = pass_one(t, mc->in, mbuf_from(buf, len), flow >= 0 ? FWD : QGW_DROP_NO_FLOW,
			     &slot, what);
		if (m == NULL)
			continue;
		CHECK_EQ(slot, flow, what);
		elen = expect_frame(exp, &match_flows[flow], mc->in, mc->tag, mc->nb, 0x86dd, 80,
				    (uint8_t)i);
		check_frame(what, m, exp, elen);
		rte_pktmbuf_free(m);
	}
	CU_ASSERT_EQUAL(pool_avail(), avail);
	qgw_table_free(t);
}

static void
test_match_catch_all(void)
{
	run_match(true);
}

static void
test_match_no_catch_all(void)
{
	run_match(false);
}

/* PCP/DEI of egress tags, with literal expected TCIs. */
static void
test_pcp(void)
{
	static const struct {
		const char *what;
		struct cstack pop, push; /* on port a, on port b; frames enter on a */
		unsigned int nb_ctags;	 /* C-tags 0x8100/0xe005 after the popped tags */
		uint16_t in_tci[2];
		uint16_t out_tci[2];
	} cases[] = {
		{"1->1 keep PCP+DEI",
		 {1, {{0x88a8, 100, NO_PCP}}},
		 {1, {{0x8100, 200, NO_PCP}}},
		 0,
		 {0xb064},
		 {0xb0c8}},
		{"1->1 keep DEI only",
		 {1, {{0x88a8, 100, NO_PCP}}},
		 {1, {{0x8100, 200, NO_PCP}}},
		 0,
		 {0x1064},
		 {0x10c8}},
		{"1->1 pcp 2 clears DEI",
		 {1, {{0x88a8, 100, NO_PCP}}},
		 {1, {{0x8100, 200, 2}}},
		 0,
		 {0xb064},
		 {0x40c8}},
		{"1->1 pcp 0",
		 {1, {{0x88a8, 100, NO_PCP}}},
		 {1, {{0x8100, 200, 0}}},
		 0,
		 {0xf064},
		 {0x00c8}},
		{"1->1 pcp 7 over PCP 0",
		 {1, {{0x88a8, 100, NO_PCP}}},
		 {1, {{0x8100, 200, 7}}},
		 0,
		 {0x0064},
		 {0xe0c8}},
		{"1->2 outer kept, inner new",
		 {1, {{0x88a8, 100, NO_PCP}}},
		 {2, {{0x88a8, 300, NO_PCP}, {0x8100, 40, NO_PCP}}},
		 0,
		 {0x7064},
		 {0x712c, 0x0028}},
		{"1->2 inner pcp 6",
		 {1, {{0x88a8, 100, NO_PCP}}},
		 {2, {{0x88a8, 300, NO_PCP}, {0x8100, 40, 6}}},
		 0,
		 {0x7064},
		 {0x712c, 0xc028}},
		{"1->2 outer pcp 3",
		 {1, {{0x88a8, 100, NO_PCP}}},
		 {2, {{0x88a8, 300, 3}, {0x8100, 40, NO_PCP}}},
		 1,
		 {0xf064},
		 {0x612c, 0x0028}},
		{"2->1 outer kept",
		 {2, {{0x88a8, 100, NO_PCP}, {0x8100, 10, NO_PCP}}},
		 {1, {{0x9100, 3002, NO_PCP}}},
		 0,
		 {0x5064, 0xe00a},
		 {0x5bba}},
		{"2->1 pcp 5",
		 {2, {{0x88a8, 100, NO_PCP}, {0x8100, 10, NO_PCP}}},
		 {1, {{0x9100, 3002, 5}}},
		 1,
		 {0x5064, 0xe00a},
		 {0xabba}},
		{"2->2 both kept",
		 {2, {{0x88a8, 100, NO_PCP}, {0x8100, 10, NO_PCP}}},
		 {2, {{0x9200, 3003, NO_PCP}, {0x8100, 41, NO_PCP}}},
		 0,
		 {0x3064, 0x900a},
		 {0x3bbb, 0x9029}},
		{"2->2 outer pcp 1",
		 {2, {{0x88a8, 100, NO_PCP}, {0x8100, 10, NO_PCP}}},
		 {2, {{0x9200, 3003, 1}, {0x8100, 41, NO_PCP}}},
		 0,
		 {0x3064, 0x900a},
		 {0x2bbb, 0x9029}},
		{"2->2 inner pcp 7",
		 {2, {{0x88a8, 100, NO_PCP}, {0x8100, 10, NO_PCP}}},
		 {2, {{0x9200, 3003, NO_PCP}, {0x8100, 41, 7}}},
		 1,
		 {0x3064, 0x900a},
		 {0x3bbb, 0xe029}},
		{"2->2 both pcp 0",
		 {2, {{0x88a8, 100, NO_PCP}, {0x8100, 10, NO_PCP}}},
		 {2, {{0x9200, 3003, 0}, {0x8100, 41, 0}}},
		 0,
		 {0xf064, 0xf00a},
		 {0x0bbb, 0x0029}},
		{"0->1 nothing to keep", {0}, {1, {{0x9300, 4000, NO_PCP}}}, 0, {0}, {0x0fa0}},
		{"0->1 C-tag PCP not copied", {0}, {1, {{0x9300, 4000, NO_PCP}}}, 1, {0}, {0x0fa0}},
		{"0->2 outer pcp 4",
		 {0},
		 {2, {{0x9300, 4000, 4}, {0x8100, 1, NO_PCP}}},
		 1,
		 {0},
		 {0x8fa0, 0x0001}},
		{"2->0",
		 {2, {{0x88a8, 100, NO_PCP}, {0x8100, 10, NO_PCP}}},
		 {0},
		 1,
		 {0xf064, 0xf00a},
		 {0}},
	};
	unsigned int avail = pool_avail();

	reset_counters();
	for (unsigned int i = 0; i < RTE_DIM(cases); i++) {
		static uint8_t buf[FRAME_MAX], exp[FRAME_MAX];
		struct cflow f = {{cases[i].pop, cases[i].push}};
		struct qgw_table *t = make_table(&f, 1, NULL);
		struct wtag in[4], out[4];
		unsigned int n = 0, e = 0, len, elen;
		struct rte_mbuf *m;

		for (unsigned int j = 0; j < cases[i].pop.nb; j++)
			in[n++] = (struct wtag){cases[i].pop.tag[j].tpid, cases[i].in_tci[j]};
		for (unsigned int j = 0; j < cases[i].push.nb; j++)
			out[e++] = (struct wtag){cases[i].push.tag[j].tpid, cases[i].out_tci[j]};
		for (unsigned int j = 0; j < cases[i].nb_ctags; j++) {
			in[n++] = (struct wtag){0x8100, 0xe005};
			out[e++] = (struct wtag){0x8100, 0xe005};
		}
		len = frame_bytes(buf, in, n, 0x0800, 64, (uint8_t)i);
		elen = pad_min(exp, frame_bytes(exp, out, e, 0x0800, 64, (uint8_t)i));
		m = pass_one(t, 0, mbuf_from(buf, len), FWD, NULL, cases[i].what);
		if (m != NULL) {
			check_frame(cases[i].what, m, exp, elen);
			rte_pktmbuf_free(m);
		}
		qgw_table_free(t);
	}
	CU_ASSERT_EQUAL(pool_avail(), avail);
}

/* Egress frames below 60 bytes are zero-padded to 60, no further. */
static void
test_padding(void)
{
	static const struct cflow flows[] = {
		{{{2, {{0x88a8, 100, NO_PCP}, {0x8100, 10, NO_PCP}}}, {0}}},
		{{{0}, {1, {{0x9100, 5, NO_PCP}}}}},
	};
	static const struct {
		unsigned int in, nb, plen, flow, out_len;
		struct wtag tag[2];
	} cases[] = {
		{0, 2, 42, 0, 60, {{0x88a8, 0x0064}, {0x8100, 0x000a}}}, /* 64 -> 56 */
		{0, 2, 0, 0, 60, {{0x88a8, 0x0064}, {0x8100, 0x000a}}},	 /* 22 -> 14 */
		{0, 2, 45, 0, 60, {{0x88a8, 0x0064}, {0x8100, 0x000a}}}, /* 67 -> 59 */
		{0, 2, 46, 0, 60, {{0x88a8, 0x0064}, {0x8100, 0x000a}}}, /* 68 -> 60 */
		{0, 2, 47, 0, 61, {{0x88a8, 0x0064}, {0x8100, 0x000a}}}, /* 69 -> 61 */
		{0, 0, 0, 1, 60, {{0}}},				 /* 14 -> 18 */
		{0, 0, 41, 1, 60, {{0}}},				 /* 55 -> 59 */
		{0, 0, 42, 1, 60, {{0}}},				 /* 56 -> 60 */
		{1, 1, 0, 1, 60, {{0x9100, 0x0005}}},			 /* 18 -> 14 */
		{1, 1, 44, 1, 60, {{0x9100, 0x0005}}},			 /* 62 -> 58 */
		{1, 0, 0, 0, 60, {{0}}},				 /* 14 -> 22 */
		{1, 0, 30, 0, 60, {{0}}},				 /* 44 -> 52 */
		{1, 0, 38, 0, 60, {{0}}},				 /* 52 -> 60 */
	};
	struct qgw_table *t = make_table(flows, RTE_DIM(flows), NULL);
	unsigned int avail = pool_avail();

	reset_counters();
	for (unsigned int i = 0; i < RTE_DIM(cases); i++) {
		static uint8_t buf[FRAME_MAX], exp[FRAME_MAX];
		unsigned int len, elen;
		struct rte_mbuf *m;
		uint32_t slot = ~0u;
		char what[64];

		snprintf(what, sizeof(what), "padding case %u", i);
		len = frame_bytes(buf, cases[i].tag, cases[i].nb, 0x0800, cases[i].plen,
				  (uint8_t)i);
		elen = expect_frame(exp, &flows[cases[i].flow], cases[i].in, cases[i].tag,
				    cases[i].nb, 0x0800, cases[i].plen, (uint8_t)i);
		CU_ASSERT_EQUAL(elen, cases[i].out_len);
		m = pass_one(t, cases[i].in, mbuf_from(buf, len), FWD, &slot, what);
		if (m == NULL)
			continue;
		CHECK_EQ(slot, cases[i].flow, what);
		check_frame(what, m, exp, elen);
		rte_pktmbuf_free(m);
	}
	CU_ASSERT_EQUAL(pool_avail(), avail);
	qgw_table_free(t);
}

/*
 * The padding rule holds however the frame sits in its buffer: here the
 * frame (or its last segment) ends where the buffer ends, so padding cannot
 * simply be appended; the frame must still leave with 60 bytes.
 */
static void
test_padding_no_tailroom(void)
{
	static const struct cflow flows[] = {
		{{{2, {{0x88a8, 100, NO_PCP}, {0x8100, 10, NO_PCP}}}, {0}}},
		{{{0}, {1, {{0x9100, 5, NO_PCP}}}}},
	};
	static const struct cflow flat[] = {{{{0}, {0}}}};
	static const struct wtag two[] = {{0x88a8, 0x0064}, {0x8100, 0x000a}};
	static const struct {
		const char *what;
		const struct cflow *flows;
		unsigned int nb_flows, in, nb, plen, flow, cut; /* cut: 0 for one segment */
	} cases[] = {
		{"2->0, 64 -> 56 bytes, no tailroom", flows, 2, 0, 2, 42, 0, 0},
		{"0->1, 14 -> 18 bytes, no tailroom", flows, 2, 0, 0, 0, 1, 0},
		{"0->0, 14 bytes, no tailroom", flat, 1, 1, 0, 0, 0, 0},
		{"2->0, 2 segments, last one full", flows, 2, 0, 2, 30, 0, 22},
	};
	unsigned int avail = pool_avail();

	reset_counters();
	for (unsigned int i = 0; i < RTE_DIM(cases); i++) {
		static uint8_t buf[FRAME_MAX], exp[FRAME_MAX];
		struct qgw_table *t = make_table(cases[i].flows, cases[i].nb_flows, NULL);
		unsigned int len, elen;
		struct rte_mbuf *m, *in;
		uint32_t slot = ~0u;

		len = frame_bytes(buf, two, cases[i].nb, 0x0800, cases[i].plen, (uint8_t)i);
		elen = expect_frame(exp, &cases[i].flows[cases[i].flow], cases[i].in, two,
				    cases[i].nb, 0x0800, cases[i].plen, (uint8_t)i);
		CU_ASSERT_EQUAL(elen, MIN_FRAME);
		if (cases[i].cut == 0) {
			in = mbuf_at_end(buf, len);
		} else {
			in = mbuf_from(buf, cases[i].cut);
			CU_ASSERT_FATAL(rte_pktmbuf_chain(in, mbuf_at_end(buf + cases[i].cut,
									  len - cases[i].cut)) ==
					0);
		}
		CU_ASSERT_EQUAL(rte_pktmbuf_tailroom(rte_pktmbuf_lastseg(in)), 0);
		m = pass_one(t, cases[i].in, in, FWD, &slot, cases[i].what);
		if (m != NULL) {
			CHECK_EQ(slot, cases[i].flow, cases[i].what);
			check_frame(cases[i].what, m, exp, elen);
			rte_pktmbuf_free(m);
		}
		qgw_table_free(t);
	}
	CU_ASSERT_EQUAL(pool_avail(), avail);
}

/*
 * Short frames: runt below 14 bytes; bad_tag when a TPID (configured on the
 * port or standard) at 12, 16 or 20, found while walking tags, has fewer than
 * 4 bytes behind it in a frame shorter than 26 bytes.
 */
static void
test_short_frames(void)
{
	static const struct cflow flows[] = {
		{{{1, {{0x88a8, 100, NO_PCP}}}, {1, {{0x8100, 100, NO_PCP}}}}},
		{{{1, {{0x9999, 100, NO_PCP}}}, {1, {{0x8100, 101, NO_PCP}}}}},
		{{{0}, {0}}},
		/* 0xa100: a TPID port a knows only as an inner tag */
		{{{2, {{0x88a8, 200, NO_PCP}, {0xa100, 5, NO_PCP}}}, {1, {{0x8100, 102, NO_PCP}}}}},
	};
	static const struct {
		unsigned int in, len;
		uint16_t w12, w16, w20; /* EtherTypes at 12, 16, 20; VIDs 100, 10, 1 follow */
		int want;
		unsigned int slot;
	} cases[] = {
		{0, 0, 0x0800, 0x0800, 0x0800, QGW_DROP_RUNT, 0},
		{0, 1, 0x0800, 0x0800, 0x0800, QGW_DROP_RUNT, 0},
		{0, 12, 0x0800, 0x0800, 0x0800, QGW_DROP_RUNT, 0},
		{0, 13, 0x0800, 0x0800, 0x0800, QGW_DROP_RUNT, 0},
		{0, 13, 0x88a8, 0x0800, 0x0800, QGW_DROP_RUNT, 0},
		{1, 13, 0x8100, 0x0800, 0x0800, QGW_DROP_RUNT, 0},
		{1, 5, 0x8100, 0x0800, 0x0800, QGW_DROP_RUNT, 0},
		{0, 14, 0x0800, 0x0800, 0x0800, FWD, 2},
		{1, 14, 0x0800, 0x0800, 0x0800, FWD, 2},
		{0, 14, 0x88a8, 0x0800, 0x0800, QGW_DROP_BAD_TAG, 0},
		{0, 15, 0x88a8, 0x0800, 0x0800, QGW_DROP_BAD_TAG, 0},
		{0, 16, 0x88a8, 0x0800, 0x0800, QGW_DROP_BAD_TAG, 0},
		{0, 17, 0x88a8, 0x0800, 0x0800, QGW_DROP_BAD_TAG, 0},
		{0, 18, 0x88a8, 0x0800, 0x0800, FWD, 0},
		{0, 17, 0x8100, 0x0800, 0x0800, QGW_DROP_BAD_TAG, 0},
		{0, 17, 0x9100, 0x0800, 0x0800, QGW_DROP_BAD_TAG, 0},
		{0, 17, 0x9200, 0x0800, 0x0800, QGW_DROP_BAD_TAG, 0},
		{0, 17, 0x9300, 0x0800, 0x0800, QGW_DROP_BAD_TAG, 0},
		{0, 14, 0x9999, 0x0800, 0x0800, QGW_DROP_BAD_TAG, 0},
		{0, 17, 0x9999, 0x0800, 0x0800, QGW_DROP_BAD_TAG, 0},
		{0, 18, 0x9999, 0x0800, 0x0800, FWD, 1},
		{0, 18, 0x8100, 0x0800, 0x0800, FWD, 2},
		{0, 18, 0x9300, 0x0800, 0x0800, FWD, 2},
		{0, 17, 0x1234, 0x0800, 0x0800, FWD, 2},
		{0, 16, 0x0800, 0x8100, 0x8100, FWD, 2},
		{1, 14, 0x8100, 0x0800, 0x0800, QGW_DROP_BAD_TAG, 0},
		{1, 17, 0x8100, 0x0800, 0x0800, QGW_DROP_BAD_TAG, 0},
		{1, 17, 0x88a8, 0x0800, 0x0800, QGW_DROP_BAD_TAG, 0},
		{1, 17, 0x9100, 0x0800, 0x0800, QGW_DROP_BAD_TAG, 0},
		{1, 17, 0x9200, 0x0800, 0x0800, QGW_DROP_BAD_TAG, 0},
		{1, 17, 0x9300, 0x0800, 0x0800, QGW_DROP_BAD_TAG, 0},
		{1, 17, 0x9999, 0x0800, 0x0800, FWD, 2}, /* 0x9999 is port a's only */
		{1, 18, 0x8100, 0x0800, 0x0800, FWD, 0},
		{0, 18, 0x88a8, 0x8100, 0x0800, QGW_DROP_BAD_TAG, 0},
		{0, 19, 0x88a8, 0x8100, 0x0800, QGW_DROP_BAD_TAG, 0},
		{0, 20, 0x88a8, 0x8100, 0x0800, QGW_DROP_BAD_TAG, 0},
		{0, 21, 0x88a8, 0x8100, 0x0800, QGW_DROP_BAD_TAG, 0},
		{0, 22, 0x88a8, 0x8100, 0x0800, FWD, 0},
		{0, 21, 0x88a8, 0x9300, 0x0800, QGW_DROP_BAD_TAG, 0},
		{0, 20, 0x88a8, 0x9999, 0x0800, QGW_DROP_BAD_TAG, 0},
		{0, 21, 0x88a8, 0x0800, 0x8100, FWD, 0},
		{0, 20, 0x88a8, 0x1234, 0x8100, FWD, 0},
		{1, 20, 0x8100, 0x9999, 0x8100, FWD, 0},
		{1, 20, 0x8100, 0x88a8, 0x8100, QGW_DROP_BAD_TAG, 0},
		{0, 22, 0x88a8, 0x8100, 0x9100, QGW_DROP_BAD_TAG, 0},
		{0, 23, 0x88a8, 0x8100, 0x9100, QGW_DROP_BAD_TAG, 0},
		{0, 24, 0x88a8, 0x8100, 0x9100, QGW_DROP_BAD_TAG, 0},
		{0, 25, 0x88a8, 0x8100, 0x9100, QGW_DROP_BAD_TAG, 0},
		{0, 25, 0x88a8, 0x88a8, 0x88a8, QGW_DROP_BAD_TAG, 0},
		{0, 25, 0x9999, 0x9999, 0x9999, QGW_DROP_BAD_TAG, 0},
		{0, 26, 0x88a8, 0x8100, 0x9100, FWD, 0},
		{0, 22, 0x88a8, 0x0800, 0x8100, FWD, 0},
		{0, 25, 0x88a8, 0x0800, 0x8100, FWD, 0},
		{0, 24, 0x0800, 0x8100, 0x8100, FWD, 2},
		{1, 25, 0x8100, 0x8100, 0x9999, FWD, 0},
		{0, 17, 0xa100, 0x0800, 0x0800, QGW_DROP_BAD_TAG, 0},
		{0, 21, 0x88a8, 0xa100, 0x0800, QGW_DROP_BAD_TAG, 0},
		{0, 18, 0xa100, 0x0800, 0x0800, FWD, 2},
		{1, 17, 0xa100, 0x0800, 0x0800, FWD, 2},
	};
	struct qgw_table *t = make_table(flows, RTE_DIM(flows), NULL);
	unsigned int avail = pool_avail();

	reset_counters();
	for (unsigned int i = 0; i < RTE_DIM(cases); i++) {
		static uint8_t buf[64], exp[64];
		struct rte_mbuf *m;
		uint32_t slot = ~0u;
		char what[96];

		snprintf(what, sizeof(what), "short case %u (port %u, %u bytes, %04x %04x %04x)", i,
			 cases[i].in, cases[i].len, cases[i].w12, cases[i].w16, cases[i].w20);
		frame_bytes(buf, NULL, 0, 0x0800, sizeof(buf) - 14, (uint8_t)i);
		put16(buf + 12, cases[i].w12);
		put16(buf + 14, 100);
		put16(buf + 16, cases[i].w16);
		put16(buf + 18, 10);
		put16(buf + 20, cases[i].w20);
		put16(buf + 22, 1);
		m = pass_one(t, cases[i].in, mbuf_from(buf, cases[i].len), cases[i].want, &slot,
			     what);
		if (m == NULL)
			continue;
		CHECK_EQ(slot, cases[i].slot, what);
		/* the flows here swap one tag for one tag, or nothing for nothing */
		memcpy(exp, buf, cases[i].len);
		if (cases[i].slot != 2) {
			const struct ctag *o = &flows[cases[i].slot].port[1 - cases[i].in].tag[0];

			put16(exp + 12, o->tpid);
			put16(exp + 14, o->vid);
		}
		check_frame(what, m, exp, pad_min(exp, cases[i].len));
		rte_pktmbuf_free(m);
	}
	CU_ASSERT_EQUAL(pool_avail(), avail);
	qgw_table_free(t);
}

/* The first segment must hold min(pkt_len, 22) bytes. */
static void
test_unparsable(void)
{
	static const struct cflow flows[] = {
		{{{2, {{0x88a8, 100, NO_PCP}, {0x8100, 10, NO_PCP}}}, {1, {{0x9100, 7, NO_PCP}}}}},
		{{{0}, {0}}},
	};
	static const struct wtag two[2] = {{0x88a8, 0x0064}, {0x8100, 0x000a}};
	static const struct {
		unsigned int nb, len, cut;
		int want;
	} cases[] = {
		{2, 100, 12, QGW_DROP_UNPARSABLE},
		{2, 100, 14, QGW_DROP_UNPARSABLE},
		{2, 100, 16, QGW_DROP_UNPARSABLE},
		{2, 100, 18, QGW_DROP_UNPARSABLE},
		{2, 100, 20, QGW_DROP_UNPARSABLE},
		{2, 100, 21, QGW_DROP_UNPARSABLE},
		{2, 100, 1, QGW_DROP_UNPARSABLE},
		{2, 100, 22, FWD},
		{2, 100, 23, FWD},
		{1, 100, 16, QGW_DROP_UNPARSABLE},
		{1, 100, 21, QGW_DROP_UNPARSABLE},
		{0, 20, 10, QGW_DROP_UNPARSABLE},
		{0, 21, 20, QGW_DROP_UNPARSABLE},
		{0, 30, 14, QGW_DROP_UNPARSABLE},
		{0, 30, 22, FWD},
		{0, 23, 22, FWD},
		{0, 13, 6, QGW_DROP_RUNT}, /* pkt_len < 14 is a runt in any layout */
	};
	struct qgw_table *t = make_table(flows, RTE_DIM(flows), NULL);
	unsigned int avail = pool_avail();

	reset_counters();
	for (unsigned int i = 0; i < RTE_DIM(cases); i++) {
		static uint8_t buf[FRAME_MAX], exp[FRAME_MAX];
		unsigned int len, elen, flow = cases[i].nb == 2 ? 0 : 1;
		struct rte_mbuf *m;
		uint32_t slot = ~0u;
		char what[96];

		snprintf(what, sizeof(what), "%u tags, %u bytes, first segment %u", cases[i].nb,
			 cases[i].len, cases[i].cut);
		if (cases[i].len < 14) {
			len = cases[i].len;
			memset(buf, 0x33, len);
		} else {
			len = frame_len(buf, two, cases[i].nb, cases[i].len, (uint8_t)i);
		}
		m = pass_one(t, 0, mbuf_segs(buf, len, &cases[i].cut, 1), cases[i].want, &slot,
			     what);
		if (m == NULL)
			continue;
		elen = expect_frame(exp, &flows[flow], 0, two, cases[i].nb, 0x0800,
				    len - 14 - 4 * cases[i].nb, (uint8_t)i);
		CHECK_EQ(slot, flow, what);
		check_frame(what, m, exp, elen);
		rte_pktmbuf_free(m);
	}
	CU_ASSERT_EQUAL(pool_avail(), avail);
	qgw_table_free(t);
}

/* Frames that match nothing on a port without a catch-all. */
static void
test_no_flow(void)
{
	static const struct cflow flows[] = {
		{{{1, {{0x88a8, 100, NO_PCP}}}, {0}}},
	};
	static const struct {
		unsigned int nb;
		struct wtag tag[2];
	} cases[] = {
		{0, {{0}}},
		{1, {{0x88a8, 0x0065}}},
		{1, {{0x8100, 0x0064}}},
		{1, {{0x9999, 0x0064}}},
		{1, {{0x88a8, 0x0000}}},
		{2, {{0x88a8, 0x0000}, {0x88a8, 0x0064}}},
		{2, {{0x8100, 0x0064}, {0x88a8, 0x0064}}},
	};
	static const struct wtag on_b[] = {{0x88a8, 0x0064}};
	struct qgw_table *t = make_table(flows, RTE_DIM(flows), NULL);
	unsigned int avail = pool_avail();
	static uint8_t buf[FRAME_MAX];
	struct rte_mbuf *m;
	unsigned int len;

	reset_counters();
	for (unsigned int i = 0; i < RTE_DIM(cases); i++) {
		char what[64];

		snprintf(what, sizeof(what), "no_flow case %u", i);
		len = frame_bytes(buf, cases[i].tag, cases[i].nb, 0x0800, 50, (uint8_t)i);
		pass_one(t, 0, mbuf_from(buf, len), QGW_DROP_NO_FLOW, NULL, what);
	}
	/* port b's stack of the flow is [], b's catch-all: the same tag passes there */
	len = frame_bytes(buf, on_b, 1, 0x0800, 50, 0);
	m = pass_one(t, 1, mbuf_from(buf, len), FWD, NULL, "port b catch-all");
	rte_pktmbuf_free(m);
	CU_ASSERT_EQUAL(c->port[0].drop[QGW_DROP_NO_FLOW], RTE_DIM(cases));
	CU_ASSERT_EQUAL(sum_drops(c->port[0].drop), RTE_DIM(cases));
	CU_ASSERT_EQUAL(c->port[0].rx_pkts, RTE_DIM(cases));
	CU_ASSERT_EQUAL(c->port[1].tx_pkts, 0);
	CU_ASSERT_EQUAL(sum_drops(c->port[1].drop), 0);
	CU_ASSERT_EQUAL(c->port[1].rx_pkts, 1);
	CU_ASSERT_EQUAL(c->port[0].tx_pkts, 1);
	CU_ASSERT_EQUAL(pool_avail(), avail);
	qgw_table_free(t);
}

/* Pushing more bytes than the headroom holds drops the frame. */
static void
test_no_headroom(void)
{
	static const struct cflow flows[] = {
		{{{0}, {2, {{0x88a8, 7, NO_PCP}, {0x8100, 8, NO_PCP}}}}},
		{{{1, {{0x9100, 3, NO_PCP}}}, {2, {{0x88a8, 9, NO_PCP}, {0x8100, 9, NO_PCP}}}}},
		{{{1, {{0x9200, 4, NO_PCP}}}, {1, {{0x88a8, 10, NO_PCP}}}}},
	};
	static const struct {
		unsigned int in, flow, headroom;
		int want;
	} cases[] = {
		{0, 0, 0, QGW_DROP_NO_HEADROOM},
		{0, 0, 7, QGW_DROP_NO_HEADROOM},
		{0, 0, 8, FWD},
		{0, 1, 0, QGW_DROP_NO_HEADROOM},
		{0, 1, 3, QGW_DROP_NO_HEADROOM},
		{0, 1, 4, FWD},
		{0, 2, 0, FWD},
		{1, 0, 0, FWD},
		{1, 1, 0, FWD},
		{1, 2, 0, FWD},
	};
	struct qgw_table *t = make_table(flows, RTE_DIM(flows), NULL);
	unsigned int avail = pool_avail();
	uint64_t flow_drops[RTE_DIM(flows)] = {0}, flow_pkts[RTE_DIM(flows)] = {0};

	reset_counters();
	for (unsigned int i = 0; i < RTE_DIM(cases); i++) {
		static uint8_t buf[FRAME_MAX], exp[FRAME_MAX];
		const struct cflow *f = &flows[cases[i].flow];
		const struct cstack *s = &f->port[cases[i].in];
		unsigned int len, elen, n;
		struct wtag ft[2];
		struct rte_mbuf *m;
		uint32_t slot = ~0u;
		char what[96];

		snprintf(what, sizeof(what), "flow %u in %u headroom %u", cases[i].flow,
			 cases[i].in, cases[i].headroom);
		for (n = 0; n < s->nb; n++)
			ft[n] = (struct wtag){s->tag[n].tpid, (uint16_t)(0xa000 | s->tag[n].vid)};
		len = frame_bytes(buf, ft, n, 0x0800, 70, (uint8_t)i);
		elen = expect_frame(exp, f, cases[i].in, ft, n, 0x0800, 70, (uint8_t)i);
		m = pass_one(t, cases[i].in, mbuf_headroom(buf, len, cases[i].headroom),
			     cases[i].want, &slot, what);
		if (cases[i].in == 0) {
			flow_pkts[cases[i].flow]++;
			flow_drops[cases[i].flow] += cases[i].want == QGW_DROP_NO_HEADROOM;
		}
		if (m == NULL)
			continue;
		CHECK_EQ(slot, cases[i].flow, what);
		check_frame(what, m, exp, elen);
		rte_pktmbuf_free(m);
	}
	CU_ASSERT_EQUAL(c->port[0].drop[QGW_DROP_NO_HEADROOM], 4);
	CU_ASSERT_EQUAL(c->port[1].drop[QGW_DROP_NO_HEADROOM], 0);
	for (unsigned int f = 0; f < RTE_DIM(flows); f++) {
		/* a flow's frames: forwarded + dropped */
		CU_ASSERT_EQUAL(c->flow[f][0].pkts, flow_pkts[f]);
		CU_ASSERT_EQUAL(c->flow[f][0].drop[QGW_DROP_NO_HEADROOM], flow_drops[f]);
		CU_ASSERT_EQUAL(c->flow[f][1].drop[QGW_DROP_NO_HEADROOM], 0);
	}
	CU_ASSERT_EQUAL(pool_avail(), avail);
	qgw_table_free(t);
}

/* The driver took only some frames: the rest are tx_full drops and freed. */
static void
test_tx_full(void)
{
	static const struct cflow flows[] = {
		{{{1, {{0x88a8, 1, NO_PCP}}}, {1, {{0x8100, 1, NO_PCP}}}}},
		{{{1, {{0x88a8, 2, NO_PCP}}}, {2, {{0x8100, 2, NO_PCP}, {0x8100, 3, NO_PCP}}}}},
	};
	static const uint32_t slots[] = {11, 22};
	static const uint16_t sends[] = {3, 0, 8, 7, 1};
	struct qgw_table *t = make_table(flows, RTE_DIM(flows), slots);
	unsigned int avail = pool_avail();

	for (unsigned int s = 0; s < RTE_DIM(sends); s++) {
		for (unsigned int in = 0; in < QGW_NB_PORTS; in++) {
			struct rte_mbuf *pkts[8];
			struct qgw_dp_out out;
			uint64_t sent_bytes = 0, unsent[2] = {0}, fwd[2] = {0};
			uint16_t sent = sends[s];
			char what[64];

			reset_counters();
			snprintf(what, sizeof(what), "in %u, %u of 8 sent", in, sent);
			for (unsigned int i = 0; i < 8; i++) {
				static uint8_t buf[FRAME_MAX];
				const struct cstack *st = &flows[i & 1].port[in];
				struct wtag ft[2];
				unsigned int n;

				for (n = 0; n < st->nb; n++)
					ft[n] = (struct wtag){st->tag[n].tpid, st->tag[n].vid};
				pkts[i] = mbuf_from(buf, frame_bytes(buf, ft, n, 0x0800,
								     60 + 10 * i, (uint8_t)i));
			}
			run_burst(t, in, pkts, 8, &out, what);
			CHECK_EQ(out.nb, 8, what);
			if (out.nb != 8) {
				release(&out);
				continue;
			}
			for (unsigned int i = 0; i < 8; i++) {
				CHECK_EQ(out.dir[i]->slot, slots[i & 1], what);
				if (i < sent)
					sent_bytes += out.pkts[i]->pkt_len;
				else
					unsent[i & 1]++;
				fwd[i & 1]++;
			}
			CHECK_EQ(pool_avail(), avail - 8, what);
			qgw_dp_tx_done(in, &out, sent, c);
			/* the unsent frames are freed, the sent ones belong to the driver */
			CHECK_EQ(pool_avail(), avail - sent, what);
			CHECK_EQ(c->port[in].drop[QGW_DROP_TX_FULL], 8 - sent, what);
			CHECK_EQ(c->port[1 - in].drop[QGW_DROP_TX_FULL], 0, what);
			CHECK_EQ(c->port[1 - in].tx_pkts, sent, what);
			CHECK_EQ(c->port[1 - in].tx_bytes, sent_bytes, what);
			CHECK_EQ(c->port[in].tx_pkts, 0, what);
			CHECK_EQ(c->port[in].tx_bytes, 0, what);
			/* rx_pkts = forwarded out of the other port + drops */
			CHECK_EQ(c->port[in].rx_pkts,
				 c->port[1 - in].tx_pkts + sum_drops(c->port[in].drop), what);
			for (unsigned int f = 0; f < 2; f++) {
				const struct qgw_flow_counters *fc = &c->flow[slots[f]][in];

				CHECK_EQ(fc->drop[QGW_DROP_TX_FULL], unsent[f], what);
				CHECK_EQ(c->flow[slots[f]][1 - in].drop[QGW_DROP_TX_FULL], 0, what);
				CHECK_EQ(fc->pkts, fwd[f], what);
			}
			if (sent)
				rte_pktmbuf_free_bulk(out.pkts, sent);
			CHECK_EQ(pool_avail(), avail, what);
		}
	}
	qgw_table_free(t);
}

/* rx, flow and out counters, with slots other than the flow index. */
static void
test_counters(void)
{
	static const struct cflow flows[] = {
		{{{1, {{0x88a8, 10, NO_PCP}}}, {2, {{0x8100, 10, NO_PCP}, {0x8100, 11, NO_PCP}}}}},
		{{{2, {{0x88a8, 20, NO_PCP}, {0x8100, 21, NO_PCP}}}, {0}}},
		{{{1, {{0x9100, 30, NO_PCP}}}, {1, {{0x9100, 31, NO_PCP}}}}},
	};
	static const uint32_t slots[] = {7, 42, 5};
	static const struct wtag f0a[] = {{0x88a8, 10}}, f1a[] = {{0x88a8, 20}, {0x8100, 21}},
				 f2a[] = {{0x9100, 30}}, nfa[] = {{0x88a8, 99}},
				 f0b[] = {{0x8100, 10}, {0x8100, 11}}, f2b[] = {{0x9100, 31}};
	static const struct {
		unsigned int in;
		const struct wtag *tag;
		unsigned int nb, len;
		int flow; /* -1: dropped */
	} frames[] = {
		/* burst 1, port a */
		{0, f0a, 1, 100, 0},
		{0, f0a, 1, 300, 0},
		{0, f1a, 2, 150, 1},
		{0, NULL, 0, 10, -1}, /* runt */
		{0, nfa, 1, 80, -1},  /* no_flow */
		{0, f2a, 1, 64, 2},
		{0, f0a, 1, 200, 0},
		{0, f1a, 2, 1514, 1},
		{0, NULL, 0, 16, -1}, /* bad_tag: 0x88a8 at 12 patched in below */
		/* burst 2, port b */
		{1, NULL, 0, 80, 1},
		{1, f0b, 2, 90, 0},
		{1, f2b, 1, 1000, 2},
		{1, f2b, 1, 61, 2},
		/* burst 3, port a: smaller frames leave max_len alone */
		{0, f0a, 1, 64, 0},
		{0, f2a, 1, 60, 2},
	};
	static const unsigned int bursts[][2] = {{0, 9}, {9, 13}, {13, 15}};
	struct qgw_table *t = make_table(flows, RTE_DIM(flows), slots);
	unsigned int avail = pool_avail();
	struct qgw_flow_counters want[3][QGW_NB_PORTS] = {0};
	struct qgw_port_counters wport[QGW_NB_PORTS] = {0};

	reset_counters();
	for (unsigned int b = 0; b < RTE_DIM(bursts); b++) {
		struct rte_mbuf *pkts[QGW_BURST];
		uint32_t wslot[QGW_BURST];
		unsigned int nb = 0, nb_fwd = 0, in = frames[bursts[b][0]].in;
		struct qgw_dp_out out;
		char what[32];

		snprintf(what, sizeof(what), "counters burst %u", b);
		for (unsigned int i = bursts[b][0]; i < bursts[b][1]; i++) {
			static uint8_t buf[FRAME_MAX];
			unsigned int len;

			if (frames[i].tag == NULL && frames[i].len < 14) {
				memset(buf, 0x11, frames[i].len);
				len = frames[i].len;
			} else {
				len = frame_len(buf, frames[i].tag, frames[i].nb, frames[i].len,
						(uint8_t)i);
			}
			if (frames[i].len == 16)
				put16(buf + 12, 0x88a8);
			pkts[nb++] = mbuf_from(buf, len);
			wport[in].rx_pkts++;
			wport[in].rx_bytes += len;
			if (frames[i].flow >= 0) {
				struct qgw_flow_counters *fc = &want[frames[i].flow][in];

				fc->pkts++;
				fc->bytes += len;
				fc->max_len = RTE_MAX(fc->max_len, (uint64_t)len);
				wslot[nb_fwd++] = slots[frames[i].flow];
			}
		}
		run_burst(t, in, pkts, nb, &out, what);
		CHECK_EQ(out.nb, nb_fwd, what);
		for (unsigned int i = 0; i < out.nb && i < nb_fwd; i++)
			CHECK_EQ(out.dir[i]->slot, wslot[i], what);
		transmit(in, &out, what);
		wport[1 - in].tx_pkts += out.nb;
		wport[1 - in].tx_bytes += out.bytes;
		release(&out);
	}
	CU_ASSERT_EQUAL(c->port[0].drop[QGW_DROP_RUNT], 1);
	CU_ASSERT_EQUAL(c->port[0].drop[QGW_DROP_NO_FLOW], 1);
	CU_ASSERT_EQUAL(c->port[0].drop[QGW_DROP_BAD_TAG], 1);
	CU_ASSERT_EQUAL(sum_drops(c->port[0].drop), 3);
	CU_ASSERT_EQUAL(sum_drops(c->port[1].drop), 0);
	for (unsigned int p = 0; p < QGW_NB_PORTS; p++) {
		CU_ASSERT_EQUAL(c->port[p].rx_pkts, wport[p].rx_pkts);
		CU_ASSERT_EQUAL(c->port[p].rx_bytes, wport[p].rx_bytes);
		CU_ASSERT_EQUAL(c->port[p].tx_pkts, wport[p].tx_pkts);
		CU_ASSERT_EQUAL(c->port[p].tx_bytes, wport[p].tx_bytes);
		for (unsigned int f = 0; f < RTE_DIM(flows); f++) {
			const struct qgw_flow_counters *fc = &c->flow[slots[f]][p];

			CU_ASSERT_EQUAL(fc->pkts, want[f][p].pkts);
			CU_ASSERT_EQUAL(fc->bytes, want[f][p].bytes);
			CU_ASSERT_EQUAL(fc->max_len, want[f][p].max_len);
			/* the flow index is not the slot */
			CU_ASSERT_EQUAL(c->flow[f][p].pkts, 0);
		}
	}
	/* the literal values the loop above must have produced */
	CU_ASSERT_EQUAL(c->flow[7][0].pkts, 4);
	CU_ASSERT_EQUAL(c->flow[7][0].bytes, 664);
	CU_ASSERT_EQUAL(c->flow[7][0].max_len, 300);
	CU_ASSERT_EQUAL(c->flow[42][0].max_len, 1514);
	CU_ASSERT_EQUAL(c->flow[5][1].max_len, 1000);
	CU_ASSERT_EQUAL(c->port[1].tx_bytes,
			100 + 4 + 300 + 4 + 150 - 8 + 64 + 200 + 4 + 1514 - 8 + 64 + 4 + 60);
	CU_ASSERT_EQUAL(pool_avail(), avail);
	qgw_table_free(t);
}

/* Chained mbufs: jumbo frames in 5 segments, and 2-segment frames. */
static void
test_multiseg(void)
{
	static const struct cflow flows[] = {
		{{{2, {{0x88a8, 100, NO_PCP}, {0x8100, 10, NO_PCP}}}, {1, {{0x9100, 7, NO_PCP}}}}},
		{{{0}, {2, {{0x88a8, 5, NO_PCP}, {0x8100, 6, NO_PCP}}}}},
	};
	static const unsigned int jumbo[] = {1800, 1800, 1800, 1800};
	static const struct {
		const char *what;
		unsigned int in, nb, len, flow;
		struct wtag tag[3];
		unsigned int nb_cuts;
		const unsigned int *cuts;
		unsigned int cut; /* used when cuts is NULL */
	} cases[] = {
		{"9000 bytes 2->1", 0, 2, 9000, 0, {{0x88a8, 0x2064}, {0x8100, 0x000a}}, 4, jumbo},
		{"9000 bytes 1->2", 1, 1, 9000, 0, {{0x9100, 0xe007}}, 4, jumbo},
		{"9000 bytes 0->2", 0, 0, 9000, 1, {{0}}, 4, jumbo},
		{"9000 bytes 2->0", 1, 2, 9000, 1, {{0x88a8, 0x0005}, {0x8100, 0x0006}}, 4, jumbo},
		{"9000 bytes 2->0 + C-tag",
		 1,
		 3,
		 9000,
		 1,
		 {{0x88a8, 0x0005}, {0x8100, 0x0006}, {0x8100, 0x0032}},
		 4,
		 jumbo},
		{"split after 2 tags + EtherType",
		 0,
		 2,
		 300,
		 0,
		 {{0x88a8, 0x0064}, {0x8100, 0x000a}},
		 1,
		 NULL,
		 22},
		{"split after 2 tags + C-tag",
		 0,
		 3,
		 300,
		 0,
		 {{0x88a8, 0x0064}, {0x8100, 0x000a}, {0x8100, 0x0032}},
		 1,
		 NULL,
		 24},
		{"split after 2 tags + C-tag, 2->0",
		 1,
		 3,
		 300,
		 1,
		 {{0x88a8, 0x0005}, {0x8100, 0x0006}, {0x8100, 0x0032}},
		 1,
		 NULL,
		 24},
		{"split after 1 tag + C-tag + EtherType",
		 1,
		 2,
		 300,
		 0,
		 {{0x9100, 0x0007}, {0x8100, 0x0032}},
		 1,
		 NULL,
		 22},
		{"split after 3 tags, 0->2",
		 0,
		 3,
		 300,
		 1,
		 {{0x8100, 0x0001}, {0x8100, 0x0002}, {0x8100, 0x0003}},
		 1,
		 NULL,
		 24},
		{"split after the EtherType, padded",
		 0,
		 2,
		 42,
		 0,
		 {{0x88a8, 0x0064}, {0x8100, 0x000a}},
		 1,
		 NULL,
		 22},
		{"split mid-payload", 1, 1, 1000, 0, {{0x9100, 0x0007}}, 1, NULL, 500},
	};
	struct qgw_table *t = make_table(flows, RTE_DIM(flows), NULL);
	unsigned int avail = pool_avail();

	reset_counters();
	for (unsigned int i = 0; i < RTE_DIM(cases); i++) {
		static uint8_t buf[FRAME_MAX], exp[FRAME_MAX];
		unsigned int len, elen, plen = cases[i].len - 14 - 4 * cases[i].nb;
		struct rte_mbuf *m, *in;
		uint16_t nb_segs;
		uint32_t slot = ~0u;

		len = frame_len(buf, cases[i].tag, cases[i].nb, cases[i].len, (uint8_t)i);
		elen = expect_frame(exp, &flows[cases[i].flow], cases[i].in, cases[i].tag,
				    cases[i].nb, 0x0800, plen, (uint8_t)i);
		in = mbuf_segs(buf, len, cases[i].cuts ? cases[i].cuts : &cases[i].cut,
			       cases[i].nb_cuts);
		nb_segs = in->nb_segs;
		m = pass_one(t, cases[i].in, in, FWD, &slot, cases[i].what);
		if (m == NULL)
			continue;
		CHECK_EQ(slot, cases[i].flow, cases[i].what);
		CHECK_EQ(m->nb_segs, nb_segs, cases[i].what);
		check_frame(cases[i].what, m, exp, elen);
		rte_pktmbuf_free(m);
	}
	CU_ASSERT_EQUAL(c->flow[0][0].max_len, 9000);
	CU_ASSERT_EQUAL(c->flow[1][1].max_len, 9000);
	CU_ASSERT_EQUAL(pool_avail(), avail);
	qgw_table_free(t);
}

/* Full bursts mixing flows and drops: forwarded frames keep their order. */
static void
test_burst_order(void)
{
	static const struct cflow flows[] = {
		{{{1, {{0x88a8, 1, NO_PCP}}}, {1, {{0x8100, 1, NO_PCP}}}}},
		{{{2, {{0x88a8, 2, NO_PCP}, {0x8100, 3, NO_PCP}}}, {1, {{0x9100, 2, NO_PCP}}}}},
		{{{1, {{0x9200, 4, NO_PCP}}}, {2, {{0x8100, 4, NO_PCP}, {0x8100, 5, 3}}}}},
	};
	static const struct wtag k0[] = {{0x88a8, 0x2001}}, k1[] = {{0x88a8, 0x4002}, {0x8100, 3}},
				 k3[] = {{0x88a8, 77}}, k4[] = {{0x9200, 0xf004}};
	struct qgw_table *t = make_table(flows, RTE_DIM(flows), NULL);
	unsigned int avail = pool_avail();

	reset_counters();
	for (unsigned int rot = 0; rot < 6; rot++) {
		static uint8_t buf[FRAME_MAX];
		struct rte_mbuf *pkts[QGW_BURST];
		unsigned int idx[QGW_BURST], nb_fwd = 0, nb_kind[6] = {0};
		struct qgw_port_counters before = c->port[0];
		struct qgw_dp_out out;
		char what[48];

		snprintf(what, sizeof(what), "burst rotation %u", rot);
		for (unsigned int i = 0; i < QGW_BURST; i++) {
			unsigned int plen = 30 + 7 * i, len;

			switch ((i + rot) % 6) {
			case 0:
				len = frame_bytes(buf, k0, 1, 0x0800, plen, (uint8_t)i);
				break;
			case 1:
				len = frame_bytes(buf, k1, 2, 0x0800, plen, (uint8_t)i);
				break;
			case 2: /* runt */
				len = frame_bytes(buf, NULL, 0, 0x0800, 0, (uint8_t)i) - 2;
				break;
			case 3: /* no_flow */
				len = frame_bytes(buf, k3, 1, 0x0800, plen, (uint8_t)i);
				break;
			case 4:
				len = frame_bytes(buf, k4, 1, 0x0800, plen, (uint8_t)i);
				break;
			default: /* bad_tag */
				len = frame_bytes(buf, k0, 1, 0x0800, 0, (uint8_t)i) - 2;
				break;
			}
			pkts[i] = mbuf_from(buf, len);
			nb_kind[(i + rot) % 6]++;
			if ((i + rot) % 6 <= 1 || (i + rot) % 6 == 4)
				idx[nb_fwd++] = i;
		}
		run_burst(t, 0, pkts, QGW_BURST, &out, what);
		CHECK_EQ(out.nb, nb_fwd, what);
		for (unsigned int k = 0; k < out.nb && k < nb_fwd; k++) {
			static uint8_t exp[FRAME_MAX];
			unsigned int i = idx[k], plen = 30 + 7 * i, elen;
			unsigned int kind = (i + rot) % 6, flow = kind == 4 ? 2 : kind;
			const struct wtag *ft = kind == 0 ? k0 : kind == 1 ? k1 : k4;
			char w[80];

			snprintf(w, sizeof(w), "%s, frame %u (out %u)", what, i, k);
			CHECK(out.pkts[k] == pkts[i], w);
			CHECK_EQ(out.dir[k]->slot, flow, w);
			elen = expect_frame(exp, &flows[flow], 0, ft, flow == 1 ? 2 : 1, 0x0800,
					    plen, (uint8_t)i);
			check_frame(w, out.pkts[k], exp, elen);
		}
		CHECK_EQ(c->port[0].drop[QGW_DROP_RUNT] - before.drop[QGW_DROP_RUNT], nb_kind[2],
			 what);
		CHECK_EQ(c->port[0].drop[QGW_DROP_NO_FLOW] - before.drop[QGW_DROP_NO_FLOW],
			 nb_kind[3], what);
		CHECK_EQ(c->port[0].drop[QGW_DROP_BAD_TAG] - before.drop[QGW_DROP_BAD_TAG],
			 nb_kind[5], what);
		CHECK_EQ(sum_drops(c->port[0].drop) - sum_drops(before.drop), QGW_BURST - nb_fwd, what);
		transmit(0, &out, what);
		release(&out);
		CHECK_EQ(pool_avail(), avail, what);
	}
	CU_ASSERT_EQUAL(pool_avail(), avail);
	qgw_table_free(t);
}

/* An empty burst changes nothing and forwards nothing. */
static void
test_empty_burst(void)
{
	static const struct cflow flows[] = {{{{0}, {0}}}};
	struct qgw_table *t = make_table(flows, 1, NULL);
	struct qgw_dp_out out;

	reset_counters();
	run_burst(t, 0, NULL, 0, &out, "empty burst");
	CU_ASSERT_EQUAL(out.nb, 0);
	CU_ASSERT_EQUAL(out.bytes, 0);
	CU_ASSERT_EQUAL(c->port[0].rx_pkts, 0);
	CU_ASSERT_EQUAL(c->port[0].rx_bytes, 0);
	qgw_table_free(t);
}

static uint32_t
lcg(uint32_t *state)
{
	*state = *state * 1103515245u + 12345u;
	return *state >> 8;
}

/*
 * Many flows sharing outer tags (a dense two-tag hash, 1-tag flows under
 * most two-tag outers, 8 TPIDs on port a) against a reference classifier
 * written from the spec: exact two-tag stack, else outer tag, else catch-all.
 */
static void
test_many_flows(void)
{
	static const uint16_t tp[8] = {0x8100, 0x88a8, 0x9100, 0x9200,
				       0x9300, 0x9999, 0xa100, 0x8a88};
	enum { NB_TWO = 3000, NB_ONE = 1000, NB_FLOWS = NB_TWO + NB_ONE + 1 };
	struct cflow *flows = calloc(NB_FLOWS, sizeof(*flows));
	uint32_t *slots = calloc(NB_FLOWS, sizeof(*slots));
	unsigned int avail = pool_avail(), matched[3] = {0};
	uint32_t rnd = 12345;
	struct qgw_table *t;

	CU_ASSERT_PTR_NOT_NULL_FATAL(flows);
	CU_ASSERT_PTR_NOT_NULL_FATAL(slots);
	for (unsigned int f = 0; f < NB_FLOWS; f++) {
		struct cstack *a = &flows[f].port[0], *b = &flows[f].port[1];

		if (f < NB_TWO) {
			a->nb = 2;
			a->tag[0] = (struct ctag){tp[(f / 64) % 4], 1 + f % 64, NO_PCP};
			a->tag[1] = (struct ctag){tp[4 + f % 4], 1 + f, NO_PCP};
		} else if (f < NB_TWO + NB_ONE) {
			unsigned int j = f - NB_TWO;

			a->nb = 1;
			a->tag[0] = (struct ctag){tp[j % 4], 1 + j / 4, NO_PCP};
			if (j % 7 == 0) /* VID 4094 and TPIDs used only as inner tags */
				a->tag[0] = (struct ctag){tp[4 + j % 4], 4094 - j, NO_PCP};
		}
		b->nb = 1 + (f & 1);
		b->tag[0] = (struct ctag){0x8100, 1 + f % 4094, NO_PCP};
		b->tag[1] = (struct ctag){0x88a8, 1 + f / 4094, NO_PCP};
		slots[f] = QGW_MAX_FLOWS - 1 - f;
	}
	t = make_table(flows, NB_FLOWS, slots);
	reset_counters();

	for (unsigned int burst = 0; burst < 200; burst++) {
		struct rte_mbuf *pkts[QGW_BURST];
		struct wtag ft[QGW_BURST][3];
		unsigned int nbt[QGW_BURST], want[QGW_BURST];
		struct qgw_dp_out out;
		char what[48];

		snprintf(what, sizeof(what), "many flows, burst %u", burst);
		for (unsigned int i = 0; i < QGW_BURST; i++) {
			static uint8_t buf[FRAME_MAX];
			unsigned int n = lcg(&rnd) % 4, f, base = lcg(&rnd);

			for (unsigned int k = 0; k < n; k++) {
				uint32_t r = lcg(&rnd);
				uint16_t vid;

				switch (r % 8) {
				case 0:
					vid = 0;
					break;
				case 1:
					vid = 4095;
					break;
				case 2:
					vid = 4094;
					break;
				case 3:
					vid = (r >> 3) % 4096;
					break;
				default:
					vid = k == 0 ? 1 + (r >> 3) % 70 : 1 + (r >> 3) % NB_TWO;
				}
				ft[i][k].tpid = tp[(r >> 16) % (k == 0 ? 5 : 8)];
				ft[i][k].tci = (uint16_t)((r >> 20) & 0xf000) | vid;
			}
			/* half the frames start with a flow's own stack, maybe altered */
			if (n >= 1 && base % 2 == 0) {
				const struct cstack *a =
					&flows[(base >> 1) % (NB_TWO + NB_ONE)].port[0];

				for (unsigned int k = 0; k < a->nb && k < n; k++) {
					ft[i][k].tpid = a->tag[k].tpid;
					ft[i][k].tci = (ft[i][k].tci & 0xf000) | a->tag[k].vid;
				}
				if (n >= 2 && (base >> 20) % 4 == 0)
					ft[i][1].tci ^= 1;
				if (n >= 2 && (base >> 20) % 4 == 1)
					ft[i][1].tpid = tp[(base >> 24) % 8];
			}
			/* the reference: first match in specificity order */
			want[i] = NB_FLOWS - 1;
			for (f = 0; n >= 2 && f < NB_TWO; f++) {
				const struct cstack *a = &flows[f].port[0];

				if (a->tag[0].tpid == ft[i][0].tpid &&
				    a->tag[0].vid == (ft[i][0].tci & 0xfff) &&
				    a->tag[1].tpid == ft[i][1].tpid &&
				    a->tag[1].vid == (ft[i][1].tci & 0xfff))
					break;
			}
			if (n >= 2 && f < NB_TWO) {
				want[i] = f;
			} else {
				for (f = NB_TWO; n >= 1 && f < NB_TWO + NB_ONE; f++) {
					const struct cstack *a = &flows[f].port[0];

					if (a->tag[0].tpid == ft[i][0].tpid &&
					    a->tag[0].vid == (ft[i][0].tci & 0xfff))
						break;
				}
				if (n >= 1 && f < NB_TWO + NB_ONE)
					want[i] = f;
			}
			matched[want[i] < NB_TWO ? 0 : want[i] < NB_TWO + NB_ONE ? 1 : 2]++;
			nbt[i] = n;
			pkts[i] = mbuf_from(buf, frame_bytes(buf, ft[i], n, 0x88b5, 50 + i,
							     (uint8_t)(burst + i)));
		}
		run_burst(t, 0, pkts, QGW_BURST, &out, what);
		CHECK_EQ(out.nb, QGW_BURST, what);
		for (unsigned int i = 0; i < out.nb && i < QGW_BURST; i++) {
			static uint8_t exp[FRAME_MAX];
			unsigned int elen;
			char w[96];

			snprintf(w, sizeof(w), "%s, frame %u: %u tags %04x/%04x %04x/%04x", what, i,
				 nbt[i], ft[i][0].tpid, ft[i][0].tci, ft[i][1].tpid, ft[i][1].tci);
			CHECK_EQ(out.dir[i]->slot, slots[want[i]], w);
			elen = expect_frame(exp, &flows[want[i]], 0, ft[i], nbt[i], 0x88b5, 50 + i,
					    (uint8_t)(burst + i));
			check_frame(w, out.pkts[i], exp, elen);
		}
		transmit(0, &out, what);
		release(&out);
	}
	/* the random frames must have reached every kind of flow */
	CU_ASSERT(matched[0] > 100);
	CU_ASSERT(matched[1] > 100);
	CU_ASSERT(matched[2] > 100);
	CU_ASSERT_EQUAL(pool_avail(), avail);
	qgw_table_free(t);
	free(flows);
	free(slots);
}

int
main(int argc, char **argv)
{
	char *eal_args[] = {argc > 0 ? argv[0] : "test_datapath",
			    "--no-huge",
			    "--no-pci",
			    "--no-shconf", /* --in-memory is refused with --no-huge */
			    "-m",
			    "256",
			    "--log-level=*:error",
			    "-l",
			    "0"};
	static const struct {
		const char *name;
		CU_TestFunc fn;
	} tests[] = {
		{"pop x push, every TPID in every position", test_rewrite_combos},
		{"matching, with catch-all", test_match_catch_all},
		{"matching, without catch-all", test_match_no_catch_all},
		{"PCP/DEI of egress tags", test_pcp},
		{"padding to 60 bytes", test_padding},
		{"padding without tailroom", test_padding_no_tailroom},
		{"runt and bad_tag", test_short_frames},
		{"unparsable (tags across segments)", test_unparsable},
		{"no_flow", test_no_flow},
		{"no_headroom", test_no_headroom},
		{"tx_full", test_tx_full},
		{"counters and slots", test_counters},
		{"multi-segment frames", test_multiseg},
		{"burst order", test_burst_order},
		{"empty burst", test_empty_burst},
		{"many flows against a reference classifier", test_many_flows},
	};
	unsigned int failed;
	CU_pSuite suite;

	if (rte_eal_init(RTE_DIM(eal_args), eal_args) < 0) {
		fprintf(stderr, "cannot initialise EAL\n");
		return 1;
	}
	pool = rte_pktmbuf_pool_create("test_dp", POOL_SIZE, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				       SOCKET_ID_ANY);
	c = rte_zmalloc("test_dp_counters", sizeof(*c), RTE_CACHE_LINE_SIZE);
	if (pool == NULL || c == NULL) {
		fprintf(stderr, "cannot allocate the mbuf pool or the counters\n");
		rte_free(c);
		rte_mempool_free(pool);
		rte_eal_cleanup();
		return 1;
	}

	if (CU_initialize_registry() != CUE_SUCCESS)
		goto fail;
	suite = CU_add_suite("datapath", NULL, NULL);
	if (suite == NULL)
		goto fail;
	for (unsigned int i = 0; i < RTE_DIM(tests); i++)
		if (CU_add_test(suite, tests[i].name, tests[i].fn) == NULL)
			goto fail;
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	rte_free(c);
	rte_mempool_free(pool);
	rte_eal_cleanup();
	return failed ? 1 : 0;

fail:
	fprintf(stderr, "CUnit: %s\n", CU_get_error_msg());
	CU_cleanup_registry();
	rte_free(c);
	rte_mempool_free(pool);
	rte_eal_cleanup();
	return 1;
}
