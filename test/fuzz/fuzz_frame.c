/*
 * libFuzzer target: arbitrary bytes as a burst of frames through
 * qgw_dp_burst(), qgw_dp_tx_done() and qgw_dp_back_done(), against one fixed
 * flow table that uses every feature: 1:1, 1:2 (push / pop), 2:1, 2:2, a
 * one-tag flow under a two-tag one, a catch-all on one port and none on the
 * other, MTUs and a max_frame small enough to be hit, oversize "icmp"
 * (always sent, never sent) and "drop", MSS clamping for IPv4 and IPv6.
 *
 * Input: two header bytes, then per frame a control byte, two cut bytes, a
 * 16-bit length (big endian; not for the last frame, which takes the rest)
 * and the frame's bytes. parse() says what each bit means.
 *
 * Every segment lives in its own malloc'd buffer (an mbuf with an external
 * buffer) of the headroom and tailroom the input chose, so AddressSanitizer
 * sees any access outside a buffer; the flow table is copied into malloc'd
 * arrays of exactly the sizes the data path may index, for the same reason.
 * Each burst runs twice, the unused bytes of every buffer filled with 0x00
 * and then with 0xff: the results must be identical, or the data path read
 * bytes that are not part of a frame.
 *
 * The oracle is written from the README, docs/mtu.md and the config, not
 * from the data path's code:
 *   - accounting: per port rx = forwarded + drops; every frame in exactly
 *     one flow, the one its outer tags name (most specific wins), or dropped
 *     under the right classification reason; a matched frame that is not
 *     forwarded was over a limit or had no room; ICMP counted once; tx_full
 *     after a short transmit; one oversize event per oversize drop;
 *   - forwarded frames: a consistent mbuf chain, length = received - pop +
 *     push padded to 60, within the egress max_frame and the flow's mtu,
 *     MACs kept, the egress tag stack with the right PCP/DEI, everything
 *     behind it unchanged except a clamped MSS whose TCP checksum still
 *     adds up, zero padding;
 *   - ICMP errors: only for "icmp" flows, one segment, MACs swapped, the tag
 *     stack as received, valid IPv4 header and ICMP checksums or a valid
 *     ICMPv6 checksum, addressed to the sender from the address it tried,
 *     quoting the start of the offending packet, reporting an MTU that the
 *     packet was over, never for what docs/mtu.md says is not answered;
 *   - no mbuf leak (pool level) and no buffer leak (LeakSanitizer).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "fuzz_common.h"
#include "qgw_config.h"
#include "qgw_counters.h"
#include "qgw_datapath.h"
#include "qgw_drop.h"
#include "qgw_events.h"
#include "qgw_table.h"

#define MAX_FRAMES 8
#define FRAME_MAX 9216
#define MIN_FRAME 60 /* egress padding, kept apart from QGW_MIN_FRAME */
#define MIN_ROOM 20  /* a first buffer always has the MACs and 8 bytes: rewrite.c relies on it */
#define NB_FLOWS 7
#define ET_IPV4 0x0800
#define ET_IPV6 0x86dd

/*
 * Port a (index 0) is generous, port b (index 1) carries 300 bytes, so
 * a -> b frames meet b's max_frame and every flow meets its mtu. Port a has
 * a catch-all, port b has none (no_flow). ICMP: flows 0, 4, 5, 6 always
 * answer (the bucket never runs dry within a burst), flow 2 never does
 * (icmp_rate 0), flow 3 answers once a second (a second frame of the burst
 * finds the bucket empty; the buckets are refilled before each run), flow 1
 * drops. The outcome of a burst does not depend on time unless a run of it
 * takes a second, so the two runs of a burst compare equal.
 */
static const char config_text[] =
	"{\"version\": 1,"
	" \"ports\": {\"a\": {\"device\": \"net_null0\", \"max_frame\": 1526},"
	"             \"b\": {\"device\": \"net_null1\", \"max_frame\": 300}},"
	" \"flows\": ["
	"  {\"name\": \"one-to-one\", \"mtu\": 200, \"icmp_rate\": 1000000, "
	"   \"icmp_burst\": 1000000,"
	"   \"a\": [{\"tpid\": \"0x88a8\", \"vid\": 100}],"
	"   \"b\": [{\"tpid\": \"0x8100\", \"vid\": 3001}]},"
	"  {\"name\": \"push-pop\", \"mtu\": 160, \"oversize\": \"drop\","
	"   \"a\": [{\"tpid\": \"0x88a8\", \"vid\": 500}],"
	"   \"b\": [{\"tpid\": \"0x8100\", \"vid\": 3005}, {\"tpid\": \"0x8100\", \"vid\": 501}]},"
	"  {\"name\": \"two-to-one\", \"icmp_rate\": 0, \"mss_clamp\": false,"
	"   \"a\": [{\"tpid\": \"0x88a8\", \"vid\": 200}, {\"tpid\": \"0x8100\", \"vid\": 30}],"
	"   \"b\": [{\"tpid\": \"0x9100\", \"vid\": 3002, \"pcp\": 5}]},"
	"  {\"name\": \"two-to-two\", \"customer_tags\": 2, \"mss_clamp\": 100, \"icmp_rate\": 1,"
	"   \"icmp_burst\": 1,"
	"   \"a\": [{\"tpid\": \"0x88a8\", \"vid\": 300, \"pcp\": 3}, "
	"        {\"tpid\": \"0x8100\", \"vid\": 40}],"
	"   \"b\": [{\"tpid\": \"0x9200\", \"vid\": 3003}, {\"tpid\": \"0x8100\", \"vid\": 41}]},"
	"  {\"name\": \"prefix\", \"customer_tags\": 0, \"icmp_rate\": 1000000, "
	"   \"icmp_burst\": 1000000,"
	"   \"a\": [{\"tpid\": \"0x88a8\", \"vid\": 200}],"
	"   \"b\": [{\"tpid\": \"0x9100\", \"vid\": 3010}]},"
	"  {\"name\": \"catch-all\", \"mtu\": 100, \"icmp_rate\": 1000000, \"icmp_burst\": 1000000,"
	"   \"a\": [],"
	"   \"b\": [{\"tpid\": \"0x9300\", \"vid\": 4000}]},"
	"  {\"name\": \"zero-to-two\", \"mtu\": 150, \"icmp_rate\": 1000000, "
	"   \"icmp_burst\": 1000000,"
	"   \"a\": [{\"tpid\": \"0x8100\", \"vid\": 7}],"
	"   \"b\": [{\"tpid\": \"0x9300\", \"vid\": 7}, {\"tpid\": \"0x9100\", \"vid\": 8}]}"
	" ]}";

