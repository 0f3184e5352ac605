/*
 * Unit tests of per-flow MTU enforcement: the size check of qgw_dp_burst(),
 * the ICMP / ICMPv6 errors built for oversize frames, their rate limit, the
 * oversize event ring, TCP MSS clamping and the accounting of
 * qgw_dp_burst() / qgw_dp_back_done(), on real mbufs against flow tables
 * built by qgw_table_build() from configs parsed by qgw_config_load_string().
 *
 * The contract under test (per flow): `mtu` is the largest L3 packet, i.e.
 * the bytes after every tag and the EtherType; a frame over it, or whose
 * egress frame would be over the egress port's max_frame, never leaves and
 * is counted as an oversize drop. With oversize "icmp", IPv4 with DF and
 * IPv6 get an ICMP frag-needed / ICMPv6 packet-too-big sent back out of the
 * ingress port inside the frame's tag stack as received.
 *
 * Every expected frame, limit, quote length and checksum is computed here,
 * from the test's own description of the flows and frames, with this file's
 * own one's-complement code; the library is never used to predict its own
 * output. Every test also checks that the mbuf pool is back at its starting
 * level, so a leaked or double-freed mbuf fails the test that caused it.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "dp_testlib.h"
#include "qgw_config.h"
#include "qgw_counters.h"
#include "qgw_datapath.h"
#include "qgw_drop.h"
#include "qgw_events.h"
#include "qgw_table.h"

#define FRAME_MAX 9400
#define POOL_SIZE 2047
#define MIN_FRAME 60	       /* egress padding target, kept apart from QGW_MIN_FRAME */
#define MAX_FRAME_DEFAULT 1522 /* the documented default, kept apart from the library's */
#define ICMP4_QUOTE 548u       /* RFC 1812: the error fits in 576 bytes of IP */
#define ICMP6_QUOTE 1232u      /* RFC 4443: the error fits in the 1280-byte IPv6 minimum */
#define ET_IPV4 0x0800
#define ET_IPV6 0x86dd
#define ET_RAW 0x88b5 /* local experimental EtherType: a non-IP payload */
#define ET_ARP 0x0806
#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_ACK 0x10
#define FAST_ICMP "\"icmp_rate\": 1000000, \"icmp_burst\": 1000000"

static struct qgw_worker_counters *c;
static struct qgw_icmp_bucket *buckets;
static struct qgw_event_ring *rings[QGW_NB_PORTS];
static bool no_rings; /* run bursts with ctx.events[] NULL */

static const uint8_t mac_dst[6] = {0x02, 0x00, 0x5e, 0x10, 0x20, 0x30};
static const uint8_t mac_src[6] = {0x02, 0x00, 0x5e, 0xa0, 0xb0, 0xc0}; /* the sender */
static const uint8_t v4_src[4] = {192, 0, 2, 10};
static const uint8_t v4_dst[4] = {198, 51, 100, 20};
static const uint8_t v6_src[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10};
static const uint8_t v6_dst[16] = {0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff, 0, 0,
				   0,	 0,    0,    0,	   0,	 0,    0, 0x20};

/* A tag of a config stack; every tag here sets its pcp, so egress TCIs are pcp << 13 | vid. */
struct ctag {
	uint16_t tpid;
	uint16_t vid;
	int pcp;
};

struct cstack {
	unsigned int nb;
	struct ctag tag[2];
};

/* One flow: its stacks on port "a" (0) and "b" (1), and more JSON keys. */
struct cflow {
	struct cstack port[QGW_NB_PORTS];
	const char *extra; /* e.g. "\"mtu\": 1400", or NULL */
};

static void
put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xffff);
}

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

/* One's-complement sum of big-endian 16-bit words; an odd last byte is padded with 0. */
static uint32_t
sum16(uint32_t s, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	return s;
}