static const uint16_t std_tpids[] = {0x8100, 0x88a8, 0x9100, 0x9200, 0x9300};
/* Even headrooms only: NICs DMA to even addresses, and DPDK 22.11's inline
 * rte_raw_cksum() reads 16-bit words (misaligned at an odd address). */
static const uint16_t headrooms[8] = {0, 2, 4, 8, 26, 28, 48, RTE_PKTMBUF_HEADROOM};
static const uint16_t tailrooms[8] = {0, 1, 8, 20, 46, 64, 512, 2048};

static struct qgw_config *cfg;
static struct qgw_table *tbl; /* the data path's view: a copy in malloc'd memory */
static struct rte_mempool *pool;
static struct qgw_worker_counters *cnt;
static struct qgw_icmp_bucket *buckets;
static struct qgw_event_ring *rings[QGW_NB_PORTS];
static bool is_tag[QGW_NB_PORTS][65536]; /* TPIDs the port walks as tags */

/* One frame of the input. */
struct frame {
	const uint8_t *data;
	uint32_t len;
	unsigned int nb_segs;
	uint32_t seg[3];
	uint16_t head;	  /* headroom of the first segment */
	uint16_t tail[3]; /* tailroom of each segment */
	int expect;	  /* flow index, or -1 - drop reason */
};

struct burst {
	unsigned int in;
	unsigned int nb;
	unsigned int tx_room, back_room; /* frames the "driver" takes, 15: all */
	bool no_rings;
	struct frame f[MAX_FRAMES];
};

/* Counters of interest, before and after. */
struct snap {
	struct qgw_port_counters port[QGW_NB_PORTS];
	struct qgw_flow_counters flow[NB_FLOWS][QGW_NB_PORTS];
	uint64_t ev_head[QGW_NB_PORTS];
};

static uint16_t
rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t
rd32(const uint8_t *p)
{
	return (uint32_t)rd16(p) << 16 | rd16(p + 2);
}

/* One's-complement sum of big-endian words; an odd last byte is padded. */
static uint64_t
sum16(uint64_t s, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	return s;
}

/* Fold to 16 bits; 0xffff and 0 are the same number, answer 0xffff for both. */
static uint16_t
fold(uint64_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return s == 0 ? 0xffff : (uint16_t)s;
}

static void
snap_take(struct snap *s)
{
	memcpy(s->port, cnt->port, sizeof(s->port));
	memcpy(s->flow, cnt->flow, sizeof(s->flow));
	for (unsigned int p = 0; p < QGW_NB_PORTS; p++)
		s->ev_head[p] = rings[p]->head;
}

static uint64_t
drops(const struct qgw_port_counters *p)
{
	uint64_t n = 0;

	for (unsigned int r = 0; r < QGW_DROP__MAX; r++)
		n += p->drop[r];
	return n;
}

static uint64_t
fnv(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * UINT64_C(0x100000001b3);
	return h;
}

/* ---- the reference classifier (README: "Config", "Counters and drops") ---- */

static bool
stack_matches(const struct qgw_stack_cfg *s, const uint8_t *p, uint32_t len)
{
	if (len < 12 + 4 * s->nb_tags + 2u)
		return false;
	for (unsigned int t = 0; t < s->nb_tags; t++)
		if (rd16(p + 12 + 4 * t) != s->tag[t].tpid ||
		    (rd16(p + 14 + 4 * t) & 0x0fff) != s->tag[t].vid)
			return false;
	return true;
}

/*
 * The flow a frame received on port `in` belongs to, or -1 - the drop reason:
 * runt under 14 bytes; unparsable when the first segment cannot hold the MACs
 * and two tags yet the frame goes on; bad_tag when one of the first three
 * tags has fewer than 4 bytes behind its TPID; else the two-tag flow, the
 * one-tag flow, the catch-all, or no_flow.
 */
static int
ref_classify(unsigned int in, const uint8_t *p, uint32_t len, uint32_t seg0)
{
	int one = -1, any = -1;

	if (seg0 < len && seg0 < 22)
		return -1 - (len < 14 ? QGW_DROP_RUNT : QGW_DROP_UNPARSABLE);
	if (len < 14)
		return -1 - QGW_DROP_RUNT;
	for (uint32_t off = 12; off < 24 && off + 2 <= len; off += 4) {
		if (!is_tag[in][rd16(p + off)])
			break;
		if (len < off + 6)
			return -1 - QGW_DROP_BAD_TAG;
	}
	for (uint32_t f = 0; f < cfg->nb_flows; f++) {
		const struct qgw_stack_cfg *s = &cfg->flows[f].stack[in];

		if (s->nb_tags == 0)
			any = (int)f;
		else if (stack_matches(s, p, len) && s->nb_tags == 2)
			return (int)f;
		else if (stack_matches(s, p, len))
			one = (int)f;
	}
	if (one >= 0)
		return one;
	if (any >= 0)
		return any;
	return -1 - QGW_DROP_NO_FLOW;
}

/*
 * The longest frame of flow f received on port `in` that can be over
 * neither limit: mtu bytes after the popped tags, and the egress max_frame
 * once rewritten (docs/mtu.md, "Size check").
 */
static uint32_t
safe_len(unsigned int in, int f)
{
	const struct qgw_flow_cfg *fc = &cfg->flows[f];
	uint32_t pop = 4 * fc->stack[in].nb_tags, push = 4 * fc->stack[1 - in].nb_tags;

	return RTE_MIN(14 + pop + fc->mtu, cfg->port[1 - in].max_frame + pop - push);
}

/* Could the frame be dropped for want of room (push without headroom, padding)? */
static bool
may_lack_room(unsigned int in, const struct frame *f)
{
	const struct qgw_flow_cfg *fc = &cfg->flows[f->expect];
	uint32_t pop = 4 * fc->stack[in].nb_tags, push = 4 * fc->stack[1 - in].nb_tags;

	return (push > pop && f->head < push - pop) ||
	       (f->len - pop + push < MIN_FRAME && f->head + f->seg[0] + f->tail[0] < MIN_FRAME);
}

/* ---- mbufs with external buffers of exactly the chosen size ---- */

static void
ext_free(void *addr, void *opaque)
{
	free(addr);
	free(opaque);
}

static struct rte_mbuf *
segment(const uint8_t *data, uint32_t len, uint16_t head, uint16_t tail, uint8_t fill)
{
	uint32_t size = head + len + tail;
	struct rte_mbuf_ext_shared_info *sh = calloc(1, sizeof(*sh));
	uint8_t *buf = malloc(size);
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);

	if (sh == NULL || buf == NULL || m == NULL)
		FUZZ_FAIL("out of memory");
	memset(buf, fill, size);
	memcpy(buf + head, data, len);
	sh->free_cb = ext_free;
	sh->fcb_opaque = sh;
	rte_mbuf_ext_refcnt_set(sh, 1);
	rte_pktmbuf_attach_extbuf(m, buf, (rte_iova_t)(uintptr_t)buf, (uint16_t)size, sh);
	m->data_off = head;
	m->data_len = (uint16_t)len;
	m->pkt_len = len;
	return m;
}

static struct rte_mbuf *
frame_mbuf(const struct frame *f, uint8_t fill)
{
	struct rte_mbuf *head = NULL;
	uint32_t off = 0;

	for (unsigned int s = 0; s < f->nb_segs; s++) {
		struct rte_mbuf *m =
			segment(f->data + off, f->seg[s], s == 0 ? f->head : 0, f->tail[s], fill);

		if (head == NULL)
			head = m;
		else if (rte_pktmbuf_chain(head, m) != 0)
			FUZZ_FAIL("cannot chain a segment");
		off += f->seg[s];
	}
	return head;
}

static void
check_chain(const struct rte_mbuf *m, const char *what)
{
	const struct rte_mbuf *s;
	uint32_t sum = 0;
	unsigned int n = 0;

	for (s = m; s != NULL && n < 64; s = s->next, n++) {
		FUZZ_CHECK((uint32_t)s->data_off + s->data_len <= s->buf_len,
			   "%s: segment %u: data_off %u + data_len %u > buf_len %u", what, n,
			   s->data_off, s->data_len, s->buf_len);
		sum += s->data_len;
	}
	FUZZ_CHECK(s == NULL && n == m->nb_segs, "%s: %u segments, nb_segs %u", what, n,
		   m->nb_segs);
	FUZZ_CHECK(sum == m->pkt_len, "%s: pkt_len %u != sum of data_len %u", what, m->pkt_len,
		   sum);
}

static uint8_t scratch[FRAME_MAX + 64];

static const uint8_t *
frame_bytes(const struct rte_mbuf *m)
{
	const uint8_t *p = rte_pktmbuf_read(m, 0, m->pkt_len, scratch);

	FUZZ_CHECK(p != NULL, "cannot read %u bytes", m->pkt_len);
	return p;
}

/* ---- what a forwarded frame and an ICMP error must look like ---- */

/* Returns true if bytes behind the tags changed (an MSS clamp). */
static bool
check_forwarded(unsigned int in, const struct frame *f, const struct rte_mbuf *m, uint32_t slot)
{
	unsigned int eg = 1 - in;
	const struct qgw_flow_cfg *fc;
	const struct qgw_stack_cfg *popped, *pushed;
	const uint8_t *o, *i = f->data;
	uint32_t pop, push, len, plen, rest, off, ndiff = 0;

	FUZZ_CHECK(f->expect >= 0 && slot == (uint32_t)f->expect,
		   "frame forwarded by flow slot %u, expected %d", slot, f->expect);
	fc = &cfg->flows[slot];
	popped = &fc->stack[in];
	pushed = &fc->stack[eg];
	pop = 4 * popped->nb_tags;
	push = 4 * pushed->nb_tags;
	len = f->len - pop + push;
	plen = RTE_MAX(len, (uint32_t)MIN_FRAME);
	rest = f->len - 12 - pop;

	check_chain(m, "forwarded");
	FUZZ_CHECK(m->pkt_len == plen, "length %u, want %u (%u received - %u + %u, padded to %u)",
		   m->pkt_len, plen, f->len, pop, push, MIN_FRAME);
	FUZZ_CHECK(len <= cfg->port[eg].max_frame, "%s: %u bytes leave by a port of max_frame %u",
		   fc->name, len, cfg->port[eg].max_frame);
	/* The L3 packet: behind every tag the port knows. */
	for (off = 12 + pop; off + 2 <= f->len && is_tag[in][rd16(i + off)]; off += 4)
		;
	if (off + 2 <= f->len)
		FUZZ_CHECK(f->len - (off + 2) <= fc->mtu, "%s: L3 of %u bytes forwarded, mtu %u",
			   fc->name, f->len - (off + 2), fc->mtu);

	o = frame_bytes(m);
	FUZZ_CHECK(memcmp(o, i, 12) == 0, "MACs changed");
	for (unsigned int t = 0; t < pushed->nb_tags; t++) {
		const struct qgw_tag_cfg *tc = &pushed->tag[t];
		uint8_t top = tc->pcp >= 0	    ? (uint8_t)(tc->pcp << 5)
			      : t < popped->nb_tags ? (uint8_t)(i[14 + 4 * t] & 0xf0)
						    : 0;

		FUZZ_CHECK(rd16(o + 12 + 4 * t) == tc->tpid &&
				   (rd16(o + 14 + 4 * t) & 0x0fff) == tc->vid &&
				   (o[14 + 4 * t] & 0xf0) == top,
			   "%s: egress tag %u is %04x/%04x, want %04x/%x.../%u", fc->name, t,
			   rd16(o + 12 + 4 * t), rd16(o + 14 + 4 * t), tc->tpid, top >> 4, tc->vid);
	}
	for (uint32_t k = 0; k < rest; k++)
		ndiff += o[12 + push + k] != i[12 + pop + k];
	if (ndiff != 0) {
		bool lowered = false;

		FUZZ_CHECK(ndiff <= 4, "%s: %u bytes behind the tags changed", fc->name, ndiff);
		/* Somewhere, two bytes that were a larger MSS now read the flow's limit. */
		for (uint32_t k = 0; k + 1 < rest && !lowered; k++) {
			uint16_t now = rd16(o + 12 + push + k), was = rd16(i + 12 + pop + k);

			lowered = now != 0 && (now == fc->mss4 || now == fc->mss6) && was > now;
		}
		FUZZ_CHECK(lowered, "%s: bytes behind the tags changed, no MSS lowered to %u / %u",
			   fc->name, fc->mss4, fc->mss6);
		FUZZ_CHECK(fold(sum16(0, o + 12 + push, rest)) ==
				   fold(sum16(0, i + 12 + pop, rest)),
			   "%s: bytes behind the tags changed and the checksum does not follow",
			   fc->name);
	}
	for (uint32_t k = len; k < plen; k++)
		FUZZ_CHECK(o[k] == 0, "padding byte %u is 0x%02x", k, o[k]);
	return ndiff != 0;
}