static uint16_t
fold16(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* Internet checksum of a header whose checksum field reads as zero. */
static uint16_t
inet_csum(const uint8_t *p, size_t n)
{
	return (uint16_t)~fold16(sum16(0, p, n));
}

/* Sum of the pseudo-header of an upper-layer packet of len bytes. */
static uint32_t
pseudo_sum(const uint8_t *ip, bool v6, uint8_t proto, uint32_t len)
{
	if (v6)
		return sum16(0, ip + 8, 32) + (len >> 16) + (len & 0xffff) + proto;
	return sum16(0, ip + 12, 8) + proto + len;
}

/* TCP checksum of the n bytes at l4 (checksum field skipped). */
static uint16_t
tcp_csum(const uint8_t *ip, bool v6, const uint8_t *l4, unsigned int n)
{
	uint32_t s = pseudo_sum(ip, v6, 6, n);

	s = sum16(s, l4, 16);
	s = sum16(s, l4 + 18, n - 18);
	return (uint16_t)~fold16(s);
}

/* Does the upper-layer checksum of the n bytes at l4 verify? */
static bool
l4_csum_ok(const uint8_t *ip, bool v6, uint8_t proto, const uint8_t *l4, unsigned int n)
{
	return fold16(sum16(pseudo_sum(ip, v6, proto, n), l4, n)) == 0xffff;
}

/* Fixed MACs, the tags and an EtherType; returns the L3 offset. */
static unsigned int
l2_write(uint8_t *buf, const struct wtag *tags, unsigned int nb, uint16_t etype)
{
	unsigned int n = 12;

	memcpy(buf, mac_dst, 6);
	memcpy(buf + 6, mac_src, 6);
	for (unsigned int i = 0; i < nb; i++) {
		put16(buf + n, tags[i].tpid);
		put16(buf + n + 2, tags[i].tci);
		n += 4;
	}
	put16(buf + n, etype);
	return n + 2;
}

/* What an oversize-test frame carries after its EtherType. */
struct l3spec {
	uint16_t etype;	    /* ET_IPV4, ET_IPV6, or anything else (a raw payload) */
	unsigned int len;   /* bytes after the EtherType */
	unsigned int tot;   /* IP packet length its header gives, 0: len */
	uint16_t frag;	    /* IPv4 flags + fragment offset (host order) */
	uint8_t proto;	    /* IP protocol / IPv6 upper-layer header, 0: UDP */
	uint8_t icmp_type;  /* first L4 byte when proto is ICMP / ICMPv6 */
	uint8_t ihl;	    /* IPv4 header length in words, 0: 5 */
	bool hbh;	    /* IPv6: a hop-by-hop options header before the L4 header */
	const uint8_t *src; /* NULL: v4_src / v6_src */
	const uint8_t *dst;
	const uint8_t *mac; /* destination MAC, NULL: mac_dst */
};

/*
 * Write an L3 packet: the header the spec describes, then a UDP header (or
 * the ICMP type), then bytes that depend on their position and on seed, so
 * that a quote taken from the wrong place cannot compare equal.
 */
static void
l3_write(uint8_t *l3, const struct l3spec *s, uint8_t seed)
{
	unsigned int tot = s->tot ? s->tot : s->len, hl;
	uint8_t proto = s->proto ? s->proto : 17;
	uint8_t *l4;

	for (unsigned int j = 0; j < s->len; j++)
		l3[j] = (uint8_t)(seed + 7 * j + (j >> 8));
	if (s->etype == ET_IPV4) {
		hl = (s->ihl ? s->ihl : 5) * 4u;
		l3[0] = 0x40 | hl / 4;
		l3[1] = 0;
		put16(l3 + 2, (uint16_t)tot);
		put16(l3 + 4, 0x1234);
		put16(l3 + 6, s->frag);
		l3[8] = 61;
		l3[9] = proto;
		put16(l3 + 10, 0);
		memcpy(l3 + 12, s->src ? s->src : v4_src, 4);
		memcpy(l3 + 16, s->dst ? s->dst : v4_dst, 4);
		memset(l3 + 20, 1, hl - 20); /* NOP options */
		put16(l3 + 10, inet_csum(l3, hl));
		l4 = l3 + hl;
	} else if (s->etype == ET_IPV6) {
		hl = 40;
		put32(l3, 0x60000000 | seed);
		put16(l3 + 4, (uint16_t)(tot - 40));
		l3[6] = s->hbh ? 0 : proto;
		l3[7] = 61;
		memcpy(l3 + 8, s->src ? s->src : v6_src, 16);
		memcpy(l3 + 24, s->dst ? s->dst : v6_dst, 16);
		l4 = l3 + 40;
		if (s->hbh) {
			static const uint8_t padn[6] = {0, 1, 4, 0, 0, 0};

			l4[0] = proto;
			memcpy(l4 + 1, padn, sizeof(padn));
			l4[7] = 0;
			l4 += 8;
			hl += 8;
		}
	} else {
		return;
	}
	if (proto == 17) {
		put16(l4, 1234);
		put16(l4 + 2, 5678);
		put16(l4 + 4, (uint16_t)(tot - hl));
		put16(l4 + 6, 0);
	} else if (proto == 1 || proto == 58) {
		l4[0] = s->icmp_type;
		l4[1] = 0;
	}
}

/* A whole frame; returns its length. */
static unsigned int
frame_write(uint8_t *buf, const struct wtag *tags, unsigned int nb, const struct l3spec *s,
	    uint8_t seed)
{
	unsigned int l3off = l2_write(buf, tags, nb, s->etype);

	if (s->mac != NULL)
		memcpy(buf, s->mac, 6);
	l3_write(buf + l3off, s, seed);
	return l3off + s->len;
}

/*
 * The egress frame the contract mandates for a frame of len bytes that
 * enters with pop flow tags: those replaced by the push stack (TCI = the
 * config's pcp << 13 | vid), the rest unchanged, zero-padded to 60 bytes.
 */
static unsigned int
egress_frame(uint8_t *exp, const uint8_t *frame, unsigned int len, unsigned int pop,
	     const struct cstack *push)
{
	unsigned int n = 12, rest = len - 12 - 4 * pop;

	memcpy(exp, frame, 12);
	for (unsigned int i = 0; i < push->nb; i++) {
		put16(exp + n, push->tag[i].tpid);
		put16(exp + n + 2, (uint16_t)(push->tag[i].pcp << 13 | push->tag[i].vid));
		n += 4;
	}
	memcpy(exp + n, frame + 12 + 4 * pop, rest);
	n += rest;
	if (n < MIN_FRAME) {
		memset(exp + n, 0, MIN_FRAME - n);
		n = MIN_FRAME;
	}
	return n;
}

static int
stack_json(char *s, size_t len, const struct cstack *st)
{
	int n = snprintf(s, len, "[");

	for (unsigned int i = 0; i < st->nb; i++)
		n += snprintf(s + n, len - n, "%s{\"tpid\": \"0x%04x\", \"vid\": %u, \"pcp\": %d}",
			      i ? ", " : "", st->tag[i].tpid, st->tag[i].vid, st->tag[i].pcp);
	n += snprintf(s + n, len - n, "]");
	return n;
}

/* Write ports and flows as a config document (max_frame 0: key left out). */
static char *
config_doc(const unsigned int max_frame[QGW_NB_PORTS], const struct cflow *flows, unsigned int nb)
{
	size_t cap = 1024 + 512 * (size_t)nb;
	char *doc = malloc(cap);
	int n;

	CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
	n = snprintf(doc, cap, "{\"version\": 1, \"ports\": {");
	for (unsigned int p = 0; p < QGW_NB_PORTS; p++) {
		n += snprintf(doc + n, cap - n, "%s\"%c\": {\"device\": \"net_null%u\"",
			      p ? ", " : "", 'a' + p, p);
		if (max_frame[p])
			n += snprintf(doc + n, cap - n, ", \"max_frame\": %u", max_frame[p]);
		n += snprintf(doc + n, cap - n, "}");
	}
	n += snprintf(doc + n, cap - n, "}, \"flows\": [");
	for (unsigned int f = 0; f < nb; f++) {
		n += snprintf(doc + n, cap - n, "%s{\"name\": \"f%u\", \"a\": ", f ? ", " : "", f);
		n += stack_json(doc + n, cap - n, &flows[f].port[0]);
		n += snprintf(doc + n, cap - n, ", \"b\": ");
		n += stack_json(doc + n, cap - n, &flows[f].port[1]);
		if (flows[f].extra != NULL && flows[f].extra[0] != '\0')
			n += snprintf(doc + n, cap - n, ", %s", flows[f].extra);
		n += snprintf(doc + n, cap - n, "}");
	}
	snprintf(doc + n, cap - n, "]}");
	return doc;
}

static struct qgw_config *
load_config(const unsigned int max_frame[QGW_NB_PORTS], const struct cflow *flows, unsigned int nb)
{
	struct qgw_errors errs = {0};
	char *doc = config_doc(max_frame, flows, nb);
	struct qgw_config *cfg = qgw_config_load_string(doc, &errs);

	if (cfg == NULL) {
		printf("\n    config rejected:\n%s\n", doc);
		for (size_t i = 0; i < errs.nb; i++)
			printf("    %s\n", errs.msg[i]);
	}
	qgw_errors_clear(&errs);
	free(doc);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	CU_ASSERT_EQUAL_FATAL(cfg->nb_flows, nb);
	return cfg;
}

/* Counters, ICMP buckets and event rings start empty with every table. */
static void
reset_state(void)
{
	memset(c, 0, sizeof(*c));
	memset(buckets, 0, sizeof(*buckets) * QGW_MAX_FLOWS * QGW_NB_PORTS);
	for (unsigned int p = 0; p < QGW_NB_PORTS; p++)
		memset(rings[p], 0, sizeof(*rings[p]));
}

/* Build a table (slot = flow index); mtu[] receives each flow's parsed mtu. */
static struct qgw_table *
make_table(const unsigned int max_frame[QGW_NB_PORTS], const struct cflow *flows, unsigned int nb,
	   uint32_t *mtu)
{
	struct qgw_config *cfg = load_config(max_frame, flows, nb);
	struct qgw_table *t;

	for (unsigned int f = 0; mtu != NULL && f < nb; f++)
		mtu[f] = cfg->flows[f].mtu;
	t = qgw_table_build(cfg, NULL, 1, SOCKET_ID_ANY);
	qgw_config_free(cfg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	reset_state();
	return t;
}

/*
 * Run one burst and check what every burst must keep: rx counters grow by
 * the frames and their bytes; every frame is forwarded or counted under
 * exactly one drop reason (an oversize frame answered with ICMP is such a
 * drop: the ICMP is a new frame); back holds exactly the ICMP errors the
 * flows counted, each in one segment; out/back byte counts are the sums of
 * their frames; nothing is counted as transmitted yet.
 */
static void
run_burst(const struct qgw_table *t, unsigned int in, struct rte_mbuf **pkts, uint16_t nb,
	  struct qgw_dp_out *out, struct qgw_dp_out *back, const char *what)
{
	struct qgw_dp_ctx ctx = {.c = c, .bucket = buckets};
	struct qgw_port_counters before = c->port[in], other = c->port[1 - in];
	uint64_t rx_bytes = 0, bytes = 0, icmp0 = 0, icmp1 = 0, fpkts0 = 0, fpkts1 = 0;
	uint64_t fdrop0 = 0, fdrop1 = 0;

	for (unsigned int p = 0; p < QGW_NB_PORTS && !no_rings; p++)
		ctx.events[p] = rings[p];
	for (uint16_t i = 0; i < nb; i++)
		rx_bytes += pkts[i]->pkt_len;
	for (uint32_t s = 0; s < t->nb_flows; s++) {
		icmp0 += c->flow[s][in].icmp_sent;
		fpkts0 += c->flow[s][in].pkts;
		fdrop0 += sum_drops(c->flow[s][in].drop);
	}
	memset(out, 0xee, sizeof(*out));
	memset(back, 0xee, sizeof(*back));
	qgw_dp_burst(t, in, pkts, nb, out, back, &ctx);
	CHECK(out->nb <= nb, what);
	CHECK(back->nb <= nb, what);
	if (out->nb > nb || back->nb > nb) {
		out->nb = back->nb = 0;
		return;
	}
	for (uint32_t s = 0; s < t->nb_flows; s++) {
		icmp1 += c->flow[s][in].icmp_sent;
		fpkts1 += c->flow[s][in].pkts;
		fdrop1 += sum_drops(c->flow[s][in].drop);
	}
	CHECK_EQ(c->port[in].rx_pkts - before.rx_pkts, nb, what);
	CHECK_EQ(c->port[in].rx_bytes - before.rx_bytes, rx_bytes, what);
	CHECK_EQ(out->nb + sum_drops(c->port[in].drop) - sum_drops(before.drop), nb, what);
	CHECK_EQ(fpkts1 - fpkts0, out->nb + fdrop1 - fdrop0, what);
	CHECK_EQ(back->nb, icmp1 - icmp0, what);
	for (uint16_t i = 0; i < out->nb; i++)
		bytes += out->pkts[i]->pkt_len;
	CHECK_EQ(out->bytes, bytes, what);
	bytes = 0;
	for (uint16_t i = 0; i < back->nb; i++) {
		bytes += back->pkts[i]->pkt_len;
		CHECK_EQ(back->pkts[i]->nb_segs, 1, what);
	}
	CHECK_EQ(back->bytes, bytes, what);
	CHECK_EQ(c->port[in].tx_pkts, before.tx_pkts, what);
	CHECK_EQ(c->port[in].icmp_sent, before.icmp_sent, what);
	CHECK_EQ(c->port[1 - in].tx_pkts, other.tx_pkts, what);
	CHECK_EQ(c->port[1 - in].icmp_sent, other.icmp_sent, what);
}

/*
 * Everything was transmitted: forwarded frames count on the egress port,
 * ICMP errors as sent out of the ingress port. The test then frees them in
 * place of the driver.
 */
static void
finish(unsigned int in, struct qgw_dp_out *out, struct qgw_dp_out *back, const char *what)
{
	struct qgw_port_counters ing = c->port[in], eg = c->port[1 - in];

	qgw_dp_tx_done(in, out, out->nb, c);
	qgw_dp_back_done(in, back, back->nb, c);
	CHECK_EQ(c->port[1 - in].tx_pkts - eg.tx_pkts, out->nb, what);
	CHECK_EQ(c->port[1 - in].tx_bytes - eg.tx_bytes, out->bytes, what);
	CHECK_EQ(c->port[1 - in].icmp_sent, eg.icmp_sent, what);
	CHECK_EQ(c->port[in].tx_pkts - ing.tx_pkts, back->nb, what);
	CHECK_EQ(c->port[in].tx_bytes - ing.tx_bytes, back->bytes, what);
	CHECK_EQ(c->port[in].icmp_sent - ing.icmp_sent, back->nb, what);
	CHECK_EQ(c->port[in].icmp_tx_full, ing.icmp_tx_full, what);
	CHECK_EQ(c->port[in].drop[QGW_DROP_TX_FULL], ing.drop[QGW_DROP_TX_FULL], what);
	if (out->nb)
		rte_pktmbuf_free_bulk(out->pkts, out->nb);
	if (back->nb)
		rte_pktmbuf_free_bulk(back->pkts, back->nb);
	out->nb = back->nb = 0;
}

/*
 * Check an ICMP error built for the frame orig (len bytes, L3 at l3off):
 * one segment; the received MACs swapped and the tag stack and EtherType
 * as received; a fresh IP header from the original destination to the
 * original source, TTL / hop limit 64; ICMP type 3 code 4 with a 16-bit
 * next-hop MTU, or ICMPv6 type 2 code 0 with a 32-bit MTU; quote bytes of
 * the original packet; every checksum verified here.
 */
static void
check_icmp(const char *what, const struct rte_mbuf *m, const uint8_t *orig, unsigned int l3off,
	   uint32_t limit, unsigned int quote)
{
	bool v6 = get16(orig + l3off - 2) == ET_IPV6;
	unsigned int hdrs = v6 ? 48 : 28;
	const uint8_t *p, *ip, *icmp, *o = orig + l3off;
	const char *reason = NULL;

	CHECK(rte_mbuf_check(m, 1, &reason) == 0, what);
	if (reason != NULL)
		printf(" (%s)", reason);
	CHECK_EQ(m->nb_segs, 1, what);
	CHECK_EQ(m->pkt_len, l3off + hdrs + quote, what);
	CHECK_EQ(m->data_len, m->pkt_len, what);
	if (m->pkt_len != l3off + hdrs + quote || m->data_len != m->pkt_len)
		return;
	p = rte_pktmbuf_mtod(m, const uint8_t *);
	CHECK(memcmp(p, orig + 6, 6) == 0, what);		 /* to the sender's MAC */
	CHECK(memcmp(p + 6, orig, 6) == 0, what);		 /* from the MAC it sent to */
	CHECK(memcmp(p + 12, orig + 12, l3off - 12) == 0, what); /* tags + EtherType as received */
	ip = p + l3off;
	if (!v6) {
		icmp = ip + 20;
		CHECK_EQ(ip[0], 0x45, what);
		CHECK_EQ(get16(ip + 2), 28 + quote, what);
		CHECK_EQ(get16(ip + 6) & 0x3fff, 0, what); /* not a fragment */
		CHECK_EQ(ip[8], 64, what);
		CHECK_EQ(ip[9], 1, what);
		CHECK(memcmp(ip + 12, o + 16, 4) == 0, what);
		CHECK(memcmp(ip + 16, o + 12, 4) == 0, what);
		CHECK_EQ(fold16(sum16(0, ip, 20)), 0xffff, what); /* header checksum */
		CHECK_EQ(icmp[0], 3, what);
		CHECK_EQ(icmp[1], 4, what);
		CHECK_EQ(get16(icmp + 4), 0, what);
		CHECK_EQ(get16(icmp + 6), limit, what);
		CHECK_EQ(fold16(sum16(0, icmp, 8 + quote)), 0xffff, what); /* ICMP checksum */
	} else {
		icmp = ip + 40;
		CHECK_EQ(ip[0] >> 4, 6, what);
		CHECK_EQ(get16(ip + 4), 8 + quote, what);
		CHECK_EQ(ip[6], 58, what);
		CHECK_EQ(ip[7], 64, what);
		CHECK(memcmp(ip + 8, o + 24, 16) == 0, what);
		CHECK(memcmp(ip + 24, o + 8, 16) == 0, what);
		CHECK_EQ(icmp[0], 2, what);
		CHECK_EQ(icmp[1], 0, what);
		CHECK_EQ(get32(icmp + 4), limit, what);
		CHECK(l4_csum_ok(ip, true, 58, icmp, 8 + quote), what); /* with pseudo-header */
	}
	CHECK(memcmp(icmp + 8, o, quote) == 0, what);
}

/* The quote the contract gives for a packet of l3len bytes, whose IP header says tot. */
static unsigned int
quote_len(bool v6, unsigned int l3len, unsigned int tot)
{
	return RTE_MIN(RTE_MIN(l3len, tot), v6 ? ICMP6_QUOTE : ICMP4_QUOTE);
}

static void
read_event(const char *what, unsigned int in, uint64_t idx, struct qgw_event *e)
{
	memset(e, 0, sizeof(*e));
	CHECK(qgw_event_read(rings[in], (unsigned int)(idx % QGW_EVENTS), e) == 1, what);
}

/*
 * Check that the frame (len bytes, nb_tags tags, L3 at l3off) left exactly
 * one entry in its ingress port's event ring, describing it.
 */
static void
check_event(const char *what, unsigned int in, uint64_t head_before, const uint8_t *frame,
	    unsigned int len, unsigned int l3off, unsigned int nb_tags, uint32_t slot,
	    uint32_t limit, uint8_t action)
{
	uint16_t et = get16(frame + l3off - 2), sport = 0, dport = 0;
	const uint8_t *o = frame + l3off;
	uint8_t src[16] = {0}, dst[16] = {0}, proto = 0;
	bool l4_known = true;
	struct qgw_event e;

	CHECK_EQ(rings[in]->head, head_before + 1, what);
	if (rings[in]->head != head_before + 1)
		return;
	read_event(what, in, head_before, &e);
	CHECK_EQ(e.slot, slot, what);
	CHECK_EQ(e.port, in, what);
	CHECK_EQ(e.frame_len, len, what);
	CHECK_EQ(e.l3_len, len - l3off, what);
	CHECK_EQ(e.limit, limit, what);
	CHECK_EQ(e.ethertype, et, what);
	CHECK_EQ(e.action, action, what);
	CHECK_EQ(e.nb_tags, nb_tags, what);
	for (unsigned int i = 0; i < nb_tags && i < QGW_EVENT_TAGS; i++)
		CHECK(memcmp(&e.tags[i], frame + 12 + 4 * i, 4) == 0, what);
	if (et == ET_IPV4) {
		unsigned int ihl = (o[0] & 0x0f) * 4u;

		proto = o[9];
		memcpy(src, o + 12, 4);
		memcpy(dst, o + 16, 4);
		if ((get16(o + 6) & 0x1fff) == 0 && (proto == 6 || proto == 17)) {
			sport = get16(o + ihl);
			dport = get16(o + ihl + 2);
		}
	} else if (et == ET_IPV6) {
		proto = o[6];
		memcpy(src, o + 8, 16);
		memcpy(dst, o + 24, 16);
		/* Behind extension headers, which protocol to report is not specified. */
		l4_known = proto != 0 && proto != 43 && proto != 44 && proto != 60;
		if (proto == 6 || proto == 17) {
			sport = get16(o + 40);
			dport = get16(o + 42);
		}
	}
	CHECK(memcmp(e.src, src, 16) == 0, what);
	CHECK(memcmp(e.dst, dst, 16) == 0, what);
	if (l4_known) {
		CHECK_EQ(e.proto, proto, what);
		CHECK_EQ(e.sport, sport, what);
		CHECK_EQ(e.dport, dport, what);
	}
}

/* ---------------------------------------------------------------------- */
/* Config: default mtu and MSS arithmetic */

static void
test_config_arithmetic(void)
{
	static const struct {
		const char *what;
		unsigned int max_frame[QGW_NB_PORTS];
		unsigned int na, nb; /* tags on a, b */
		const char *extra;
		uint32_t mtu;
		uint32_t mss4, mss6; /* UINT32_MAX: not checked */
	} cases[] = {
		/* min(1522 - 14 - 4 * (1 + 1), 1522 - 14 - 4 * (2 + 1)) */
		{"defaults, 1 tag / 2 tags", {0, 0}, 1, 2, NULL, 1496, 1456, 1436},
		{"untagged both, customer_tags 0",
		 {0, 0},
		 0,
		 0,
		 "\"customer_tags\": 0",
		 1508,
		 1468,
		 1448},
		{"untagged both, customer_tags 2",
		 {0, 0},
		 0,
		 0,
		 "\"customer_tags\": 2",
		 1500,
		 1460,
		 1440},
		/* min(9216 - 14 - 16, 1522 - 14 - 12) */
		{"9216 with 2 tags / 1522 with 1 tag, customer_tags 2",
		 {9216, 0},
		 2,
		 1,
		 "\"customer_tags\": 2",
		 1496,
		 1456,
		 1436},
		{"9216 both, 1 tag each", {9216, 9216}, 1, 1, NULL, 9194, 9154, 9134},
		{"1518 / 1522, 1 tag each", {1518, 1522}, 1, 1, NULL, 1496, 1456, 1436},
		{"1522 / 1518, 1 tag each", {1522, 1518}, 1, 1, NULL, 1496, 1456, 1436},
		{"mtu 9000 on 9216 ports", {9216, 9216}, 1, 1, "\"mtu\": 9000", 9000, 8960, 8940},
		{"mtu 1400, mss_clamp true",
		 {0, 0},
		 1,
		 1,
		 "\"mtu\": 1400, \"mss_clamp\": true",
		 1400,
		 1360,
		 1340},
		{"mtu 1400, mss_clamp 1200",
		 {0, 0},
		 1,
		 1,
		 "\"mtu\": 1400, \"mss_clamp\": 1200",
		 1400,
		 1200,
		 1200},
		{"mtu 1400, mss_clamp false",
		 {0, 0},
		 1,
		 1,
		 "\"mtu\": 1400, \"mss_clamp\": false",
		 1400,
		 0,
		 0},
		{"mtu 129", {0, 0}, 1, 1, "\"mtu\": 129", 129, 89, UINT32_MAX},
		{"mtu 128: IPv4 clamp 88 (mtu - 40)",
		 {0, 0},
		 1,
		 1,
		 "\"mtu\": 128",
		 128,
		 88,
		 UINT32_MAX},
		{"mtu 148: IPv6 clamp 88 (mtu - 60)", {0, 0}, 1, 1, "\"mtu\": 148", 148, 108, 88},
	};
	static const char bad[] =
		"{\"ports\": {\"ccx\": {\"device\": \"d0\", \"max_frame\": 1518}, "
		"\"twaren\": {\"device\": \"d1\"}}, \"flows\": [{\"name\": \"x\", "
		"\"ccx\": [{\"tpid\": \"0x88a8\", \"vid\": 10}], "
		"\"twaren\": [{\"tpid\": \"0x88a8\", \"vid\": 10}], \"mtu\": 1500}]}";
	struct qgw_errors errs = {0};
	bool found = false;

	for (unsigned int i = 0; i < RTE_DIM(cases); i++) {
		struct cflow f = {.extra = cases[i].extra};
		struct qgw_config *cfg;

		f.port[0].nb = cases[i].na;
		f.port[0].tag[0] = (struct ctag){0x88a8, 10, 0};
		f.port[0].tag[1] = (struct ctag){0x8100, 20, 0};
		f.port[1].nb = cases[i].nb;
		f.port[1].tag[0] = (struct ctag){0x88a8, 30, 0};
		f.port[1].tag[1] = (struct ctag){0x8100, 40, 0};
		cfg = load_config(cases[i].max_frame, &f, 1);
		CHECK_EQ(cfg->flows[0].mtu, cases[i].mtu, cases[i].what);
		if (cases[i].mss4 != UINT32_MAX)
			CHECK_EQ(cfg->flows[0].mss4, cases[i].mss4, cases[i].what);
		if (cases[i].mss6 != UINT32_MAX)
			CHECK_EQ(cfg->flows[0].mss6, cases[i].mss6, cases[i].what);
		qgw_config_free(cfg);
	}

	CU_ASSERT_PTR_NULL(qgw_config_load_string(bad, &errs));
	for (size_t i = 0; i < errs.nb; i++)
		found |= strcmp(errs.msg[i], "/flows/0: mtu 1500 + 22 bytes of headers = 1522 > "
					     "ccx max_frame 1518") == 0;
	CHECK(found, "mtu over a port's max_frame");
	qgw_errors_clear(&errs);
}

/* ---------------------------------------------------------------------- */
/* Size limits: mtu and egress max_frame, at every tag depth */

enum kind { K_V4DF, K_V4, K_V6, K_RAW, K__MAX };
static const char *const kind_name[K__MAX] = {"IPv4 DF", "IPv4 no DF", "IPv6", "0x88b5"};

/* Flow stacks for the matrix, by port, outermost first. */
static const struct ctag matrix_tags[QGW_NB_PORTS][2] = {
	{{0x88a8, 100, 3}, {0x9100, 200, 5}},
	{{0x9100, 300, 1}, {0x88a8, 400, 6}},
};
/* PCP/DEI bits the frames carry in their flow tags (not the config's pcp). */
static const uint16_t wire_top[2] = {0xb000, 0x5000};
/* Customer tags behind the flow's stack. */
static const struct wtag ctags[2] = {{0x8100, 0x200b}, {0x8100, 0xf00c}};

struct variant {
	const char *what;
	unsigned int max_frame[QGW_NB_PORTS]; /* 0: default */
	unsigned int mtu;		      /* 0: default */
	int customer_tags;		      /* -1: default */
};

static const struct variant variants[] = {
	{"mtu 1400 binds, customer_tags 2", {2000, 2000}, 1400, 2},
	{"default mtu, customer_tags 0: extra customer tags hit max_frame", {0, 0}, 0, 0},
	{"default mtu, ports 9216 / 1522, customer_tags 1", {9216, 0}, 0, -1},
};

/* Send one frame of L3 size l3len and check all that the contract says of it. */
static void
size_case(const struct qgw_table *t, const struct cflow *f, unsigned int in, unsigned int k,
	  enum kind kind, unsigned int l3len, uint32_t limit, bool icmp, uint64_t *max_over,
	  const char *ctx_what)
{
	static const uint16_t etypes[K__MAX] = {ET_IPV4, ET_IPV4, ET_IPV6, ET_RAW};
	static uint8_t buf[FRAME_MAX], exp[FRAME_MAX];
	static uint8_t seed;
	const struct cstack *pop = &f->port[in];
	struct qgw_flow_counters fc = c->flow[0][in];
	struct qgw_port_counters pc = c->port[in];
	uint64_t head = rings[in]->head;
	struct l3spec s = {
		.etype = etypes[kind], .len = l3len, .frag = kind == K_V4DF ? 0x4000 : 0};
	struct qgw_dp_out out, back;
	unsigned int nt = 0, len, l3off;
	struct wtag tags[4];
	struct rte_mbuf *m;
	char what[224];

	for (unsigned int i = 0; i < pop->nb; i++)
		tags[nt++] = (struct wtag){pop->tag[i].tpid, wire_top[i] | pop->tag[i].vid};
	for (unsigned int i = 0; i < k; i++)
		tags[nt++] = ctags[i];
	len = frame_write(buf, tags, nt, &s, ++seed);
	l3off = len - l3len;
	snprintf(what, sizeof(what), "%s, in %u, %u customer tags, %s, L3 %u (limit %u)", ctx_what,
		 in, k, kind_name[kind], l3len, limit);

	m = mbuf_from(buf, len);
	run_burst(t, in, &m, 1, &out, &back, what);
	if (l3len <= limit) {
		CHECK_EQ(out.nb, 1, what);
		CHECK_EQ(back.nb, 0, what);
		CHECK_EQ(c->port[in].drop[QGW_DROP_OVERSIZE], pc.drop[QGW_DROP_OVERSIZE], what);
		CHECK_EQ(rings[in]->head, head, what);
		if (out.nb == 1)
			check_frame(what, out.pkts[0], exp,
				    egress_frame(exp, buf, len, pop->nb, &f->port[1 - in]));
	} else {
		bool sent = icmp && (kind == K_V4DF || kind == K_V6);
		uint8_t action = sent			? QGW_EV_ICMP_SENT
				 : icmp && kind == K_V4 ? QGW_EV_DF_CLEAR
							: QGW_EV_DROPPED;

		CHECK_EQ(out.nb, 0, what);
		CHECK_EQ(back.nb, sent, what);
		CHECK_EQ(c->port[in].drop[QGW_DROP_OVERSIZE] - pc.drop[QGW_DROP_OVERSIZE], 1, what);
		CHECK_EQ(c->flow[0][in].drop[QGW_DROP_OVERSIZE] - fc.drop[QGW_DROP_OVERSIZE], 1,
			 what);
		CHECK_EQ(c->flow[0][in].icmp_sent - fc.icmp_sent, sent, what);
		CHECK_EQ(c->flow[0][in].icmp_suppressed, fc.icmp_suppressed, what);
		if (icmp)
			CHECK_EQ(c->flow[0][in].df_clear - fc.df_clear, kind == K_V4, what);
		*max_over = RTE_MAX(*max_over, (uint64_t)len);
		CHECK_EQ(c->flow[0][in].max_oversize, *max_over, what);
		check_event(what, in, head, buf, len, l3off, nt, 0, limit, action);
		if (sent && back.nb == 1)
			check_icmp(what, back.pkts[0], buf, l3off, limit,
				   quote_len(kind == K_V6, l3len, l3len));
	}
	CHECK_EQ(c->flow[0][in].mss_clamped, fc.mss_clamped, what);
	finish(in, &out, &back, what);
}

/*
 * One variant: every flow stack depth on a and b (0..2 tags each), oversize
 * icmp and drop, both directions, 0..2 customer tags, four kinds of frame,
 * at limit - 1, limit, limit + 1 and mtu - 1, mtu, mtu + 1, where limit is
 * what the flow's mtu and the egress max_frame leave with this frame's tags.
 */
static void
run_variant(const struct variant *v)
{
	unsigned int avail = pool_avail(), ct = v->customer_tags < 0 ? 1 : v->customer_tags;
	unsigned int mf[QGW_NB_PORTS];

	for (unsigned int p = 0; p < QGW_NB_PORTS; p++)
		mf[p] = v->max_frame[p] ? v->max_frame[p] : MAX_FRAME_DEFAULT;
	for (unsigned int na = 0; na <= 2; na++) {
		for (unsigned int nb = 0; nb <= 2; nb++) {
			for (unsigned int mode = 0; mode < 2; mode++) {
				struct cflow f = {0};
				char extra[256], what[160];
				uint32_t cfg_mtu = 0, mtu;
				struct qgw_table *t;
				int n;

				f.port[0].nb = na;
				f.port[1].nb = nb;
				memcpy(f.port[0].tag, matrix_tags[0], sizeof(f.port[0].tag));
				memcpy(f.port[1].tag, matrix_tags[1], sizeof(f.port[1].tag));
				n = snprintf(extra, sizeof(extra), "\"oversize\": \"%s\", %s",
					     mode ? "drop" : "icmp", FAST_ICMP);
				if (v->mtu)
					n += snprintf(extra + n, sizeof(extra) - n, ", \"mtu\": %u",
						      v->mtu);
				if (v->customer_tags >= 0)
					snprintf(extra + n, sizeof(extra) - n,
						 ", \"customer_tags\": %d", v->customer_tags);
				f.extra = extra;
				if (v->mtu)
					mtu = v->mtu;
				else
					mtu = RTE_MIN(mf[0] - 14 - 4 * (na + ct),
						      mf[1] - 14 - 4 * (nb + ct));
				snprintf(what, sizeof(what),
					 "%s: %u tags on a, %u on b, %s, mtu %u", v->what, na, nb,
					 mode ? "drop" : "icmp", mtu);
				t = make_table(v->max_frame, &f, 1, &cfg_mtu);
				CHECK_EQ(cfg_mtu, mtu, what);

				for (unsigned int in = 0; in < QGW_NB_PORTS; in++) {
					unsigned int push = in ? na : nb;
					uint64_t max_over = 0;

					for (unsigned int k = 0; k <= 2; k++) {
						uint32_t limit = RTE_MIN(
							mtu, mf[1 - in] - 14 - 4 * (push + k));
						uint32_t sizes[6] = {limit - 1, limit, limit + 1,
								     mtu - 1,	mtu,   mtu + 1};

						for (unsigned int s = 0; s < RTE_DIM(sizes); s++) {
							bool dup = false;

							for (unsigned int j = 0; j < s; j++)
								dup |= sizes[j] == sizes[s];
							for (unsigned int kd = 0;
							     !dup && kd < K__MAX; kd++)
								size_case(t, &f, in, k, kd,
									  sizes[s], limit,
									  mode == 0, &max_over,
									  what);
						}
					}
				}
				qgw_table_free(t);
			}
		}
	}
	CU_ASSERT_EQUAL(pool_avail(), avail);
}

static void
test_limits_mtu(void)
{
	run_variant(&variants[0]);
}

static void
test_limits_max_frame(void)
{
	run_variant(&variants[1]);
}

static void
test_limits_asymmetric(void)
{
	run_variant(&variants[2]);
}

/* ---------------------------------------------------------------------- */
/* Which oversize packets are answered */

enum answer { SENT, NOT_SENT, DF_CLEAR };

static void
test_icmp_exemptions(void)
{
	static const uint8_t zero4[4], mc4a[4] = {224, 0, 0, 5}, mc4b[4] = {239, 255, 0, 1},
				       bc4[4] = {255, 255, 255, 255}, mcd4a[4] = {224, 0, 0, 1},
				       mcd4b[4] = {239, 1, 2, 3}, lo4[4] = {127, 0, 0, 1},
				       ce4[4] = {240, 0, 0, 1}, ce4b[4] = {254, 1, 2, 3},
				       last4[4] = {223, 255, 255, 254};
	static const uint8_t zero6[16], mc6a[16] = {0xff, 0x02, [15] = 1},
					mc6b[16] = {0xff, 0x0e, [14] = 0x12, [15] = 0x34},
					lo6[16] = {[15] = 1};
	/* group MACs: broadcast, IPv4 multicast, IPv6 multicast, any odd first octet */
	static const uint8_t bc_mac[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
			     mc4_mac[6] = {0x01, 0x00, 0x5e, 0x00, 0x00, 0x01},
			     mc6_mac[6] = {0x33, 0x33, 0x00, 0x00, 0x00, 0x01},
			     grp_mac[6] = {0x03, 0x00, 0x5e, 0x10, 0x20, 0x30},
			     uni_mac[6] = {0x00, 0x00, 0x5e, 0x10, 0x20, 0x30};
	static const struct {
		const char *what;
		struct l3spec s;
		enum answer want;
	} cases[] = {
		{"IPv4 UDP", {ET_IPV4, 1200, .frag = 0x4000}, SENT},
		{"IPv4 ICMP echo request",
		 {ET_IPV4, 1200, .frag = 0x4000, .proto = 1, .icmp_type = 8},
		 SENT},
		{"IPv4 ICMP echo reply", {ET_IPV4, 1200, .frag = 0x4000, .proto = 1}, SENT},
		{"IPv4 ICMP timestamp",
		 {ET_IPV4, 1200, .frag = 0x4000, .proto = 1, .icmp_type = 13},
		 SENT},
		{"IPv4 ICMP destination unreachable",
		 {ET_IPV4, 1200, .frag = 0x4000, .proto = 1, .icmp_type = 3},
		 NOT_SENT},
		{"IPv4 ICMP source quench",
		 {ET_IPV4, 1200, .frag = 0x4000, .proto = 1, .icmp_type = 4},
		 NOT_SENT},
		{"IPv4 ICMP redirect",
		 {ET_IPV4, 1200, .frag = 0x4000, .proto = 1, .icmp_type = 5},
		 NOT_SENT},
		{"IPv4 ICMP time exceeded",
		 {ET_IPV4, 1200, .frag = 0x4000, .proto = 1, .icmp_type = 11},
		 NOT_SENT},
		{"IPv4 ICMP parameter problem",
		 {ET_IPV4, 1200, .frag = 0x4000, .proto = 1, .icmp_type = 12},
		 NOT_SENT},
		{"IPv4 with IP options", {ET_IPV4, 1200, .frag = 0x4000, .ihl = 7}, SENT},
		{"IPv4 non-first fragment, DF", {ET_IPV4, 1200, .frag = 0x4000 | 185}, NOT_SENT},
		{"IPv4 non-first fragment, no DF", {ET_IPV4, 1200, .frag = 0x2000 | 185}, DF_CLEAR},
		{"IPv4 no DF", {ET_IPV4, 1200}, DF_CLEAR},
		{"IPv4 no DF, MF", {ET_IPV4, 1200, .frag = 0x2000}, DF_CLEAR},
		{"IPv4 source 0.0.0.0", {ET_IPV4, 1200, .frag = 0x4000, .src = zero4}, NOT_SENT},
		{"IPv4 source 224.0.0.5", {ET_IPV4, 1200, .frag = 0x4000, .src = mc4a}, NOT_SENT},
		{"IPv4 source 239.255.0.1", {ET_IPV4, 1200, .frag = 0x4000, .src = mc4b}, NOT_SENT},
		{"IPv4 source 255.255.255.255",
		 {ET_IPV4, 1200, .frag = 0x4000, .src = bc4},
		 NOT_SENT},
		{"IPv4 source 127.0.0.1", {ET_IPV4, 1200, .frag = 0x4000, .src = lo4}, NOT_SENT},
		{"IPv4 source 240.0.0.1 (class E)",
		 {ET_IPV4, 1200, .frag = 0x4000, .src = ce4},
		 NOT_SENT},
		{"IPv4 source 254.1.2.3 (class E)",
		 {ET_IPV4, 1200, .frag = 0x4000, .src = ce4b},
		 NOT_SENT},
		{"IPv4 source 223.255.255.254", {ET_IPV4, 1200, .frag = 0x4000, .src = last4}, SENT},
		{"IPv4 destination 224.0.0.1",
		 {ET_IPV4, 1200, .frag = 0x4000, .dst = mcd4a},
		 NOT_SENT},
		{"IPv4 destination 239.1.2.3",
		 {ET_IPV4, 1200, .frag = 0x4000, .dst = mcd4b},
		 NOT_SENT},
		/* the ICMP's source would be the packet's destination: a unicast
		 * address a host accepts, or no ICMP (RFC 1812 4.3.2.7) */
		{"IPv4 destination 0.0.0.0", {ET_IPV4, 1200, .frag = 0x4000, .dst = zero4}, NOT_SENT},
		{"IPv4 destination 127.0.0.1", {ET_IPV4, 1200, .frag = 0x4000, .dst = lo4}, NOT_SENT},
		{"IPv4 destination 240.0.0.1 (class E)",
		 {ET_IPV4, 1200, .frag = 0x4000, .dst = ce4},
		 NOT_SENT},
		{"IPv4 destination 254.1.2.3 (class E)",
		 {ET_IPV4, 1200, .frag = 0x4000, .dst = ce4b},
		 NOT_SENT},
		{"IPv4 destination 255.255.255.255",
		 {ET_IPV4, 1200, .frag = 0x4000, .dst = bc4},
		 NOT_SENT},
		{"IPv4 destination 223.255.255.254",
		 {ET_IPV4, 1200, .frag = 0x4000, .dst = last4},
		 SENT},
		/* no ICMP for a frame sent to a group MAC (RFC 1812 4.3.2.7,
		 * RFC 4443 2.4 e.3), whatever its IP destination */
		{"IPv4 to MAC ff:ff:ff:ff:ff:ff", {ET_IPV4, 1200, .frag = 0x4000, .mac = bc_mac},
		 NOT_SENT},
		{"IPv4 to MAC 01:00:5e:00:00:01", {ET_IPV4, 1200, .frag = 0x4000, .mac = mc4_mac},
		 NOT_SENT},
		{"IPv4 to MAC 03:00:5e:10:20:30", {ET_IPV4, 1200, .frag = 0x4000, .mac = grp_mac},
		 NOT_SENT},
		{"IPv4 to MAC 00:00:5e:10:20:30", {ET_IPV4, 1200, .frag = 0x4000, .mac = uni_mac},
		 SENT},
		{"IPv4 no DF to MAC ff:ff:ff:ff:ff:ff", {ET_IPV4, 1200, .mac = bc_mac}, NOT_SENT},
		{"IPv6 to MAC 33:33:00:00:00:01", {ET_IPV6, 1200, .mac = mc6_mac}, NOT_SENT},
		{"IPv6 to MAC ff:ff:ff:ff:ff:ff", {ET_IPV6, 1200, .mac = bc_mac}, NOT_SENT},
		{"IPv6 destination ::", {ET_IPV6, 1200, .dst = zero6}, NOT_SENT},
		{"IPv6 destination ::1", {ET_IPV6, 1200, .dst = lo6}, NOT_SENT},
		{"IPv6 UDP", {ET_IPV6, 1200}, SENT},
		{"IPv6 ICMPv6 echo request", {ET_IPV6, 1200, .proto = 58, .icmp_type = 128}, SENT},
		{"IPv6 ICMPv6 echo reply", {ET_IPV6, 1200, .proto = 58, .icmp_type = 129}, SENT},
		{"IPv6 ICMPv6 destination unreachable",
		 {ET_IPV6, 1200, .proto = 58, .icmp_type = 1},
		 NOT_SENT},
		{"IPv6 ICMPv6 packet too big",
		 {ET_IPV6, 1200, .proto = 58, .icmp_type = 2},
		 NOT_SENT},
		{"IPv6 ICMPv6 time exceeded",
		 {ET_IPV6, 1200, .proto = 58, .icmp_type = 3},
		 NOT_SENT},
		{"IPv6 ICMPv6 parameter problem",
		 {ET_IPV6, 1200, .proto = 58, .icmp_type = 4},
		 NOT_SENT},
		{"IPv6 ICMPv6 type 127", {ET_IPV6, 1200, .proto = 58, .icmp_type = 127}, NOT_SENT},
		{"IPv6 hop-by-hop + UDP", {ET_IPV6, 1200, .hbh = true}, SENT},
		{"IPv6 hop-by-hop + ICMPv6 packet too big",
		 {ET_IPV6, 1200, .proto = 58, .icmp_type = 2, .hbh = true},
		 NOT_SENT},
		{"IPv6 source ::", {ET_IPV6, 1200, .src = zero6}, NOT_SENT},
		{"IPv6 source ff02::1", {ET_IPV6, 1200, .src = mc6a}, NOT_SENT},
		{"IPv6 source ff0e::1234", {ET_IPV6, 1200, .src = mc6b}, NOT_SENT},
		/* RFC 4443 2.4 (e.3): packet too big is the exception for multicast */
		{"IPv6 destination ff02::1", {ET_IPV6, 1200, .dst = mc6a}, NOT_SENT},
		{"non-IP 0x88b5", {ET_RAW, 1200}, NOT_SENT},
		{"ARP EtherType", {ET_ARP, 1200}, NOT_SENT},
	};
	static const unsigned int mf[QGW_NB_PORTS] = {0, 0};
	static const struct cflow f = {{{1, {{0x88a8, 100, 2}}}, {1, {{0x9100, 200, 4}}}},
				       "\"mtu\": 1000, " FAST_ICMP};
	static uint8_t buf[FRAME_MAX];
	struct qgw_table *t = make_table(mf, &f, 1, NULL);
	unsigned int avail = pool_avail();
	const struct wtag tags[2] = {{0x88a8, 0x6064}, ctags[0]};

	for (unsigned int i = 0; i < RTE_DIM(cases); i++) {
		const char *what = cases[i].what;
		struct qgw_flow_counters fc = c->flow[0][0];
		uint64_t head = rings[0]->head;
		struct qgw_dp_out out, back;
		unsigned int len = frame_write(buf, tags, 2, &cases[i].s, (uint8_t)(i * 11));
		struct rte_mbuf *m = mbuf_from(buf, len);
		bool sent = cases[i].want == SENT;

		run_burst(t, 0, &m, 1, &out, &back, what);
		CHECK_EQ(out.nb, 0, what);
		CHECK_EQ(back.nb, sent, what);
		CHECK_EQ(c->flow[0][0].drop[QGW_DROP_OVERSIZE] - fc.drop[QGW_DROP_OVERSIZE], 1,
			 what);
		CHECK_EQ(c->flow[0][0].icmp_sent - fc.icmp_sent, sent, what);
		CHECK_EQ(c->flow[0][0].df_clear - fc.df_clear, cases[i].want == DF_CLEAR, what);
		CHECK_EQ(c->flow[0][0].icmp_suppressed, fc.icmp_suppressed, what);
		check_event(what, 0, head, buf, len, 22, 2, 0, 1000,
			    sent			? QGW_EV_ICMP_SENT
			    : cases[i].want == DF_CLEAR ? QGW_EV_DF_CLEAR
							: QGW_EV_DROPPED);
		if (sent && back.nb == 1)
			check_icmp(what, back.pkts[0], buf, 22, 1000,
				   quote_len(cases[i].s.etype == ET_IPV6, 1200, 1200));
		finish(0, &out, &back, what);
	}
	CU_ASSERT_EQUAL(pool_avail(), avail);
	qgw_table_free(t);
}

/* ---------------------------------------------------------------------- */
/* Quote lengths */

static void
test_icmp_quote(void)
{
	static const struct {
		const char *what;
		unsigned int flow; /* 0: mtu 500, 1: mtu 1000 */
		struct l3spec s;
		unsigned int quote;
	} cases[] = {
		{"IPv4 501 bytes: all, odd length", 0, {ET_IPV4, 501, .frag = 0x4000}, 501},
		{"IPv4 548 bytes: all", 0, {ET_IPV4, 548, .frag = 0x4000}, 548},
		{"IPv4 549 bytes: 548", 0, {ET_IPV4, 549, .frag = 0x4000}, 548},
		{"IPv4 1400 bytes: 548", 0, {ET_IPV4, 1400, .frag = 0x4000}, 548},
		{"IPv4 of 301 bytes in 1000 bytes of frame: the packet",
		 0,
		 {ET_IPV4, 1000, 301, 0x4000},
		 301},
		{"IPv4 with 40 bytes of options",
		 0,
		 {ET_IPV4, 700, .frag = 0x4000, .ihl = 15},
		 548},
		{"IPv6 1001 bytes: all, odd length", 1, {ET_IPV6, 1001}, 1001},
		{"IPv6 1232 bytes: all", 1, {ET_IPV6, 1232}, 1232},
		{"IPv6 1233 bytes: 1232", 1, {ET_IPV6, 1233}, 1232},
		{"IPv6 1500 bytes: 1232", 1, {ET_IPV6, 1500}, 1232},
		{"IPv6 of 1101 bytes in 1400 bytes of frame: the packet",
		 1,
		 {ET_IPV6, 1400, 1101},
		 1101},
	};
	static const unsigned int mf[QGW_NB_PORTS] = {0, 0};
	static const struct cflow flows[] = {
		{{{1, {{0x88a8, 20, 1}}}, {1, {{0x88a8, 20, 1}}}}, "\"mtu\": 500, " FAST_ICMP},
		{{{1, {{0x88a8, 21, 1}}}, {1, {{0x88a8, 21, 1}}}}, "\"mtu\": 1000, " FAST_ICMP},
	};
	static uint8_t buf[FRAME_MAX];
	struct qgw_table *t = make_table(mf, flows, RTE_DIM(flows), NULL);
	unsigned int avail = pool_avail();

	for (unsigned int i = 0; i < RTE_DIM(cases); i++) {
		const char *what = cases[i].what;
		unsigned int in = i & 1, fl = cases[i].flow;
		const struct wtag tags[1] = {{0x88a8, (uint16_t)(0xe000 | (20 + fl))}};
		unsigned int len = frame_write(buf, tags, 1, &cases[i].s, (uint8_t)(i * 5));
		struct rte_mbuf *m = mbuf_from(buf, len);
		uint32_t limit = fl ? 1000 : 500;
		struct qgw_dp_out out, back;
		uint64_t head = rings[in]->head;

		run_burst(t, in, &m, 1, &out, &back, what);
		CHECK_EQ(out.nb, 0, what);
		CHECK_EQ(back.nb, 1, what);
		check_event(what, in, head, buf, len, 18, 1, fl, limit, QGW_EV_ICMP_SENT);
		if (back.nb == 1) {
			CHECK_EQ(back.dir[0]->slot, fl, what);
			check_icmp(what, back.pkts[0], buf, 18, limit, cases[i].quote);
		}
		finish(in, &out, &back, what);
	}
	CU_ASSERT_EQUAL(pool_avail(), avail);
	qgw_table_free(t);
}

/* An oversize frame with no headroom in its buffer is answered all the same. */
static void
test_icmp_no_headroom(void)
{
	static const unsigned int mf[QGW_NB_PORTS] = {0, 0};
	static const struct cflow f = {{{1, {{0x88a8, 100, 2}}}, {1, {{0x9100, 200, 4}}}},
				       "\"mtu\": 1000, " FAST_ICMP};
	static const struct {
		const char *what;
		struct l3spec s;
		uint16_t headroom;
	} cases[] = {
		{"IPv4, headroom 0", {ET_IPV4, 1100, .frag = 0x4000}, 0},
		{"IPv4, headroom 20", {ET_IPV4, 1100, .frag = 0x4000}, 20},
		{"IPv6, headroom 0", {ET_IPV6, 1100}, 0},
		{"IPv6, headroom 40", {ET_IPV6, 1100}, 40},
	};
	static uint8_t buf[FRAME_MAX];
	struct qgw_table *t = make_table(mf, &f, 1, NULL);
	unsigned int avail = pool_avail();
	const struct wtag tags[1] = {{0x88a8, 0x0064}};

	for (unsigned int i = 0; i < RTE_DIM(cases); i++) {
		const char *what = cases[i].what;
		unsigned int len = frame_write(buf, tags, 1, &cases[i].s, (uint8_t)i);
		struct rte_mbuf *m = mbuf_headroom(buf, len, cases[i].headroom);
		struct qgw_flow_counters fc = c->flow[0][0];
		uint64_t head = rings[0]->head;
		struct qgw_dp_out out, back;

		run_burst(t, 0, &m, 1, &out, &back, what);
		CHECK_EQ(back.nb, 1, what);
		CHECK_EQ(c->flow[0][0].icmp_suppressed, fc.icmp_suppressed, what);
		check_event(what, 0, head, buf, len, 18, 1, 0, 1000,
			    back.nb ? QGW_EV_ICMP_SENT : QGW_EV_DROPPED);
		if (back.nb == 1)
			check_icmp(what, back.pkts[0], buf, 18, 1000,
				   quote_len(cases[i].s.etype == ET_IPV6, 1100, 1100));
		finish(0, &out, &back, what);
	}
	CU_ASSERT_EQUAL(pool_avail(), avail);
	qgw_table_free(t);
}

/* ---------------------------------------------------------------------- */
/* Rate limit */

/* Send nb oversize frames of flow fl (VID 10 + fl on both ports) in one burst. */
static void
rate_burst(const struct qgw_table *t, unsigned int in, unsigned int fl, unsigned int nb, bool df,
	   unsigned int want_sent, unsigned int want_suppressed, const char *what)
{
	static uint8_t buf[QGW_BURST][2048];
	const struct wtag tags[1] = {{0x88a8, (uint16_t)(10 + fl)}};
	struct qgw_flow_counters fc = c->flow[fl][in];
	uint64_t head = rings[in]->head;
	struct rte_mbuf *pkts[QGW_BURST];
	struct qgw_dp_out out, back;
	unsigned int len[QGW_BURST];

	for (unsigned int i = 0; i < nb; i++) {
		struct l3spec s = {ET_IPV4, 1600, .frag = df ? 0x4000 : 0};

		len[i] = frame_write(buf[i], tags, 1, &s, (uint8_t)(i * 31 + fl));
		pkts[i] = mbuf_from(buf[i], len[i]);
	}
	run_burst(t, in, pkts, (uint16_t)nb, &out, &back, what);
	CHECK_EQ(back.nb, want_sent, what);
	CHECK_EQ(c->flow[fl][in].icmp_sent - fc.icmp_sent, want_sent, what);
	CHECK_EQ(c->flow[fl][in].icmp_suppressed - fc.icmp_suppressed, want_suppressed, what);
	CHECK_EQ(c->flow[fl][in].drop[QGW_DROP_OVERSIZE] - fc.drop[QGW_DROP_OVERSIZE], nb, what);
	CHECK_EQ(rings[in]->head - head, nb, what);
	/* The first want_sent frames were answered, in order; the others were not. */
	for (unsigned int i = 0; i < nb && rings[in]->head - head == nb; i++) {
		struct qgw_event e;

		read_event(what, in, head + i, &e);
		CHECK_EQ(e.action,
			 !df		 ? QGW_EV_DF_CLEAR
			 : i < want_sent ? QGW_EV_ICMP_SENT
					 : QGW_EV_ICMP_SUPPRESSED,
			 what);
		if (i < back.nb)
			check_icmp(what, back.pkts[i], buf[i], 18, 1500, ICMP4_QUOTE);
	}
	finish(in, &out, &back, what);
}

/* ---------------------------------------------------------------------- */
/* Config values, read back from the built table at both ends of their range */

static void
test_config_limits(void)
{
	static const unsigned int mf[QGW_NB_PORTS] = {0, 0};
	static const struct {
		const char *extra;
		bool ok;
		uint32_t burst, rate; /* 0: not checked */
		int mss4, mss6;	      /* -1: not checked */
		unsigned int warnings;
	} cases[] = {
		{"\"icmp_burst\": 1", true, 1, 0, -1, -1, 0},
		{"\"icmp_burst\": 65535", true, 65535, 0, -1, -1, 0},
		{"\"icmp_burst\": 65536", true, 65536, 0, -1, -1, 0},
		{"\"icmp_burst\": 100000", true, 100000, 0, -1, -1, 0},
		{"\"icmp_burst\": 1000000", true, 1000000, 0, -1, -1, 0},
		{"\"icmp_burst\": 0", false, 0, 0, -1, -1, 0},
		{"\"icmp_burst\": 1000001", false, 0, 0, -1, -1, 0},
		{"\"icmp_rate\": 1000000", true, 0, 1000000, -1, -1, 0},
		{"\"icmp_rate\": 1", true, 0, 1, -1, -1, 0},
		{"\"icmp_rate\": 1000001", false, 0, 0, -1, -1, 0},
		/* an integer clamp: IPv4 as given, at most mtu - 40; IPv6 at most mtu - 60 */
		{"\"mtu\": 1400, \"mss_clamp\": 1360", true, 0, 0, 1360, 1340, 0},
		{"\"mtu\": 1400, \"mss_clamp\": 1340", true, 0, 0, 1340, 1340, 0},
		{"\"mtu\": 1400, \"mss_clamp\": 1000", true, 0, 0, 1000, 1000, 0},
		{"\"mtu\": 1400, \"mss_clamp\": 1361", false, 0, 0, -1, -1, 0},
		{"\"mtu\": 1400, \"mss_clamp\": 9000", false, 0, 0, -1, -1, 0},
		{"\"mtu\": 1400, \"mss_clamp\": 88", true, 0, 0, 88, 88, 0},
		{"\"mtu\": 1400, \"mss_clamp\": 87", false, 0, 0, -1, -1, 0},
		{"\"mtu\": 1400, \"mss_clamp\": true", true, 0, 0, 1360, 1340, 0},
		{"\"mtu\": 1400, \"mss_clamp\": false", true, 0, 0, 0, 0, 0},
		{"\"mss_clamp\": 1460", true, 0, 0, 1460, 1440, 0},
		{"\"mss_clamp\": 1461", false, 0, 0, -1, -1, 0},
		{"\"mtu\": 150, \"mss_clamp\": 110", true, 0, 0, 110, 90, 1},
		{"\"mtu\": 140, \"mss_clamp\": 100", true, 0, 0, 100, 0, 1},
		{"\"mtu\": 128, \"mss_clamp\": 88", true, 0, 0, 88, 0, 1},
		{"\"mtu\": 127, \"mss_clamp\": 88", false, 0, 0, -1, -1, 0},
		/* mtu: valid down to 68, with a warning where hosts ignore the ICMP */
		{"\"mtu\": 68", true, 0, 0, 0, 0, 1},
		{"\"mtu\": 551", true, 0, 0, 511, 491, 1},
		{"\"mtu\": 552", true, 0, 0, 512, 492, 1},
		{"\"mtu\": 1279", true, 0, 0, 1239, 1219, 1},
		{"\"mtu\": 1280", true, 0, 0, 1240, 1220, 0},
		{"\"mtu\": 67", false, 0, 0, -1, -1, 0},
	};

	for (unsigned int i = 0; i < RTE_DIM(cases); i++) {
		struct cflow f = {{{1, {{0x88a8, 100, 0}}}, {1, {{0x9100, 200, 0}}}},
				  cases[i].extra};
		struct qgw_errors errs = {0};
		char *doc = config_doc(mf, &f, 1);
		struct qgw_config *cfg = qgw_config_load_string(doc, &errs);
		const char *what = cases[i].extra;
		struct qgw_table *t;

		free(doc);
		CHECK_EQ(cfg != NULL, cases[i].ok, what);
		if (cfg == NULL) {
			CHECK_EQ(errs.nb > 0, true, what);
			qgw_errors_clear(&errs);
			continue;
		}
		qgw_errors_clear(&errs);
		CHECK_EQ(cfg->warnings.nb, cases[i].warnings, what);
		t = qgw_table_build(cfg, NULL, 1, SOCKET_ID_ANY);
		CU_ASSERT_PTR_NOT_NULL_FATAL(t);
		for (unsigned int p = 0; p < QGW_NB_PORTS; p++) {
			const struct qgw_dp_dir *d = &t->port[p].dir[1];

			if (cases[i].burst)
				CHECK_EQ(d->icmp_burst, cases[i].burst, what);
			if (cases[i].rate)
				CHECK_EQ(d->icmp_cost, rte_get_tsc_hz() / cases[i].rate, what);
			if (cases[i].mss4 >= 0) {
				CHECK_EQ(d->mss4, (unsigned int)cases[i].mss4, what);
				CHECK_EQ(d->mss6, (unsigned int)cases[i].mss6, what);
			}
		}
		qgw_table_free(t);
		qgw_config_free(cfg);
	}
}

/* An icmp_burst over 16 bits is the depth it says: 65536 answers 96 frames at once. */
static void
test_icmp_burst_wide(void)
{
	static const unsigned int mf[QGW_NB_PORTS] = {0, 0};
	static const struct cflow flows[] = {
		{{{1, {{0x88a8, 10, 0}}}, {1, {{0x88a8, 10, 0}}}},
		 "\"icmp_rate\": 1, \"icmp_burst\": 65536"},
	};
	struct qgw_table *t = make_table(mf, flows, RTE_DIM(flows), NULL);
	unsigned int avail = pool_avail();

	for (unsigned int b = 0; b < 3; b++)
		rate_burst(t, 0, 0, QGW_BURST, true, QGW_BURST, 0, "icmp_burst 65536");
	CU_ASSERT_EQUAL(pool_avail(), avail);
	qgw_table_free(t);
}

static void
test_icmp_rate(void)
{
	static const unsigned int mf[QGW_NB_PORTS] = {0, 0};
	static const struct cflow flows[] = {
		{{{1, {{0x88a8, 10, 0}}}, {1, {{0x88a8, 10, 0}}}},
		 "\"icmp_rate\": 1, \"icmp_burst\": 3"},
		{{{1, {{0x88a8, 11, 0}}}, {1, {{0x88a8, 11, 0}}}},
		 "\"icmp_rate\": 1, \"icmp_burst\": 3"},
		{{{1, {{0x88a8, 12, 0}}}, {1, {{0x88a8, 12, 0}}}}, "\"icmp_rate\": 0"},
		{{{1, {{0x88a8, 13, 0}}}, {1, {{0x88a8, 13, 0}}}},
		 "\"icmp_rate\": 20, \"icmp_burst\": 1"},
		{{{1, {{0x88a8, 14, 0}}}, {1, {{0x88a8, 14, 0}}}}, NULL},
	};
	uint32_t mtu[RTE_DIM(flows)];
	struct qgw_table *t = make_table(mf, flows, RTE_DIM(flows), mtu);
	unsigned int avail = pool_avail();

	CHECK_EQ(mtu[0], 1500, "default mtu");
	/* icmp_burst 3: three answered at once, then the bucket is empty */
	rate_burst(t, 0, 0, 6, true, 3, 3, "burst 3, 6 frames");
	rate_burst(t, 0, 0, 1, true, 0, 1, "burst 3, still empty");
	/* per flow direction: the other direction and another flow have their own */
	rate_burst(t, 1, 0, 4, true, 3, 1, "burst 3, other direction");
	rate_burst(t, 0, 1, 3, true, 3, 0, "burst 3, other flow");
	/* DF clear takes no token and is not suppressed */
	rate_burst(t, 0, 1, 2, false, 0, 0, "no DF, bucket empty");
	/* icmp_rate 0: never */
	rate_burst(t, 0, 2, 3, true, 0, 3, "icmp_rate 0");
	rate_burst(t, 1, 2, 1, true, 0, 1, "icmp_rate 0, other direction");
	/* icmp_rate 20 / burst 1: one token every 50 ms */
	rate_burst(t, 0, 3, 1, true, 1, 0, "rate 20: first");
	rate_burst(t, 0, 3, 1, true, 0, 1, "rate 20: second at once");
	rte_delay_ms(120);
	rate_burst(t, 0, 3, 1, false, 0, 0, "rate 20: no DF after 120 ms");
	rate_burst(t, 0, 3, 1, true, 1, 0, "rate 20: after 120 ms");
	rate_burst(t, 0, 3, 1, true, 0, 1, "rate 20: again at once");
	/* defaults: 100 a second, 10 deep */
	rate_burst(t, 0, 4, 12, true, 10, 2, "defaults, 12 frames");
	CU_ASSERT_EQUAL(pool_avail(), avail);
	qgw_table_free(t);
}

/* ---------------------------------------------------------------------- */
/* Accounting of a mixed burst and of qgw_dp_back_done() */

static void
test_accounting(void)
{
	static const unsigned int mf[QGW_NB_PORTS] = {0, 0};
	static const struct cflow f = {{{1, {{0x88a8, 100, 2}}}, {1, {{0x9100, 200, 4}}}},
				       "\"mtu\": 1000, " FAST_ICMP};
	static const struct {
		uint16_t vid; /* 999: no flow */
		struct l3spec s;
		int out;  /* index in out, -1 */
		int back; /* index in back, -1 */
	} frames[] = {
		{100, {ET_IPV4, 500, .frag = 0x4000}, 0, -1},
		{100, {ET_IPV4, 1200, .frag = 0x4000}, -1, 0},
		{100, {ET_IPV6, 600}, 1, -1},
		{100, {ET_IPV6, 1300}, -1, 1},
		{100, {ET_RAW, 1100}, -1, -1},
		{999, {ET_IPV4, 500}, -1, -1},
		{100, {ET_IPV4, 1200}, -1, -1},
		{100, {ET_IPV4, 1000, .frag = 0x4000}, 2, -1},
		{100, {ET_IPV4, 1001, .frag = 0x4000}, -1, 2},
	};
	static uint8_t buf[RTE_DIM(frames)][2048];
	static uint8_t exp[2048];
	struct qgw_table *t = make_table(mf, &f, 1, NULL);
	unsigned int avail = pool_avail(), len[RTE_DIM(frames)];
	struct rte_mbuf *pkts[RTE_DIM(frames)];
	struct qgw_port_counters pc;
	struct qgw_dp_out out, back;
	uint64_t bytes0;

	for (unsigned int pass = 0; pass < 2; pass++) {
		const char *what = pass ? "mixed burst, ICMP queue full" : "mixed burst";
		uint16_t sent = pass ? 1 : 0;

		no_rings = pass == 1; /* the event log is optional */
		for (unsigned int i = 0; i < RTE_DIM(frames); i++) {
			const struct wtag tags[1] = {{0x88a8, frames[i].vid}};

			len[i] = frame_write(buf[i], tags, 1, &frames[i].s, (uint8_t)(i + pass));
			pkts[i] = mbuf_from(buf[i], len[i]);
		}
		run_burst(t, 0, pkts, RTE_DIM(frames), &out, &back, what);
		no_rings = false;
		CHECK_EQ(out.nb, 3, what);
		CHECK_EQ(back.nb, 3, what);
		for (unsigned int i = 0; i < RTE_DIM(frames); i++) {
			int o = frames[i].out, b = frames[i].back;

			if (o >= 0 && o < out.nb)
				check_frame(what, out.pkts[o], exp,
					    egress_frame(exp, buf[i], len[i], 1, &f.port[1]));
			if (b >= 0 && b < back.nb) {
				CHECK_EQ(back.dir[b]->slot, 0, what);
				check_icmp(what, back.pkts[b], buf[i], 18, 1000,
					   quote_len(frames[i].s.etype == ET_IPV6, frames[i].s.len,
						     frames[i].s.len));
			}
		}
		CHECK_EQ(c->port[0].drop[QGW_DROP_OVERSIZE], 5 * (pass + 1), what);
		CHECK_EQ(c->port[0].drop[QGW_DROP_NO_FLOW], pass + 1, what);
		CHECK_EQ(c->flow[0][0].pkts, 8 * (pass + 1), what);
		CHECK_EQ(c->flow[0][0].icmp_sent, 3 * (pass + 1), what);
		CHECK_EQ(c->flow[0][0].df_clear, pass + 1, what);
		CHECK_EQ(c->flow[0][0].max_oversize, 18 + 1300, what);
		CHECK_EQ(c->flow[0][0].max_len, 18 + 1300, what);
		CHECK_EQ(rings[0]->head, 5, what); /* the second pass had no rings */

		pc = c->port[0];
		bytes0 = back.nb ? back.pkts[0]->pkt_len : 0;
		qgw_dp_tx_done(0, &out, out.nb, c);
		if (pass == 0) {
			finish(0, &(struct qgw_dp_out){.nb = 0}, &back, what);
		} else {
			/* the driver takes one ICMP error: the others are counted and freed */
			qgw_dp_back_done(0, &back, sent, c);
			CHECK_EQ(c->port[0].icmp_sent - pc.icmp_sent, sent, what);
			CHECK_EQ(c->port[0].tx_pkts - pc.tx_pkts, sent, what);
			CHECK_EQ(c->port[0].tx_bytes - pc.tx_bytes, bytes0, what);
			CHECK_EQ(c->port[0].icmp_tx_full - pc.icmp_tx_full, back.nb - sent, what);
			CHECK_EQ(c->port[0].drop[QGW_DROP_TX_FULL], 0, what);
			rte_pktmbuf_free_bulk(back.pkts, sent);
		}
		CHECK_EQ(c->port[1].tx_pkts, 3 * (pass + 1), what);
		CHECK_EQ(c->port[1].icmp_sent, 0, what);
		rte_pktmbuf_free_bulk(out.pkts, out.nb);
	}
	CU_ASSERT_EQUAL(c->port[0].rx_pkts, 2 * RTE_DIM(frames));
	/* rx(A) = tx(B) - icmp_sent(B) + drops(A) */
	CU_ASSERT_EQUAL(c->port[0].rx_pkts,
			c->port[1].tx_pkts - c->port[1].icmp_sent + sum_drops(c->port[0].drop));
	CU_ASSERT_EQUAL(pool_avail(), avail);
	qgw_table_free(t);
}

/* ---------------------------------------------------------------------- */
/* Jumbo and chained frames */

static void
test_jumbo(void)
{
	static const unsigned int mf9k[QGW_NB_PORTS] = {9216, 9216}, mf[QGW_NB_PORTS] = {0, 0};
	static const struct cflow fj = {
		{{1, {{0x88a8, 100, 1}}}, {2, {{0x88a8, 200, 2}, {0x8100, 30, 3}}}},
		"\"mtu\": 9190, " FAST_ICMP};
	static const struct cflow fs = {{{1, {{0x88a8, 100, 1}}}, {1, {{0x9100, 200, 2}}}},
					FAST_ICMP};
	static const unsigned int cuts5[] = {1800, 1800, 1800, 1800, 1800};
	static const unsigned int cuts100[] = {100, 1900, 1900, 1900, 1900};
	static const struct {
		const char *what;
		bool small; /* the 1522 table (mtu 1500), else the 9216 one (mtu 9190) */
		unsigned int in, nb_ctags;
		struct l3spec s;
		const unsigned int *cuts;
		unsigned int nb_cuts;
		bool pass;
		uint32_t limit;
	} cases[] = {
		/* 14 + 8 pushed + 4 customer + 9190 = 9216: exactly max_frame */
		{"9190 IPv4 into 9216, a->b",
		 false,
		 0,
		 1,
		 {ET_IPV4, 9190, .frag = 0x4000},
		 cuts5,
		 5,
		 true,
		 9190},
		{"9191 IPv4 into 9216, a->b",
		 false,
		 0,
		 1,
		 {ET_IPV4, 9191, .frag = 0x4000},
		 cuts5,
		 5,
		 false,
		 9190},
		{"9190 IPv6 into 9216, b->a", false, 1, 1, {ET_IPV6, 9190}, cuts5, 5, true, 9190},
		{"9191 IPv6 into 9216, b->a", false, 1, 1, {ET_IPV6, 9191}, cuts5, 5, false, 9190},
		/* 9216 - 14 - 8 pushed - 8 customer: less than the mtu is left */
		{"9186 IPv4, 2 customer tags, a->b",
		 false,
		 0,
		 2,
		 {ET_IPV4, 9186, .frag = 0x4000},
		 cuts5,
		 5,
		 true,
		 9186},
		{"9187 IPv4, 2 customer tags: egress max_frame",
		 false,
		 0,
		 2,
		 {ET_IPV4, 9187, .frag = 0x4000},
		 cuts5,
		 5,
		 false,
		 9186},
		{"9000-byte IPv4 into 1522",
		 true,
		 0,
		 1,
		 {ET_IPV4, 8978, .frag = 0x4000},
		 cuts5,
		 4,
		 false,
		 1500},
		{"9000-byte IPv6 into 1522", true, 1, 1, {ET_IPV6, 8978}, cuts5, 4, false, 1500},
		{"9000-byte IPv4 without DF into 1522",
		 true,
		 0,
		 1,
		 {ET_IPV4, 8978},
		 cuts5,
		 4,
		 false,
		 1500},
		{"9000-byte non-IP into 1522", true, 1, 1, {ET_RAW, 8978}, cuts5, 4, false, 1500},
		{"IPv4 with a 100-byte first segment",
		 true,
		 0,
		 0,
		 {ET_IPV4, 7782, .frag = 0x4000},
		 cuts100,
		 5,
		 false,
		 1500},
		{"IPv6 with a 100-byte first segment",
		 true,
		 1,
		 0,
		 {ET_IPV6, 7782},
		 cuts100,
		 5,
		 false,
		 1500},
	};
	static uint8_t buf[FRAME_MAX], exp[FRAME_MAX];
	struct qgw_table *tj = make_table(mf9k, &fj, 1, NULL);
	struct qgw_table *ts = make_table(mf, &fs, 1, NULL);
	unsigned int avail = pool_avail();

	for (unsigned int i = 0; i < RTE_DIM(cases); i++) {
		const char *what = cases[i].what;
		const struct cflow *f = cases[i].small ? &fs : &fj;
		const struct cstack *pop = &f->port[cases[i].in];
		unsigned int in = cases[i].in, nt = 0, len, l3off, first;
		struct wtag tags[4];
		struct qgw_dp_out out, back;
		uint64_t head = rings[in]->head;
		struct qgw_flow_counters fc = c->flow[0][in];
		struct rte_mbuf *m;
		bool sent;

		for (unsigned int k = 0; k < pop->nb; k++)
			tags[nt++] = (struct wtag){pop->tag[k].tpid,
						   (uint16_t)(0x2000 | pop->tag[k].vid)};
		for (unsigned int k = 0; k < cases[i].nb_ctags; k++)
			tags[nt++] = ctags[k];
		len = frame_write(buf, tags, nt, &cases[i].s, (uint8_t)(i * 3));
		l3off = len - cases[i].s.len;
		first = cases[i].cuts[0];
		m = mbuf_segs(buf, len, cases[i].cuts, cases[i].nb_cuts);
		run_burst(cases[i].small ? ts : tj, in, &m, 1, &out, &back, what);
		if (cases[i].pass) {
			CHECK_EQ(out.nb, 1, what);
			CHECK_EQ(back.nb, 0, what);
			if (out.nb == 1)
				check_frame(what, out.pkts[0], exp,
					    egress_frame(exp, buf, len, pop->nb, &f->port[1 - in]));
			finish(in, &out, &back, what);
			continue;
		}
		sent = (cases[i].s.etype == ET_IPV4 && cases[i].s.frag) ||
		       cases[i].s.etype == ET_IPV6;
		CHECK_EQ(out.nb, 0, what);
		CHECK_EQ(back.nb, sent, what);
		CHECK_EQ(c->flow[0][in].max_oversize, RTE_MAX(fc.max_oversize, (uint64_t)len),
			 what);
		check_event(what, in, head, buf, len, l3off, nt, 0, cases[i].limit,
			    sent			  ? QGW_EV_ICMP_SENT
			    : cases[i].s.etype == ET_IPV4 ? QGW_EV_DF_CLEAR
							  : QGW_EV_DROPPED);
		/* The quote comes from the first segment. */
		if (back.nb == 1)
			check_icmp(what, back.pkts[0], buf, l3off, cases[i].limit,
				   RTE_MIN(quote_len(cases[i].s.etype == ET_IPV6, cases[i].s.len,
						     cases[i].s.len),
					   first - l3off));
		finish(in, &out, &back, what);
		CHECK_EQ(pool_avail(), avail, what);
	}
	CU_ASSERT_EQUAL(pool_avail(), avail);
	qgw_table_free(tj);
	qgw_table_free(ts);
}

/* ---------------------------------------------------------------------- */
/* TCP MSS clamping */

enum mss_want { CLAMPED, UNTOUCHED, BAD };

struct mss_case {
	const char *what;
	unsigned int flow, in, nb_ctags;
	bool v6;
	const char *ext; /* IPv6 extension headers before TCP: h(op-by-hop), d(est opts, 8),
			  * D(est opts, 16), r(outing), f(ragment); NULL: none */
	uint16_t frag;	 /* IPv4 flags + offset, or the IPv6 fragment header's offset + M */
	bool ip_opts;	 /* IPv4 with 4 bytes of options */
	uint8_t proto;	 /* 0: TCP */
	uint8_t flags;	 /* TCP flags */
	uint8_t doff;	 /* TCP data offset in words, 0: 5 + options / 4 */
	uint8_t nb_opt;
	uint8_t opt[40];
	unsigned int payload; /* TCP payload bytes: 02 04 ff ff repeated (an MSS option) */
	enum mss_want want;
	unsigned int mss_at; /* CLAMPED: offset of the MSS option in opt[] */
	uint16_t mss;	     /* CLAMPED: its value afterwards */
};

#define OPT_LINUX(hi, lo)                                                                          \
	20,                                                                                        \
	{                                                                                          \
		0x02, 0x04, hi, lo, 0x04, 0x02, 0x08, 0x0a, 0x00, 0x01, 0x02, 0x03, 0x00, 0x00,    \
			0x00, 0x00, 0x01, 0x03, 0x03, 0x07                                         \
	}

/*
 * F0: mtu 1400 (clamps 1360 / 1340); F1: mss_clamp false; F2: mss_clamp
 * 1200; F3: untagged on a, default mtu 1500 (1460 / 1440); F4: two tags on
 * a, untagged on b, default mtu 1496 (1456 / 1436).
 */
static const struct cflow mss_flows[] = {
	{{{1, {{0x88a8, 100, 2}}}, {1, {{0x9100, 200, 4}}}}, "\"mtu\": 1400, \"customer_tags\": 2"},
	{{{1, {{0x88a8, 101, 2}}}, {1, {{0x9100, 201, 4}}}}, "\"mss_clamp\": false"},
	{{{1, {{0x88a8, 102, 2}}}, {1, {{0x9100, 202, 4}}}}, "\"mss_clamp\": 1200"},
	{{{0, {{0}}}, {1, {{0x9100, 203, 5}}}}, NULL},
	{{{2, {{0x88a8, 103, 6}, {0x9100, 7, 7}}}, {0, {{0}}}}, NULL},
};

static const struct mss_case mss_cases[] = {
	/* lowered to the clamp */
	{"IPv4 SYN, Linux options, a->b", 0, 0, 0, false, NULL, 0x4000, false, 0, TCP_SYN, 0,
	 OPT_LINUX(0x05, 0xb4), 0, CLAMPED, 0, 1360},
	{"IPv4 SYN-ACK, b->a, 1 customer tag", 0, 1, 1, false, NULL, 0x4000, false, 0,
	 TCP_SYN | TCP_ACK, 0, OPT_LINUX(0x05, 0xb4), 0, CLAMPED, 0, 1360},
	{"IPv4 SYN, MSS 1361",
	 0,
	 0,
	 2,
	 false,
	 NULL,
	 0x4000,
	 false,
	 0,
	 TCP_SYN,
	 0,
	 4,
	 {0x02, 0x04, 0x05, 0x51},
	 0,
	 CLAMPED,
	 0,
	 1360},
	{"IPv4 SYN, MSS 65535",
	 0,
	 1,
	 0,
	 false,
	 NULL,
	 0,
	 false,
	 0,
	 TCP_SYN,
	 0,
	 4,
	 {0x02, 0x04, 0xff, 0xff},
	 0,
	 CLAMPED,
	 0,
	 1360},
	{"IPv4 SYN, MSS at an odd offset after one NOP",
	 0,
	 0,
	 0,
	 false,
	 NULL,
	 0x4000,
	 false,
	 0,
	 TCP_SYN,
	 0,
	 8,
	 {0x01, 0x02, 0x04, 0x05, 0xb4, 0x01, 0x01, 0x00},
	 0,
	 CLAMPED,
	 1,
	 1360},
	{"IPv4 SYN-ACK, MSS at an odd offset after three NOPs, 2 customer tags",
	 0,
	 1,
	 2,
	 false,
	 NULL,
	 0x4000,
	 false,
	 0,
	 TCP_SYN | TCP_ACK,
	 0,
	 8,
	 {0x01, 0x01, 0x01, 0x02, 0x04, 0xfe, 0x01, 0x00},
	 0,
	 CLAMPED,
	 3,
	 1360},
	{"MSS option cut by the data offset, after timestamps",
	 0,
	 0,
	 1,
	 false,
	 NULL,
	 0x4000,
	 false,
	 0,
	 TCP_SYN,
	 0,
	 16,
	 {0x01, 0x01, 0x08, 0x0a, 0x11, 0x22, 0x33, 0x44, 0, 0, 0, 0, 0x04, 0x02, 0x02, 0x04},
	 0,
	 BAD,
	 0,
	 0},
	{"IPv4 SYN, MSS last, after timestamps",
	 0,
	 0,
	 1,
	 false,
	 NULL,
	 0x4000,
	 false,
	 0,
	 TCP_SYN,
	 0,
	 16,
	 {0x01, 0x01, 0x08, 0x0a, 0x11, 0x22, 0x33, 0x44, 0, 0, 0, 0, 0x02, 0x04, 0x23, 0x28},
	 0,
	 CLAMPED,
	 12,
	 1360},
	{"IPv4 SYN with IP options", 0, 0, 0, false, NULL, 0x4000, true, 0, TCP_SYN, 0,
	 OPT_LINUX(0x05, 0xb4), 0, CLAMPED, 0, 1360},
	{"IPv4 SYN, first fragment", 0, 0, 0, false, NULL, 0x2000, false, 0, TCP_SYN, 0,
	 OPT_LINUX(0x05, 0xb4), 0, CLAMPED, 0, 1360},
	{"IPv4 SYN with 11 bytes of data", 0, 1, 1, false, NULL, 0x4000, false, 0, TCP_SYN, 0,
	 OPT_LINUX(0x05, 0xb4), 11, CLAMPED, 0, 1360},
	{"IPv6 SYN, a->b", 0, 0, 0, true, NULL, 0, false, 0, TCP_SYN, 0, OPT_LINUX(0x05, 0xa0), 0,
	 CLAMPED, 0, 1340},
	{"IPv6 SYN-ACK, b->a, 2 customer tags", 0, 1, 2, true, NULL, 0, false, 0, TCP_SYN | TCP_ACK,
	 0, OPT_LINUX(0x05, 0xa0), 0, CLAMPED, 0, 1340},
	{"IPv6 SYN, MSS at an odd offset",
	 0,
	 0,
	 1,
	 true,
	 NULL,
	 0,
	 false,
	 0,
	 TCP_SYN,
	 0,
	 8,
	 {0x01, 0x02, 0x04, 0x05, 0xa0, 0x01, 0x01, 0x00},
	 0,
	 CLAMPED,
	 1,
	 1340},
	{"IPv6 hop-by-hop", 0, 0, 0, true, "h", 0, false, 0, TCP_SYN, 0, OPT_LINUX(0x05, 0xa0), 0,
	 CLAMPED, 0, 1340},
	{"IPv6 routing", 0, 1, 1, true, "r", 0, false, 0, TCP_SYN, 0, OPT_LINUX(0x05, 0xa0), 0,
	 CLAMPED, 0, 1340},
	{"IPv6 destination options (16 bytes)", 0, 0, 2, true, "D", 0, false, 0, TCP_SYN, 0,
	 OPT_LINUX(0x05, 0xa0), 0, CLAMPED, 0, 1340},
	{"IPv6 first fragment", 0, 1, 0, true, "f", 0x0001, false, 0, TCP_SYN | TCP_ACK, 0,
	 OPT_LINUX(0x05, 0xa0), 0, CLAMPED, 0, 1340},
	{"IPv6 hop-by-hop, destination options, routing", 0, 0, 1, true, "hdr", 0, false, 0,
	 TCP_SYN, 0, OPT_LINUX(0x05, 0xa0), 0, CLAMPED, 0, 1340},
	{"IPv6 hop-by-hop, destination options, routing, first fragment", 0, 0, 1, true, "hdrf",
	 0x0001, false, 0, TCP_SYN, 0, OPT_LINUX(0x05, 0xa0), 0, CLAMPED, 0, 1340},
	{"IPv6 SYN, MSS at an odd offset behind hop-by-hop",
	 0,
	 1,
	 0,
	 true,
	 "h",
	 0,
	 false,
	 0,
	 TCP_SYN,
	 0,
	 8,
	 {0x01, 0x02, 0x04, 0x05, 0xa0, 0x01, 0x01, 0x00},
	 0,
	 CLAMPED,
	 1,
	 1340},
	{"mss_clamp 1200, IPv4", 2, 0, 1, false, NULL, 0x4000, false, 0, TCP_SYN, 0,
	 OPT_LINUX(0x05, 0xb4), 0, CLAMPED, 0, 1200},
	{"mss_clamp 1200, IPv6, b->a", 2, 1, 1, true, NULL, 0, false, 0, TCP_SYN | TCP_ACK, 0,
	 OPT_LINUX(0x05, 0xa0), 0, CLAMPED, 0, 1200},
	{"default mtu 1500, untagged, IPv4 MSS 1500",
	 3,
	 0,
	 0,
	 false,
	 NULL,
	 0x4000,
	 false,
	 0,
	 TCP_SYN,
	 0,
	 4,
	 {0x02, 0x04, 0x05, 0xdc},
	 0,
	 CLAMPED,
	 0,
	 1460},
	{"default mtu 1500, IPv6 MSS 1500, b->a",
	 3,
	 1,
	 1,
	 true,
	 NULL,
	 0,
	 false,
	 0,
	 TCP_SYN,
	 0,
	 4,
	 {0x02, 0x04, 0x05, 0xdc},
	 0,
	 CLAMPED,
	 0,
	 1440},
	{"default mtu 1496, 2 tags popped, IPv4", 4, 0, 0, false, NULL, 0x4000, false, 0, TCP_SYN,
	 0, OPT_LINUX(0x05, 0xb4), 0, CLAMPED, 0, 1456},
	{"default mtu 1496, untagged to 2 tags, IPv6", 4, 1, 1, true, NULL, 0, false, 0, TCP_SYN, 0,
	 OPT_LINUX(0x05, 0xb4), 0, CLAMPED, 0, 1436},
	/* left alone */
	{"IPv4 SYN, MSS equal to the clamp", 0, 0, 0, false, NULL, 0x4000, false, 0, TCP_SYN, 0,
	 OPT_LINUX(0x05, 0x50), 0, UNTOUCHED, 0, 0},
	{"IPv4 SYN, MSS 536", 0, 1, 1, false, NULL, 0x4000, false, 0, TCP_SYN, 0,
	 OPT_LINUX(0x02, 0x18), 0, UNTOUCHED, 0, 0},
	{"IPv6 SYN, MSS equal to the clamp", 0, 0, 0, true, NULL, 0, false, 0, TCP_SYN, 0,
	 OPT_LINUX(0x05, 0x3c), 0, UNTOUCHED, 0, 0},
	{"IPv4 SYN without options",
	 0,
	 0,
	 0,
	 false,
	 NULL,
	 0x4000,
	 false,
	 0,
	 TCP_SYN,
	 0,
	 0,
	 {0},
	 0,
	 UNTOUCHED,
	 0,
	 0},
	{"IPv4 SYN, options without MSS",
	 0,
	 1,
	 0,
	 false,
	 NULL,
	 0x4000,
	 false,
	 0,
	 TCP_SYN,
	 0,
	 8,
	 {0x01, 0x01, 0x04, 0x02, 0x01, 0x03, 0x03, 0x07},
	 0,
	 UNTOUCHED,
	 0,
	 0},
	{"IPv6 SYN without options",
	 0,
	 1,
	 0,
	 true,
	 NULL,
	 0,
	 false,
	 0,
	 TCP_SYN,
	 0,
	 0,
	 {0},
	 0,
	 UNTOUCHED,
	 0,
	 0},
	{"IPv4 ACK with an MSS option", 0, 0, 0, false, NULL, 0x4000, false, 0, TCP_ACK, 0,
	 OPT_LINUX(0x05, 0xb4), 0, UNTOUCHED, 0, 0},
	{"IPv4 RST with an MSS option", 0, 0, 0, false, NULL, 0x4000, false, 0, TCP_RST, 0,
	 OPT_LINUX(0x05, 0xb4), 0, UNTOUCHED, 0, 0},
	{"IPv6 FIN-ACK with an MSS option", 0, 1, 0, true, NULL, 0, false, 0, TCP_FIN | TCP_ACK, 0,
	 OPT_LINUX(0x05, 0xa0), 0, UNTOUCHED, 0, 0},
	{"IPv4 non-first fragment that looks like a SYN", 0, 0, 0, false, NULL, 0x2000 | 100, false,
	 0, TCP_SYN, 0, OPT_LINUX(0x05, 0xb4), 0, UNTOUCHED, 0, 0},
	{"IPv4 UDP that looks like a SYN", 0, 0, 0, false, NULL, 0x4000, false, 17, TCP_SYN, 0,
	 OPT_LINUX(0x05, 0xb4), 0, UNTOUCHED, 0, 0},
	{"IPv6 non-first fragment that looks like a SYN", 0, 0, 0, true, "f", 0x0320, false, 0,
	 TCP_SYN, 0, OPT_LINUX(0x05, 0xa0), 0, UNTOUCHED, 0, 0},
	{"IPv6 UDP that looks like a SYN", 0, 1, 0, true, NULL, 0, false, 17, TCP_SYN, 0,
	 OPT_LINUX(0x05, 0xa0), 0, UNTOUCHED, 0, 0},
	{"mss_clamp false, IPv4", 1, 0, 1, false, NULL, 0x4000, false, 0, TCP_SYN, 0,
	 OPT_LINUX(0xff, 0xff), 0, UNTOUCHED, 0, 0},
	{"mss_clamp false, IPv6, b->a", 1, 1, 0, true, NULL, 0, false, 0, TCP_SYN | TCP_ACK, 0,
	 OPT_LINUX(0xff, 0xff), 0, UNTOUCHED, 0, 0},
	{"mss_clamp false, malformed options",
	 1,
	 0,
	 0,
	 false,
	 NULL,
	 0x4000,
	 false,
	 0,
	 TCP_SYN,
	 0,
	 8,
	 {0x03, 0x00, 0x02, 0x04, 0x05, 0xb4, 0x01, 0x01},
	 0,
	 UNTOUCHED,
	 0,
	 0},
	{"mss_clamp 1200, MSS 1200",
	 2,
	 0,
	 0,
	 false,
	 NULL,
	 0x4000,
	 false,
	 0,
	 TCP_SYN,
	 0,
	 4,
	 {0x02, 0x04, 0x04, 0xb0},
	 0,
	 UNTOUCHED,
	 0,
	 0},
	{"default mtu 1500, untagged, IPv4 MSS 1460", 3, 0, 0, false, NULL, 0x4000, false, 0,
	 TCP_SYN, 0, OPT_LINUX(0x05, 0xb4), 0, UNTOUCHED, 0, 0},
	/* malformed or truncated: untouched and counted */
	{"option length 0 before MSS",
	 0,
	 0,
	 0,
	 false,
	 NULL,
	 0x4000,
	 false,
	 0,
	 TCP_SYN,
	 0,
	 8,
	 {0x03, 0x00, 0x02, 0x04, 0x05, 0xb4, 0x01, 0x01},
	 0,
	 BAD,
	 0,
	 0},
	{"option length 1 before MSS, b->a",
	 0,
	 1,
	 1,
	 false,
	 NULL,
	 0x4000,
	 false,
	 0,
	 TCP_SYN,
	 0,
	 8,
	 {0x08, 0x01, 0x02, 0x04, 0x05, 0xb4, 0x01, 0x01},
	 0,
	 BAD,
	 0,
	 0},
	{"option running past the data offset",
	 0,
	 0,
	 0,
	 false,
	 NULL,
	 0x4000,
	 false,
	 0,
	 TCP_SYN,
	 0,
	 8,
	 {0x01, 0x08, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00},
	 8,
	 BAD,
	 0,
	 0},
	{"MSS option running past the data offset",
	 0,
	 0,
	 1,
	 false,
	 NULL,
	 0x4000,
	 false,
	 0,
	 TCP_SYN,
	 0,
	 4,
	 {0x01, 0x01, 0x02, 0x04},
	 8,
	 BAD,
	 0,
	 0},
	{"option kind as the last byte, no length",
	 0,
	 1,
	 0,
	 false,
	 NULL,
	 0x4000,
	 false,
	 0,
	 TCP_SYN,
	 0,
	 4,
	 {0x01, 0x01, 0x01, 0x02},
	 8,
	 BAD,
	 0,
	 0},
	{"MSS option length 3",
	 0,
	 0,
	 0,
	 false,
	 NULL,
	 0x4000,
	 false,
	 0,
	 TCP_SYN,
	 0,
	 4,
	 {0x02, 0x03, 0x05, 0xb4},
	 0,
	 BAD,
	 0,
	 0},
	{"MSS option length 5",
	 0,
	 0,
	 0,
	 false,
	 NULL,
	 0x4000,
	 false,
	 0,
	 TCP_SYN,
	 0,
	 8,
	 {0x02, 0x05, 0x05, 0xb4, 0x00, 0x01, 0x01, 0x00},
	 0,
	 BAD,
	 0,
	 0},
	{"MSS option length 2",
	 0,
	 1,
	 0,
	 false,
	 NULL,
	 0x4000,
	 false,
	 0,
	 TCP_SYN,
	 0,
	 4,
	 {0x02, 0x02, 0x01, 0x00},
	 0,
	 BAD,
	 0,
	 0},
	{"data offset beyond the frame",
	 0,
	 0,
	 0,
	 false,
	 NULL,
	 0x4000,
	 false,
	 0,
	 TCP_SYN,
	 15,
	 4,
	 {0x01, 0x01, 0x01, 0x01},
	 0,
	 BAD,
	 0,
	 0},
	{"data offset 4", 0, 0, 0, false, NULL, 0x4000, false, 0, TCP_SYN, 4, 0, {0}, 0, BAD, 0, 0},
	{"IPv6 option length 0",
	 0,
	 0,
	 0,
	 true,
	 NULL,
	 0,
	 false,
	 0,
	 TCP_SYN,
	 0,
	 8,
	 {0x04, 0x00, 0x02, 0x04, 0x05, 0xa0, 0x01, 0x01},
	 0,
	 BAD,
	 0,
	 0},
	{"IPv6 data offset beyond the frame, b->a",
	 0,
	 1,
	 0,
	 true,
	 NULL,
	 0,
	 false,
	 0,
	 TCP_SYN,
	 12,
	 4,
	 {0x01, 0x01, 0x01, 0x01},
	 0,
	 BAD,
	 0,
	 0},
	{"IPv6 hop-by-hop, MSS length 3",
	 0,
	 0,
	 0,
	 true,
	 "h",
	 0,
	 false,
	 0,
	 TCP_SYN,
	 0,
	 4,
	 {0x02, 0x03, 0x05, 0x00},
	 0,
	 BAD,
	 0,
	 0},
};

/* IPv6 extension headers for the MSS cases; returns their length. */
static unsigned int
ext_write(uint8_t *p, const char *ext, uint16_t frag, uint8_t last, uint8_t *first)
{
	static const uint8_t type[128] = {
		['h'] = 0, ['d'] = 60, ['D'] = 60, ['r'] = 43, ['f'] = 44};
	unsigned int n = 0;

	*first = ext == NULL || ext[0] == '\0' ? last : type[(unsigned char)ext[0]];
	for (unsigned int i = 0; ext != NULL && ext[i] != '\0'; i++) {
		uint8_t nh = ext[i + 1] ? type[(unsigned char)ext[i + 1]] : last;
		uint8_t *h = p + n;

		memset(h, 0, 8);
		h[0] = nh;
		switch (ext[i]) {
		case 'D':
			memset(h + 8, 0, 8);
			h[1] = 1;
			h[2] = 1; /* PadN of 12 */
			h[3] = 12;
			n += 16;
			break;
		case 'r':
			h[2] = 253; /* experimental routing type, segments left 0 */
			n += 8;
			break;
		case 'f':
			put16(h + 2, frag);
			put32(h + 4, 0xabcdef01);
			n += 8;
			break;
		default: /* hop-by-hop, destination options: PadN of 4 */
			h[2] = 1;
			h[3] = 4;
			n += 8;
			break;
		}
	}
	return n;
}

/* Build the frame of an MSS case; *tcp receives the TCP header's offset. */
static unsigned int
mss_frame(uint8_t *buf, const struct mss_case *mc, unsigned int *l3off, unsigned int *tcp)
{
	static const uint8_t fake_mss[4] = {0x02, 0x04, 0xff, 0xff};
	const struct cstack *pop = &mss_flows[mc->flow].port[mc->in];
	uint8_t proto = mc->proto ? mc->proto : 6, *ip, *l4;
	unsigned int nt = 0, hl, n;
	struct wtag tags[4];

	for (unsigned int i = 0; i < pop->nb; i++)
		tags[nt++] = (struct wtag){pop->tag[i].tpid, (uint16_t)(0xa000 | pop->tag[i].vid)};
	for (unsigned int i = 0; i < mc->nb_ctags; i++)
		tags[nt++] = ctags[i];
	*l3off = l2_write(buf, tags, nt, mc->v6 ? ET_IPV6 : ET_IPV4);
	ip = buf + *l3off;
	n = 20 + mc->nb_opt + mc->payload; /* TCP bytes in the frame */
	if (mc->v6) {
		uint8_t first;

		hl = 40 + ext_write(ip + 40, mc->ext, mc->frag, proto, &first);
		put32(ip, 0x60012345);
		put16(ip + 4, (uint16_t)(hl - 40 + n));
		ip[6] = first;
		ip[7] = 64;
		memcpy(ip + 8, v6_src, 16);
		memcpy(ip + 24, v6_dst, 16);
	} else {
		hl = mc->ip_opts ? 24 : 20;
		ip[0] = 0x40 | hl / 4;
		ip[1] = 0;
		put16(ip + 2, (uint16_t)(hl + n));
		put16(ip + 4, 0x4242);
		put16(ip + 6, mc->frag);
		ip[8] = 64;
		ip[9] = proto;
		put16(ip + 10, 0);
		memcpy(ip + 12, v4_src, 4);
		memcpy(ip + 16, v4_dst, 4);
		if (mc->ip_opts)
			put32(ip + 20, 0x01010100);
		put16(ip + 10, inet_csum(ip, hl));
	}
	l4 = ip + hl;
	*tcp = *l3off + hl;
	put16(l4, 40000);
	put16(l4 + 2, 443);
	put32(l4 + 4, 0x11223344);
	put32(l4 + 8, mc->flags & TCP_ACK ? 0x55667788 : 0);
	l4[12] = (uint8_t)((mc->doff ? mc->doff : 5 + mc->nb_opt / 4) << 4);
	l4[13] = mc->flags;
	put16(l4 + 14, 64240);
	put32(l4 + 16, 0);
	memcpy(l4 + 20, mc->opt, mc->nb_opt);
	for (unsigned int j = 0; j < mc->payload; j++)
		l4[20 + mc->nb_opt + j] = fake_mss[j % 4];
	put16(l4 + 16, tcp_csum(ip, mc->v6, l4, n));
	return *tcp + n;
}

static void
test_mss(void)
{
	static const unsigned int mf[QGW_NB_PORTS] = {0, 0};
	static const uint8_t fake_tail[8] = {0x02, 0x04, 0xff, 0xff, 0x02, 0x04, 0xff, 0xff};
	static uint8_t buf[2048], l3exp[2048], exp[2048];
	uint32_t mtu[RTE_DIM(mss_flows)];
	struct qgw_table *t = make_table(mf, mss_flows, RTE_DIM(mss_flows), mtu);
	unsigned int avail = pool_avail();

	CHECK_EQ(mtu[0], 1400, "mss flows");
	CHECK_EQ(mtu[3], 1500, "mss flows");
	CHECK_EQ(mtu[4], 1496, "mss flows");
	for (unsigned int i = 0; i < RTE_DIM(mss_cases); i++) {
		const struct mss_case *mc = &mss_cases[i];
		const char *what = mc->what;
		struct qgw_flow_counters fc = c->flow[mc->flow][mc->in];
		unsigned int l3off, tcp, len, elen;
		struct qgw_dp_out out, back;
		struct rte_mbuf *m;
		uint8_t *tail;

		len = mss_frame(buf, mc, &l3off, &tcp);
		memcpy(l3exp, buf, len);
		if (mc->want == CLAMPED) {
			uint8_t *l4 = l3exp + tcp;

			/* the case table must point at an MSS option above the new value */
			CU_ASSERT_FATAL(l4[20 + mc->mss_at] == 2 && l4[21 + mc->mss_at] == 4);
			CU_ASSERT_FATAL(get16(l4 + 22 + mc->mss_at) > mc->mss);
			put16(l4 + 22 + mc->mss_at, mc->mss);
			put16(l4 + 16, tcp_csum(l3exp + l3off, mc->v6, l4, len - tcp));
		}
		elen = egress_frame(exp, l3exp, len, mss_flows[mc->flow].port[mc->in].nb,
				    &mss_flows[mc->flow].port[1 - mc->in]);

		/* Bytes past the frame that would read as an MSS option, never to be used. */
		m = mbuf_from(buf, len);
		tail = rte_pktmbuf_mtod_offset(m, uint8_t *, m->data_len);
		memcpy(tail, fake_tail, sizeof(fake_tail));

		run_burst(t, mc->in, &m, 1, &out, &back, what);
		CHECK_EQ(out.nb, 1, what);
		CHECK_EQ(back.nb, 0, what);
		CHECK_EQ(c->flow[mc->flow][mc->in].mss_clamped - fc.mss_clamped,
			 mc->want == CLAMPED, what);
		CHECK_EQ(c->flow[mc->flow][mc->in].mss_bad_options - fc.mss_bad_options,
			 mc->want == BAD, what);
		if (out.nb == 1) {
			const struct cflow *f = &mss_flows[mc->flow];
			const uint8_t *p = rte_pktmbuf_mtod(out.pkts[0], const uint8_t *);
			/* where the TCP header is on egress */
			unsigned int eoff =
				tcp - 4 * f->port[mc->in].nb + 4 * f->port[1 - mc->in].nb;

			check_frame(what, out.pkts[0], exp, elen);
			if (len >= MIN_FRAME)
				CHECK(memcmp(tail, fake_tail, sizeof(fake_tail)) == 0, what);
			/* the TCP checksum equals a full recomputation */
			if (out.pkts[0]->data_len >= eoff + (len - tcp))
				CHECK_EQ(get16(p + eoff + 16),
					 tcp_csum(p + eoff - (tcp - l3off), mc->v6, p + eoff,
						  len - tcp),
					 what);
		}
		finish(mc->in, &out, &back, what);
	}
	CU_ASSERT_EQUAL(pool_avail(), avail);
	qgw_table_free(t);
}

int
main(int argc, char **argv)
{
	char *eal_args[] = {argc > 0 ? argv[0] : "test_mtu",
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
		{"config: default mtu and MSS arithmetic", test_config_arithmetic},
		{"limits: mtu binds, every depth, kind, mode", test_limits_mtu},
		{"limits: egress max_frame binds for extra customer tags", test_limits_max_frame},
		{"limits: asymmetric ports", test_limits_asymmetric},
		{"ICMP: what is answered and what is not", test_icmp_exemptions},
		{"ICMP: quote lengths", test_icmp_quote},
		{"ICMP: no headroom", test_icmp_no_headroom},
		{"ICMP: rate limit per flow direction", test_icmp_rate},
		{"ICMP: icmp_burst over 16 bits", test_icmp_burst_wide},
		{"config: values in the built table at both ends of their range",
		 test_config_limits},
		{"accounting of a mixed burst and of back_done", test_accounting},
		{"jumbo and chained frames", test_jumbo},
		{"TCP MSS clamping", test_mss},
	};
	unsigned int failed;
	CU_pSuite suite;

	if (rte_eal_init(RTE_DIM(eal_args), eal_args) < 0) {
		fprintf(stderr, "cannot initialise EAL\n");
		return 1;
	}
	pool = rte_pktmbuf_pool_create("test_mtu", POOL_SIZE, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				       SOCKET_ID_ANY);
	c = rte_zmalloc("test_mtu_counters", sizeof(*c), RTE_CACHE_LINE_SIZE);
	buckets = rte_zmalloc("test_mtu_buckets", sizeof(*buckets) * QGW_MAX_FLOWS * QGW_NB_PORTS,
			      RTE_CACHE_LINE_SIZE);
	for (unsigned int p = 0; p < QGW_NB_PORTS; p++)
		rings[p] = rte_zmalloc("test_mtu_events", sizeof(*rings[p]), RTE_CACHE_LINE_SIZE);
	if (pool == NULL || c == NULL || buckets == NULL || rings[0] == NULL || rings[1] == NULL) {
		fprintf(stderr, "cannot allocate the mbuf pool, counters or rings\n");
		goto fail_mem;
	}

	if (CU_initialize_registry() != CUE_SUCCESS)
		goto fail;
	suite = CU_add_suite("mtu", NULL, NULL);
	if (suite == NULL)
		goto fail;
	for (unsigned int i = 0; i < RTE_DIM(tests); i++)
		if (CU_add_test(suite, tests[i].name, tests[i].fn) == NULL)
			goto fail;
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	rte_free(rings[1]);
	rte_free(rings[0]);
	rte_free(buckets);
	rte_free(c);
	rte_mempool_free(pool);
	rte_eal_cleanup();
	return failed ? 1 : 0;

fail:
	fprintf(stderr, "CUnit: %s\n", CU_get_error_msg());
	CU_cleanup_registry();
fail_mem:
	rte_free(rings[1]);
	rte_free(rings[0]);
	rte_free(buckets);
	rte_free(c);
	rte_mempool_free(pool);
	rte_eal_cleanup();
	return 1;
}