static bool
all_zero(const uint8_t *p, size_t n)
{
	for (size_t k = 0; k < n; k++)
		if (p[k] != 0)
			return false;
	return true;
}

static void
check_icmp(unsigned int in, const struct frame *f, const struct rte_mbuf *m, uint32_t slot)
{
	const struct qgw_flow_cfg *fc;
	const uint8_t *o, *i = f->data, *ip, *icmp, *orig;
	uint32_t plen = m->pkt_len, l3off, quote, limit;
	uint16_t et;

	FUZZ_CHECK(f->expect >= 0 && slot == (uint32_t)f->expect,
		   "ICMP error in flow slot %u, expected %d", slot, f->expect);
	fc = &cfg->flows[slot];
	FUZZ_CHECK(fc->oversize_icmp, "%s: ICMP sent, oversize is \"drop\"", fc->name);
	FUZZ_CHECK(f->len > safe_len(in, f->expect), "%s: ICMP for a %u-byte frame, limit %u",
		   fc->name, f->len, safe_len(in, f->expect));
	check_chain(m, "ICMP");
	FUZZ_CHECK(m->nb_segs == 1, "ICMP error in %u segments", m->nb_segs);
	o = rte_pktmbuf_mtod(m, const uint8_t *);
	FUZZ_CHECK(plen >= 14 && memcmp(o, i + 6, 6) == 0 && memcmp(o + 6, i, 6) == 0,
		   "ICMP error: MACs not swapped");
	for (l3off = 12; l3off + 2 <= plen && is_tag[in][rd16(o + l3off)]; l3off += 4)
		;
	l3off += 2;
	FUZZ_CHECK(l3off <= plen && l3off < f->len, "ICMP error: no L3 header");
	FUZZ_CHECK(memcmp(o + 12, i + 12, l3off - 12) == 0,
		   "ICMP error: tag stack not as received");
	et = rd16(o + l3off - 2);
	ip = o + l3off;
	orig = i + l3off;

	if (et == ET_IPV4) {
		uint32_t src = rd32(orig + 12), dst = rd32(orig + 16), ihl = (orig[0] & 0x0f) * 4u;

		FUZZ_CHECK(plen >= l3off + 28, "ICMP error of %u bytes", plen);
		icmp = ip + 20;
		quote = plen - l3off - 28;
		FUZZ_CHECK(ip[0] == 0x45 && rd16(ip + 2) == plen - l3off && ip[9] == 1,
			   "ICMP error: IPv4 header %02x, total length %u of %u, protocol %u",
			   ip[0], rd16(ip + 2), plen - l3off, ip[9]);
		FUZZ_CHECK(fold(sum16(0, ip, 20)) == 0xffff,
			   "ICMP error: bad IPv4 header checksum");
		FUZZ_CHECK(icmp[0] == 3 && icmp[1] == 4, "ICMP type %u code %u", icmp[0], icmp[1]);
		FUZZ_CHECK(fold(sum16(0, icmp, plen - l3off - 20)) == 0xffff,
			   "ICMP error: bad ICMP checksum");
		limit = rd16(icmp + 6);
		FUZZ_CHECK(quote <= 548, "ICMP quote of %u bytes: over 576 bytes of IP", quote);
		FUZZ_CHECK(quote >= 20, "ICMP quote of %u bytes, less than the IPv4 header", quote);
		FUZZ_CHECK(memcmp(icmp + 8, orig, quote) == 0,
			   "ICMP quote differs from the packet");
		FUZZ_CHECK((orig[0] >> 4) == 4 && ihl >= 20, "ICMP for a non-IPv4 packet");
		FUZZ_CHECK(orig[6] & 0x40, "ICMP for IPv4 without DF");
		FUZZ_CHECK((rd16(orig + 6) & 0x1fff) == 0, "ICMP for a non-first fragment");
		FUZZ_CHECK(src != 0 && (src >> 28) != 0xe && src != 0xffffffff &&
				   (src >> 24) != 127,
			   "ICMP to source %08x", src);
		FUZZ_CHECK((dst >> 28) != 0xe && dst != 0xffffffff, "ICMP for destination %08x",
			   dst);
		FUZZ_CHECK(memcmp(ip + 12, orig + 16, 4) == 0 && memcmp(ip + 16, orig + 12, 4) == 0,
			   "ICMP error not from the tried destination %08x to the sender %08x: "
			   "%08x -> %08x",
			   dst, src, rd32(ip + 12), rd32(ip + 16));
		if (orig[9] == 1 && l3off + ihl < f->seg[0]) {
			uint8_t type = orig[ihl];

			FUZZ_CHECK(type != 3 && type != 4 && type != 5 && type != 11 && type != 12,
				   "ICMP error about an ICMP error (type %u)", type);
		}
	} else if (et == ET_IPV6) {
		uint64_t s;

		FUZZ_CHECK(plen >= l3off + 48, "ICMPv6 error of %u bytes", plen);
		icmp = ip + 40;
		quote = plen - l3off - 48;
		FUZZ_CHECK((ip[0] >> 4) == 6 && rd16(ip + 4) == plen - l3off - 40 && ip[6] == 58,
			   "ICMPv6 error: version %u, payload length %u of %u, next header %u",
			   ip[0] >> 4, rd16(ip + 4), plen - l3off - 40, ip[6]);
		FUZZ_CHECK(icmp[0] == 2 && icmp[1] == 0, "ICMPv6 type %u code %u", icmp[0],
			   icmp[1]);
		s = sum16(0, ip + 8, 32) + (plen - l3off - 40) + 58;
		FUZZ_CHECK(fold(sum16(s, icmp, plen - l3off - 40)) == 0xffff,
			   "ICMPv6 error: bad checksum");
		limit = rd32(icmp + 4);
		FUZZ_CHECK(quote <= 1232, "ICMPv6 quote of %u bytes: over 1280 bytes of IPv6",
			   quote);
		FUZZ_CHECK(quote >= 40, "ICMPv6 quote of %u bytes, less than the IPv6 header",
			   quote);
		FUZZ_CHECK(memcmp(icmp + 8, orig, quote) == 0,
			   "ICMPv6 quote differs from the packet");
		FUZZ_CHECK((orig[0] >> 4) == 6, "ICMPv6 for a non-IPv6 packet");
		FUZZ_CHECK(!all_zero(orig + 8, 16) && orig[8] != 0xff,
			   "ICMPv6 to an unspecified or "
			   "multicast source");
		FUZZ_CHECK(orig[24] != 0xff, "ICMPv6 for a multicast destination");
		FUZZ_CHECK(memcmp(ip + 8, orig + 24, 16) == 0 && memcmp(ip + 24, orig + 8, 16) == 0,
			   "ICMPv6 error not from the tried destination to the sender");
		if (orig[6] == 58 && l3off + 40 < f->seg[0])
			FUZZ_CHECK(orig[40] >= 128, "ICMPv6 error about an ICMPv6 error (type %u)",
				   orig[40]);
	} else {
		FUZZ_FAIL("ICMP error for EtherType 0x%04x", et);
	}
	FUZZ_CHECK(limit > 0 && limit <= fc->mtu, "%s: ICMP reports MTU %u, flow mtu %u", fc->name,
		   limit, fc->mtu);
	FUZZ_CHECK(f->len - l3off > limit, "%s: %u bytes of L3 answered with MTU %u", fc->name,
		   f->len - l3off, limit);
}

/* ---- one burst ---- */

/* What a run observed, to compare the two runs of a burst. */
struct result {
	uint64_t hash;
	uint16_t nb_out, nb_back;
	uint32_t out_len[QGW_BURST], back_len[QGW_BURST];
};

static int
index_of(struct rte_mbuf *const *pkts, unsigned int nb, const struct rte_mbuf *m)
{
	for (unsigned int i = 0; i < nb; i++)
		if (pkts[i] == m)
			return (int)i;
	return -1;
}

/* The counters the burst touches start at zero, so a run's are its own. */
static void
reset_state(void)
{
	memset(cnt->port, 0, sizeof(cnt->port));
	memset(cnt->flow, 0, sizeof(cnt->flow[0]) * NB_FLOWS);
	memset(buckets, 0, sizeof(*buckets) * NB_FLOWS * QGW_NB_PORTS);
}

static void
check_counters(const struct burst *b, const struct snap *s0, const struct snap *s1,
	       const struct qgw_dp_out *out, const struct qgw_dp_out *back, const int *where,
	       unsigned int diff_frames)
{
	unsigned int in = b->in, eg = 1 - in, classified = 0;
	const struct qgw_port_counters *p0 = &s0->port[in], *p1 = &s1->port[in];
	uint64_t rx_bytes = 0, cls[QGW_DROP__MAX] = {0}, clamped = 0, oversize = 0, room = 0;
	uint64_t pkts[NB_FLOWS] = {0}, bytes[NB_FLOWS] = {0}, max_len[NB_FLOWS] = {0};

	for (unsigned int i = 0; i < b->nb; i++) {
		const struct frame *f = &b->f[i];

		rx_bytes += f->len;
		if (f->expect < 0) {
			cls[-1 - f->expect]++;
			FUZZ_CHECK(where[i] == 0, "frame %u forwarded, expected drop %s", i,
				   qgw_drop_name((unsigned int)(-1 - f->expect)));
			continue;
		}
		classified++;
		pkts[f->expect]++;
		bytes[f->expect] += f->len;
		max_len[f->expect] = RTE_MAX(max_len[f->expect], (uint64_t)f->len);
		if (where[i] == 0)
			FUZZ_CHECK(f->len > safe_len(in, f->expect) || may_lack_room(in, f),
				   "frame %u of %u bytes (%s, limit %u) dropped", i, f->len,
				   cfg->flows[f->expect].name, safe_len(in, f->expect));
	}

	FUZZ_CHECK(p1->rx_pkts - p0->rx_pkts == b->nb, "rx_pkts +%lu for %u frames",
		   p1->rx_pkts - p0->rx_pkts, b->nb);
	FUZZ_CHECK(p1->rx_bytes - p0->rx_bytes == rx_bytes, "rx_bytes +%lu, want %lu",
		   p1->rx_bytes - p0->rx_bytes, rx_bytes);
	FUZZ_CHECK(drops(p1) - drops(p0) + out->nb == b->nb,
		   "%u frames: %u forwarded + %lu dropped", b->nb, out->nb, drops(p1) - drops(p0));
	for (unsigned int r = 0; r < QGW_DROP__MAX; r++) {
		uint64_t d = p1->drop[r] - p0->drop[r];

		if (r == QGW_DROP_OVERSIZE || r == QGW_DROP_NO_HEADROOM)
			continue;
		FUZZ_CHECK(d == cls[r], "drop %s +%lu, want %lu", qgw_drop_name(r), d, cls[r]);
	}
	oversize = p1->drop[QGW_DROP_OVERSIZE] - p0->drop[QGW_DROP_OVERSIZE];
	room = p1->drop[QGW_DROP_NO_HEADROOM] - p0->drop[QGW_DROP_NO_HEADROOM];
	FUZZ_CHECK(oversize + room + out->nb == classified,
		   "%u matched frames: %u forwarded, %lu oversize, %lu no_headroom", classified,
		   out->nb, oversize, room);
	FUZZ_CHECK(back->nb <= oversize, "%u ICMP errors for %lu oversize frames", back->nb,
		   oversize);
	FUZZ_CHECK(p1->tx_pkts == p0->tx_pkts && p1->tx_bytes == p0->tx_bytes &&
			   p1->icmp_sent == p0->icmp_sent && p1->icmp_tx_full == p0->icmp_tx_full,
		   "ingress port tx counters moved before any transmit");
	FUZZ_CHECK(memcmp(&s0->port[eg], &s1->port[eg], sizeof(s0->port[eg])) == 0,
		   "egress port counters moved before any transmit");
	if (b->no_rings)
		FUZZ_CHECK(s1->ev_head[in] == s0->ev_head[in], "event ring written while absent");
	else
		FUZZ_CHECK(s1->ev_head[in] - s0->ev_head[in] == oversize,
			   "%lu oversize events for %lu oversize drops",
			   s1->ev_head[in] - s0->ev_head[in], oversize);
	FUZZ_CHECK(s1->ev_head[eg] == s0->ev_head[eg], "the other port's event ring moved");

	for (unsigned int f = 0; f < NB_FLOWS; f++) {
		const struct qgw_flow_counters *a = &s0->flow[f][in], *z = &s1->flow[f][in];
		uint64_t fwd = 0, icmp = 0, fdrops = 0;

		FUZZ_CHECK(memcmp(&s0->flow[f][eg], &s1->flow[f][eg], sizeof(*a)) == 0,
			   "%s: counters of the other direction moved", cfg->flows[f].name);
		if (pkts[f] == 0) {
			FUZZ_CHECK(memcmp(a, z, sizeof(*a)) == 0,
				   "%s: counters moved without a frame of the flow",
				   cfg->flows[f].name);
			continue;
		}
		for (unsigned int k = 0; k < out->nb; k++)
			fwd += out->dir[k]->slot == f;
		for (unsigned int k = 0; k < back->nb; k++)
			icmp += back->dir[k]->slot == f;
		for (unsigned int r = 0; r < QGW_DROP__MAX; r++)
			fdrops += z->drop[r] - a->drop[r];
		FUZZ_CHECK(z->pkts - a->pkts == pkts[f] && z->bytes - a->bytes == bytes[f],
			   "%s: pkts +%lu bytes +%lu, want %lu %lu", cfg->flows[f].name,
			   z->pkts - a->pkts, z->bytes - a->bytes, pkts[f], bytes[f]);
		FUZZ_CHECK(z->max_len == max_len[f], "%s: max_len %lu, want %lu",
			   cfg->flows[f].name, z->max_len, max_len[f]);
		FUZZ_CHECK(z->pkts - a->pkts == fwd + fdrops,
			   "%s: %lu frames, %lu forwarded, %lu dropped", cfg->flows[f].name,
			   z->pkts - a->pkts, fwd, fdrops);
		FUZZ_CHECK(z->icmp_sent - a->icmp_sent == icmp, "%s: icmp_sent +%lu for %lu errors",
			   cfg->flows[f].name, z->icmp_sent - a->icmp_sent, icmp);
		FUZZ_CHECK(z->drop[QGW_DROP_TX_FULL] == a->drop[QGW_DROP_TX_FULL],
			   "%s: tx_full before any transmit", cfg->flows[f].name);
		clamped += z->mss_clamped - a->mss_clamped;
		oversize -= z->drop[QGW_DROP_OVERSIZE] - a->drop[QGW_DROP_OVERSIZE];
		room -= z->drop[QGW_DROP_NO_HEADROOM] - a->drop[QGW_DROP_NO_HEADROOM];
	}
	FUZZ_CHECK(oversize == 0 && room == 0, "port and flow oversize / no_headroom drops differ");
	/* A clamp changes the frame; a clamped frame may still lack room to leave. */
	FUZZ_CHECK(diff_frames <= clamped &&
			   clamped <= diff_frames + (p1->drop[QGW_DROP_NO_HEADROOM] -
						     p0->drop[QGW_DROP_NO_HEADROOM]),
		   "%u frames changed behind the tags, %lu MSS clamps", diff_frames, clamped);
}

static void
run(const struct burst *b, uint8_t fill, struct result *res)
{
	unsigned int in = b->in, eg = 1 - in, avail = rte_mempool_avail_count(pool);
	struct qgw_dp_ctx ctx = {.c = cnt, .bucket = buckets, .events = {rings[0], rings[1]}};
	struct rte_mbuf *pkts[MAX_FRAMES], *done[2 * QGW_BURST];
	struct qgw_dp_out out, back;
	struct snap s0, s1, s2;
	uint64_t tx_bytes = 0, back_bytes = 0, h = UINT64_C(0xcbf29ce484222325);
	unsigned int sent, bsent, nb_done = 0, diff_frames = 0;
	int where[MAX_FRAMES] = {0}, last = -1;

	if (b->no_rings)
		ctx.events[0] = ctx.events[1] = NULL;
	reset_state();
	for (unsigned int i = 0; i < b->nb; i++)
		pkts[i] = frame_mbuf(&b->f[i], fill);
	snap_take(&s0);
	qgw_dp_burst(tbl, in, pkts, (uint16_t)b->nb, &out, &back, &ctx);
	snap_take(&s1);

	FUZZ_CHECK(out.nb + back.nb <= b->nb, "%u frames in, %u out and %u back", b->nb, out.nb,
		   back.nb);
	res->nb_out = out.nb;
	res->nb_back = back.nb;
	for (unsigned int k = 0; k < out.nb; k++) {
		int i = index_of(pkts, b->nb, out.pkts[k]);
		const uint8_t *o;

		FUZZ_CHECK(i > last, "forwarded mbuf %u is not a received one, or out of order", k);
		last = i;
		where[i] = 1;
		diff_frames += check_forwarded(in, &b->f[i], out.pkts[k], out.dir[k]->slot);
		o = frame_bytes(out.pkts[k]);
		h = fnv(h, &out.dir[k]->slot, sizeof(out.dir[k]->slot));
		h = fnv(h, &out.pkts[k]->pkt_len, sizeof(out.pkts[k]->pkt_len));
		h = fnv(h, o, out.pkts[k]->pkt_len);
		res->out_len[k] = out.pkts[k]->pkt_len;
		tx_bytes += k < (b->tx_room == 15 ? out.nb : b->tx_room) ? out.pkts[k]->pkt_len : 0;
	}
	last = -1;
	for (unsigned int k = 0; k < back.nb; k++) {
		int i = index_of(pkts, b->nb, back.pkts[k]);

		FUZZ_CHECK(i > last && where[i] == 0,
			   "ICMP mbuf %u is not a received one, forwarded too, or out of order", k);
		last = i;
		where[i] = 2;
		check_icmp(in, &b->f[i], back.pkts[k], back.dir[k]->slot);
		h = fnv(h, &back.dir[k]->slot, sizeof(back.dir[k]->slot));
		h = fnv(h, &back.pkts[k]->pkt_len, sizeof(back.pkts[k]->pkt_len));
		h = fnv(h, rte_pktmbuf_mtod(back.pkts[k], void *), back.pkts[k]->pkt_len);
		res->back_len[k] = back.pkts[k]->pkt_len;
		back_bytes += k < (b->back_room == 15 ? back.nb : b->back_room)
				      ? back.pkts[k]->pkt_len
				      : 0;
	}
	check_counters(b, &s0, &s1, &out, &back, where, diff_frames);

	/* The "driver" takes the first tx_room frames; the rest are tx_full. */
	sent = b->tx_room == 15 ? out.nb : RTE_MIN(b->tx_room, (unsigned int)out.nb);
	bsent = b->back_room == 15 ? back.nb : RTE_MIN(b->back_room, (unsigned int)back.nb);
	for (unsigned int k = 0; k < sent; k++)
		done[nb_done++] = out.pkts[k];
	for (unsigned int k = 0; k < bsent; k++)
		done[nb_done++] = back.pkts[k];
	{
		uint64_t ob = 0, bb = 0;

		for (unsigned int k = 0; k < out.nb; k++)
			ob += out.pkts[k]->pkt_len;
		for (unsigned int k = 0; k < back.nb; k++)
			bb += back.pkts[k]->pkt_len;
		FUZZ_CHECK(out.bytes == ob && back.bytes == bb,
			   "out.bytes %lu / %lu, back.bytes %lu / %lu", out.bytes, ob, back.bytes,
			   bb);
	}
	qgw_dp_tx_done(in, &out, (uint16_t)sent, cnt);
	qgw_dp_back_done(in, &back, (uint16_t)bsent, cnt);
	snap_take(&s2);
	rte_pktmbuf_free_bulk(done, nb_done);

	FUZZ_CHECK(s2.port[eg].tx_pkts - s1.port[eg].tx_pkts == sent &&
			   s2.port[eg].tx_bytes - s1.port[eg].tx_bytes == tx_bytes,
		   "egress tx +%lu pkts +%lu bytes, want %u %lu",
		   s2.port[eg].tx_pkts - s1.port[eg].tx_pkts,
		   s2.port[eg].tx_bytes - s1.port[eg].tx_bytes, sent, tx_bytes);
	FUZZ_CHECK(s2.port[in].drop[QGW_DROP_TX_FULL] - s1.port[in].drop[QGW_DROP_TX_FULL] ==
			   out.nb - sent,
		   "tx_full +%lu for %u unsent",
		   s2.port[in].drop[QGW_DROP_TX_FULL] - s1.port[in].drop[QGW_DROP_TX_FULL],
		   out.nb - sent);
	FUZZ_CHECK(s2.port[in].tx_pkts - s1.port[in].tx_pkts == bsent &&
			   s2.port[in].tx_bytes - s1.port[in].tx_bytes == back_bytes &&
			   s2.port[in].icmp_sent - s1.port[in].icmp_sent == bsent &&
			   s2.port[in].icmp_tx_full - s1.port[in].icmp_tx_full == back.nb - bsent,
		   "ICMP transmit accounting");
	/* README: for each port, frames received = frames forwarded + frames dropped. */
	FUZZ_CHECK(s2.port[in].rx_pkts - s0.port[in].rx_pkts ==
			   (s2.port[eg].tx_pkts - s0.port[eg].tx_pkts) + drops(&s2.port[in]) -
				   drops(&s0.port[in]),
		   "rx != forwarded + dropped");
	{
		uint64_t flow_tx_full = 0;

		for (unsigned int f = 0; f < NB_FLOWS; f++)
			flow_tx_full += s2.flow[f][in].drop[QGW_DROP_TX_FULL] -
					s1.flow[f][in].drop[QGW_DROP_TX_FULL];
		FUZZ_CHECK(flow_tx_full == out.nb - sent, "flows' tx_full +%lu for %u unsent",
			   flow_tx_full, out.nb - sent);
	}
	FUZZ_CHECK(rte_mempool_avail_count(pool) == avail, "mbuf pool at %u, was %u",
		   rte_mempool_avail_count(pool), avail);

	h = fnv(h, s2.port, sizeof(s2.port));
	h = fnv(h, s2.flow, sizeof(s2.flow));
	for (unsigned int p = 0; p < QGW_NB_PORTS; p++) {
		uint64_t d = s2.ev_head[p] - s0.ev_head[p];

		h = fnv(h, &d, sizeof(d));
	}
	res->hash = h;
}

/*
 * Input layout:
 *   byte 0: bit 0 ingress port; bits 1-3 frames - 1; bits 4-7 frames the
 *           egress queue takes (15: all)
 *   byte 1: bits 0-3 ICMP errors the ingress queue takes (15: all);
 *           bit 4 no oversize event rings
 *   per frame: control byte (bits 0-1: 2 or 3 segments, else 1; bits 2-4
 *           headroom class; bits 5-7 tailroom class), first cut, second cut
 *           (segment lengths), a 16-bit big-endian length except for the last
 *           frame, which takes the rest, then the bytes.
 */
static bool
parse(const uint8_t *d, size_t n, struct burst *b)
{
	size_t pos = 2;
	unsigned int want;

	if (n < 5)
		return false;
	b->in = d[0] & 1;
	want = ((d[0] >> 1) & 7) + 1;
	b->tx_room = d[0] >> 4;
	b->back_room = d[1] & 0x0f;
	b->no_rings = (d[1] & 0x10) != 0;
	b->nb = 0;
	while (b->nb < want && pos + 3 <= n) {
		struct frame *f = &b->f[b->nb];
		uint8_t ctl = d[pos], c0 = d[pos + 1], c1 = d[pos + 2];
		uint32_t len, cut0, cut1, parts, lens[3];
		uint16_t tail;

		pos += 3;
		if (b->nb + 1 < want) {
			if (pos + 2 > n)
				break;
			len = rd16(d + pos);
			pos += 2;
			len = RTE_MIN(len, (uint32_t)(n - pos));
		} else {
			len = (uint32_t)(n - pos);
		}
		len = RTE_MIN(len, (uint32_t)FRAME_MAX);
		f->data = d + pos;
		f->len = len;
		pos += len;

		parts = (ctl & 3) < 2 ? 1 : (ctl & 3);
		cut0 = c0 % (len + 1);
		cut1 = RTE_MIN((uint32_t)c1, len - cut0);
		lens[0] = parts == 1 ? len : cut0;
		lens[1] = parts == 2 ? len - cut0 : cut1;
		lens[2] = len - cut0 - cut1;
		f->nb_segs = 0;
		for (unsigned int s = 0; s < parts; s++)
			if (lens[s] > 0)
				f->seg[f->nb_segs++] = lens[s];
		if (f->nb_segs == 0)
			f->seg[f->nb_segs++] = 0;
		f->head = headrooms[(ctl >> 2) & 7];
		tail = tailrooms[ctl >> 5];
		for (unsigned int s = 0; s < f->nb_segs; s++)
			f->tail[s] = tail;
		if (f->seg[0] + f->tail[0] < MIN_ROOM)
			f->tail[0] = (uint16_t)(MIN_ROOM - f->seg[0]);
		f->expect = ref_classify(b->in, f->data, len, f->seg[0]);
		b->nb++;
	}
	return b->nb > 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct result r0, r1;
	struct burst b;

	if (!parse(data, size, &b))
		return 0;
	run(&b, 0x00, &r0);
	run(&b, 0xff, &r1);
	if (r0.hash != r1.hash) {
		fprintf(stderr, "\nfuzz: outcome depends on bytes outside the frames:\n");
		for (unsigned int r = 0; r < 2; r++) {
			const struct result *x = r ? &r1 : &r0;

			fprintf(stderr, "  fill 0x%02x: %u forwarded (", r ? 0xff : 0, x->nb_out);
			for (unsigned int k = 0; k < x->nb_out; k++)
				fprintf(stderr, " %u", x->out_len[k]);
			fprintf(stderr, " ), %u ICMP (", x->nb_back);
			for (unsigned int k = 0; k < x->nb_back; k++)
				fprintf(stderr, " %u", x->back_len[k]);
			fprintf(stderr, " )\n");
		}
		abort();
	}
	return 0;
}

/* ---- start-up ---- */

static void *
dup_array(const void *src, size_t size)
{
	/* Cache-line aligned like rte_malloc: the flow entries are aligned types. */
	void *p = aligned_alloc(64, (size + 63) & ~(size_t)63);

	if (p == NULL && size != 0)
		FUZZ_FAIL("out of memory");
	if (size != 0)
		memcpy(p, src, size);
	return p;
}

/* The table in malloc'd arrays of exactly the sizes a lookup may index. */
static struct qgw_table *
copy_table(const struct qgw_table *t)
{
	struct qgw_table *c =
		aligned_alloc(RTE_CACHE_LINE_SIZE, RTE_ALIGN_CEIL(sizeof(*c), RTE_CACHE_LINE_SIZE));

	if (c == NULL)
		FUZZ_FAIL("out of memory");
	memcpy(c, t, sizeof(*c));
	for (unsigned int p = 0; p < QGW_NB_PORTS; p++) {
		const struct qgw_port_table *pt = &t->port[p];
		unsigned int nb_tpids = 0;

		for (unsigned int e = 0; e < RTE_DIM(pt->tpid); e++)
			if (pt->tpid[e] != QGW_TPID_OTHER && pt->tpid[e] > nb_tpids)
				nb_tpids = pt->tpid[e];
		c->port[p].l1 = dup_array(pt->l1, (size_t)(nb_tpids + 1) * QGW_VID_SPACE *
							   sizeof(*pt->l1));
		for (unsigned int v = 0; v < RTE_DIM(pt->row); v++)
			c->port[p].row[v] = c->port[p].l1 + (pt->row[v] - pt->l1);
		c->port[p].l2 =
			pt->l2 ? dup_array(pt->l2, (pt->l2_mask + 1) * sizeof(*pt->l2)) : NULL;
		c->port[p].dir = dup_array(pt->dir, (t->nb_flows + 1) * sizeof(*pt->dir));
	}
	return c;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct qgw_errors errs = {0};
	struct qgw_table *t;

	RTE_SET_USED(argc);
	qgw_fuzz_eal_init((*argv)[0]);
	cfg = qgw_config_load_string(config_text, &errs);
	if (cfg == NULL || cfg->nb_flows != NB_FLOWS) {
		for (size_t i = 0; i < errs.nb; i++)
			fprintf(stderr, "fuzz_frame: config: %s\n", errs.msg[i]);
		exit(1);
	}
	qgw_errors_clear(&errs);
	t = qgw_table_build(cfg, NULL, 1, SOCKET_ID_ANY);
	if (t == NULL)
		FUZZ_FAIL("cannot build the table");
	tbl = copy_table(t);
	qgw_table_free(t);

	pool = rte_pktmbuf_pool_create("fuzz_frame", 1023, 0, 0, 0, SOCKET_ID_ANY);
	cnt = aligned_alloc(RTE_CACHE_LINE_SIZE, sizeof(*cnt));
	buckets = calloc(QGW_MAX_FLOWS * QGW_NB_PORTS, sizeof(*buckets));
	for (unsigned int p = 0; p < QGW_NB_PORTS; p++)
		rings[p] = aligned_alloc(RTE_CACHE_LINE_SIZE, sizeof(*rings[p]));
	if (pool == NULL || cnt == NULL || buckets == NULL || rings[0] == NULL || rings[1] == NULL)
		FUZZ_FAIL("cannot allocate the mbuf pool, counters or rings");
	memset(cnt, 0, sizeof(*cnt));
	for (unsigned int p = 0; p < QGW_NB_PORTS; p++) {
		memset(rings[p], 0, sizeof(*rings[p]));
		for (unsigned int k = 0; k < RTE_DIM(std_tpids); k++)
			is_tag[p][std_tpids[k]] = true;
		for (uint32_t f = 0; f < cfg->nb_flows; f++)
			for (unsigned int k = 0; k < cfg->flows[f].stack[p].nb_tags; k++)
				is_tag[p][cfg->flows[f].stack[p].tag[k].tpid] = true;
	}
	return 0;
}
