/*
 * Per-burst classification and tag-stack rewrite.
 *
 * One frame: find the flow by the outermost tags (two-tag hash, then the
 * direct (TPID, VID) array, then the port's untagged catch-all), pop its
 * `pop` bytes of tags and push the precomputed `push` bytes, keeping PCP/DEI
 * where the table says so. When pop == push the tags are overwritten in
 * place; otherwise the 12 MAC bytes move by the difference.
 *
 * Before the rewrite, the flow's size limits: a frame no longer than the
 * flow's safe_len passes with one comparison; a longer one has its customer
 * tags walked to find the L3 size, and goes to qgw_oversize() if it is over
 * the flow's mtu or would be over the egress port's max_frame. TCP SYNs get
 * their MSS clamped when the flow says so (mtu.c).
 */
#include "datapath_internal.h"

#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_byteorder.h>
#include <rte_prefetch.h>

/* A frame at least this long cannot end inside one of its first three tags. */
#define SHORT_FRAME (ETH_HDR + 3 * TAG)
/* Bytes of the frame that classification reads: MACs, two tags, EtherType. */
#define PARSE_LEN (ETH_HDR + 2 * TAG)

/* Slow path for frames too short to hold three tags: find truncated tags. */
static unsigned int
check_short(const struct qgw_port_table *pt, const uint8_t *p, uint32_t len)
{
	for (uint32_t off = ETH_ADDRS; off + 2 <= len; off += TAG) {
		if (pt->tpid[rd16(p + off)] == QGW_TPID_NONE)
			break;
		if (len < off + 2 + TAG)
			return QGW_DROP_BAD_TAG;
	}
	return QGW_DROP__MAX;
}

/* The flow of a frame whose outermost tag starts a two-tag flow; 0: none. */
static inline uint32_t
lookup_l2(const struct qgw_port_table *pt, const uint8_t *p)
{
	uint64_t key;

	memcpy(&key, p + ETH_ADDRS, sizeof(key));
	key &= qgw_l2_key_mask();
	for (uint32_t h = qgw_l2_hash(key, pt->l2_shift); pt->l2[h].key != 0;
	     h = (h + 1) & pt->l2_mask)
		if (pt->l2[h].key == key)
			return pt->l2[h].flow;
	return 0;
}

/*
 * Flow entry of a frame (dir[0], the no-flow entry, when none matches). Two
 * tags are looked up only when `two`: the frame holds PARSE_LEN bytes in its
 * first segment.
 */
static inline const struct qgw_dp_dir *
lookup(const struct qgw_port_table *pt, const uint8_t *p, bool two)
{
	const struct qgw_l1 *row = pt->row[pt->tpid[rd16(p + ETH_ADDRS)]];
	struct qgw_l1 e = row[rd16(p + ETH_HDR) & 0x0fff];
	uint32_t flow = e.flow;

	if (unlikely(e.l2) && two) {
		uint32_t f2 = lookup_l2(pt, p);

		if (f2)
			flow = f2;
	}
	return &pt->dir[flow];
}

/* Frames of one drop reason found before any flow lookup. */
#define DROP_DIR(r) [QGW_DROP_##r] = {.drop = QGW_DROP_##r + 1, .fast_lo = UINT32_C(0x80000000)}
static const struct qgw_dp_dir early_drop[QGW_DROP__MAX] = {
	DROP_DIR(RUNT),
	DROP_DIR(BAD_TAG),
	DROP_DIR(UNPARSABLE),
};

/*
 * Frames whose first segment is shorter than the minimum frame are
 * classified in the slow path (frame_slow()): the fast path can then read
 * the first QGW_MIN_FRAME bytes of every frame it handles.
 */
#define RECLASSIFY 0xff
static const struct qgw_dp_dir short_first_segment = {
	.drop = RECLASSIFY,
	.fast_lo = UINT32_C(0x80000000),
};

/* Classification of a frame whose first segment is shorter than the minimum
 * frame: short frames, truncated tags, headers split across segments. */
static const struct qgw_dp_dir *
classify_slow(const struct qgw_port_table *pt, const struct rte_mbuf *m)
{
	const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);
	uint32_t len = m->pkt_len;
	unsigned int reason;

	if (m->data_len < PARSE_LEN && m->data_len < len)
		return &early_drop[len < ETH_HDR ? QGW_DROP_RUNT : QGW_DROP_UNPARSABLE];
	if (len < SHORT_FRAME) {
		if (len < ETH_HDR)
			return &early_drop[QGW_DROP_RUNT];
		reason = check_short(pt, p, len);
		if (reason != QGW_DROP__MAX)
			return &early_drop[reason];
	}
	return lookup(pt, p, len >= PARSE_LEN);
}

static inline const struct qgw_dp_dir *
classify(const struct qgw_port_table *pt, const struct rte_mbuf *m)
{
	/* One comparison for the common case: a first segment of a whole
	 * minimum frame cannot be short, truncated or split in its tags. */
	if (unlikely(m->data_len < QGW_MIN_FRAME))
		return &short_first_segment;
	return lookup(pt, rte_pktmbuf_mtod(m, const uint8_t *), true);
}

/*
 * The frame (under QGW_MIN_FRAME bytes) ends where its last buffer ends:
 * rebuild it as one segment that fits the padding, in the first buffer.
 * Returns where the padding goes, or NULL if the buffer is too small.
 */
static char *
pad_slow(struct rte_mbuf *m)
{
	uint16_t len = (uint16_t)m->pkt_len;
	uint8_t tmp[QGW_MIN_FRAME];
	const void *d;

	if (m->buf_len < QGW_MIN_FRAME)
		return NULL;
	d = rte_pktmbuf_read(m, 0, len, tmp);
	if (d != tmp)
		memcpy(tmp, d, len);
	if (m->next != NULL) {
		rte_pktmbuf_free(m->next);
		m->next = NULL;
		m->nb_segs = 1;
	}
	m->data_off = RTE_MIN((uint16_t)RTE_PKTMBUF_HEADROOM, (uint16_t)(m->buf_len - QGW_MIN_FRAME));
	memcpy(rte_pktmbuf_mtod(m, uint8_t *), tmp, len);
	m->data_len = QGW_MIN_FRAME;
	m->pkt_len = QGW_MIN_FRAME;
	return rte_pktmbuf_mtod_offset(m, char *, len);
}

/* Move the 12 MAC bytes by delta (4 or 8, either way): both loads come
 * before both stores, so the overlap is harmless and no libc call is made. */
static inline void
move_macs(uint8_t *dst, const uint8_t *src)
{
	uint64_t a;
	uint32_t b;

	memcpy(&a, src, 8);
	memcpy(&b, src + 8, 4);
	memcpy(dst, &a, 8);
	memcpy(dst + 8, &b, 4);
}

/* Tags pushed != popped: move the MACs and write the new tags. */
static inline unsigned int
rewrite_move(const struct qgw_dp_dir *d, struct rte_mbuf *m, uint64_t tags)
{
	uint8_t *p = rte_pktmbuf_mtod(m, uint8_t *);

	if (d->move > 0) {
		uint8_t *q = (uint8_t *)rte_pktmbuf_prepend(m, d->move);

		if (unlikely(q == NULL))
			return QGW_DROP_NO_HEADROOM;
		move_macs(q, q + d->move);
		p = q;
	} else {
		move_macs(p - d->move, p);
		p = (uint8_t *)rte_pktmbuf_adj(m, -d->move);
	}
	if (d->push == 8)
		memcpy(p + ETH_ADDRS, &tags, 8);
	else if (d->push == 4)
		memcpy(p + ETH_ADDRS, &tags, 4);
	return 0;
}

/*
 * Replace d->pop bytes of tags with d->push bytes and pad to the minimum
 * frame; 0 or a drop reason (the slow path's rewrite).
 */
static unsigned int
rewrite(const struct qgw_dp_dir *d, struct rte_mbuf *m)
{
	uint8_t *p = rte_pktmbuf_mtod(m, uint8_t *);
	uint64_t tags;

	/*
	 * The 8 bytes behind the MACs, as received (the buffer always has them;
	 * bytes past the frame are masked out or rewritten by the padding).
	 * In place, `keep` also covers the bytes behind the pushed tags, so
	 * they are written back unchanged.
	 */
	memcpy(&tags, p + ETH_ADDRS, 8);
	tags = d->tags | (tags & d->keep);
	if (d->move == 0)
		memcpy(p + ETH_ADDRS, &tags, 8);
	else if (rewrite_move(d, m, tags) != 0)
		return QGW_DROP_NO_HEADROOM;
	if (unlikely(m->pkt_len < QGW_MIN_FRAME)) {
		uint16_t pad = QGW_MIN_FRAME - m->pkt_len;
		char *tail = rte_pktmbuf_append(m, pad);

		if (unlikely(tail == NULL))
			tail = pad_slow(m);
		if (unlikely(tail == NULL))
			return QGW_DROP_NO_HEADROOM;
		memset(tail, 0, pad);
	}
	return 0;
}

/*
 * Cheap filter in front of the MSS clamp: false when the frame surely is not
 * a TCP SYN of IPv4 (one customer tag at most, no IP options needed to see
 * the protocol and flags); true sends it to the full parser, which also
 * handles IPv6, extension headers and deeper tag stacks.
 */
static __rte_noinline bool
maybe_syn(const struct qgw_port_table *pt, const struct qgw_dp_dir *d, const struct rte_mbuf *m)
{
	const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *) + ETH_ADDRS + d->pop;
	uint32_t room = m->data_len - ETH_ADDRS - d->pop;
	uint16_t et;

	if (unlikely(room < 2 + TAG + 20 + 14))
		return true;
	et = rd16(p);
	if (pt->tpid[et] != QGW_TPID_NONE) {
		p += TAG;
		et = rd16(p);
	}
	if (likely(et == 0x0800)) {
		const uint8_t *ip = p + 2;
		uint32_t ihl = (ip[0] & 0x0f) * 4u;

		/* not TCP, or a non-first fragment */
		if (ip[9] != 6 || (rd16(ip + 6) & 0x1fff) != 0)
			return false;
		/* TCP flags inside the first segment: look; else let the parser decide */
		if ((uint32_t)(ip + ihl + 14 - rte_pktmbuf_mtod(m, const uint8_t *)) <= m->data_len)
			return (ip[ihl + 13] & 0x02) != 0;
		return true;
	}
	return et == 0x86dd || pt->tpid[et] != QGW_TPID_NONE;
}

/*
 * Size check of a frame longer than d->safe_len. Returns 0 if it fits, or the
 * L3 size it was allowed (> 0) with *l3off / *et set for qgw_oversize().
 */
static uint32_t
size_check(const struct qgw_port_table *pt, const struct qgw_dp_dir *d, const struct rte_mbuf *m,
	   uint32_t *l3off, uint16_t *et)
{
	const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);
	uint32_t len = m->pkt_len, l2, l3len, allowed;

	*l3off = qgw_l3_offset(pt, p, m->data_len, ETH_ADDRS + d->pop, et);
	/* Tags we cannot walk count as L3 bytes: the check can only get stricter. */
	l2 = *l3off ? *l3off : (uint32_t)(ETH_HDR + d->pop);
	l3len = len - l2;
	/* What the egress max_frame leaves for L3 with this frame's customer tags. */
	allowed = d->max_out > l2 - d->pop + d->push ? d->max_out - (l2 - d->pop + d->push) : 0;
	if (d->mtu < allowed)
		allowed = d->mtu;
	if (l3len <= allowed)
		return 0;
	return allowed ? allowed : 1;
}

static inline struct qgw_flow_counters *
flow_counters(struct qgw_worker_counters *c, const struct qgw_dp_dir *d)
{
	return (struct qgw_flow_counters *)((char *)c + d->cnt_off);
}

static inline void
count_frame(struct qgw_flow_counters *fc, uint32_t len)
{
	fc->pkts++;
	fc->bytes += len;
	if (len > fc->max_len)
		fc->max_len = len;
}

/* Find and clamp the MSS of a frame that may be a TCP SYN. */
static void
mss(const struct qgw_port_table *pt, const struct qgw_dp_dir *d, struct rte_mbuf *m,
    struct qgw_flow_counters *fc)
{
	uint16_t et = 0;
	uint32_t l3off = qgw_l3_offset(pt, rte_pktmbuf_mtod(m, const uint8_t *), m->data_len,
				       ETH_ADDRS + d->pop, &et);
	int r = l3off ? qgw_mss_clamp(d, m, l3off, et) : 0;

	if (r > 0)
		fc->mss_clamped++;
	else if (r < 0)
		fc->mss_bad_options++;
}

/*
 * Cheap test in front of mss(): false when the frame surely is not a TCP
 * SYN. Handles IPv4 right behind the popped tags or behind one 0x8100
 * customer tag, so inside the QGW_MIN_FRAME bytes the fast path may read:
 * IPv4 that is not TCP, and TCP without options in IPv4 without options
 * whose SYN bit is clear (a non-first fragment may look like a SYN: the
 * clamp itself checks). Everything else goes to the fuller filter.
 */
static inline bool
may_be_syn(const struct qgw_port_table *pt, const struct qgw_dp_dir *d, const struct rte_mbuf *m,
	   const uint8_t *p)
{
	const uint8_t *l3 = p + ETH_ADDRS + d->pop;
	uint16_t et;

	memcpy(&et, l3, sizeof(et));
	if (et == RTE_BE16(0x8100)) {
		l3 += TAG;
		memcpy(&et, l3, sizeof(et));
	}
	/* l3 is at most 12 + 8 + 4 bytes in: the TCP flags at +35 are in reach */
	RTE_BUILD_BUG_ON(ETH_ADDRS + 8 + TAG + 2 + 20 + 14 > QGW_MIN_FRAME);
	if (likely(et == RTE_BE16(0x0800))) {
		if (l3[2 + 9] != 6)
			return false;
		if (l3[2] == 0x45)
			return (l3[2 + 20 + 13] & 0x02) != 0;
	}
	return maybe_syn(pt, d, m);
}

/* What the slow path of one burst keeps: kept in memory, off the fast
 * path's registers. */
struct slow {
	uint16_t nb_drop;
	uint16_t nb_back;
	uint64_t back_bytes;
	uint64_t tx_extra; /**< tx bytes of slow frames, minus their rx bytes */
	struct rte_mbuf *drops[QGW_BURST];
};

/*
 * Everything the fast path leaves out, for one frame: frames with a short
 * first segment, drops found by the classification, frames over the flow's
 * mtu or the egress max_frame (ICMP or drop), frames that need padding once
 * rewritten. Counts the frame and stores its flow entry in *dp. Returns
 * true when the frame goes out of the egress port.
 */
static __rte_noinline bool
frame_slow(const struct qgw_port_table *pt, unsigned int in, const struct qgw_dp_dir **dp,
	   struct rte_mbuf *m, struct qgw_dp_ctx *ctx, struct slow *s, struct qgw_dp_out *back)
{
	struct qgw_port_counters *pc = &ctx->c->port[in];
	const struct qgw_dp_dir *d = *dp;
	struct qgw_flow_counters *fc;
	uint32_t len = m->pkt_len;
	unsigned int reason;

	if (d->drop == RECLASSIFY)
		*dp = d = classify_slow(pt, m);
	if (d->drop) {
		pc->drop[d->drop - 1u]++;
		goto drop;
	}
	fc = flow_counters(ctx->c, d);
	count_frame(fc, len);
	if (len > d->safe_len) {
		uint32_t l3off, limit;
		uint16_t et = 0;

		limit = size_check(pt, d, m, &l3off, &et);
		if (limit != 0) {
			pc->drop[QGW_DROP_OVERSIZE]++;
			fc->drop[QGW_DROP_OVERSIZE]++;
			if (!qgw_oversize(pt, d, in, m, l3off, et, limit, ctx, fc))
				goto drop;
			s->back_bytes += m->pkt_len;
			back->dir[s->nb_back] = d;
			back->pkts[s->nb_back++] = m;
			s->tx_extra -= len;
			return false;
		}
	}
	if (d->mss_any && maybe_syn(pt, d, m))
		mss(pt, d, m, fc);
	reason = rewrite(d, m);
	if (unlikely(reason != 0)) {
		pc->drop[reason]++;
		fc->drop[reason]++;
		goto drop;
	}
	s->tx_extra += m->pkt_len - (uint64_t)len;
	return true;
drop:
	s->drops[s->nb_drop++] = m;
	s->tx_extra -= len;
	return false;
}

void
qgw_dp_burst(const struct qgw_table *t, unsigned int in, struct rte_mbuf **pkts, uint16_t nb,
	     struct qgw_dp_out *out, struct qgw_dp_out *back, struct qgw_dp_ctx *ctx)
{
	const struct qgw_port_table *pt = &t->port[in];
	struct qgw_worker_counters *const c = ctx->c;
	const struct qgw_dp_dir **dirs = out->dir;
	struct slow s;
	uint64_t rx_bytes = 0;
	uint16_t i, nb_out = 0;

	s.nb_drop = 0;
	s.nb_back = 0;
	s.back_bytes = 0;
	s.tx_extra = 0;
	for (i = 0; i < nb && i < 2; i++)
		rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void *));

	/*
	 * Two passes: classify the whole burst first, prefetching each frame's
	 * counters, so that the second pass (counters, MSS, rewrite) finds them
	 * in cache instead of waiting for each in turn. The entries go to
	 * out->dir[], which the second pass compacts in place.
	 */
	for (i = 0; i + 2 < nb; i++) {
		rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 2], void *));
		dirs[i] = classify(pt, pkts[i]);
		rte_prefetch0((const char *)c + dirs[i]->cnt_off);
	}
	for (; i < nb; i++) {
		dirs[i] = classify(pt, pkts[i]);
		rte_prefetch0((const char *)c + dirs[i]->cnt_off);
	}

	/*
	 * Frames rewritten in place leave as long as they came: the tx byte
	 * count is the rx count plus what the others changed (s.tx_extra).
	 */
	for (i = 0; i < nb; i++) {
		struct rte_mbuf *m = pkts[i];
		const struct qgw_dp_dir *d = dirs[i];
		struct qgw_flow_counters *fc;
		uint32_t len = m->pkt_len;
		uint64_t tags;
		uint8_t *p;

		rx_bytes += len;
		/* One comparison: no drop, not oversize, no padding. */
		if (unlikely(len - d->fast_lo > d->fast_span)) {
			if (!frame_slow(pt, in, &dirs[i], m, ctx, &s, back))
				continue;
			d = dirs[i];
			goto out;
		}
		p = rte_pktmbuf_mtod(m, uint8_t *);
		fc = flow_counters(c, d);
		count_frame(fc, len);
		if (d->mss_any && may_be_syn(pt, d, m, p))
			mss(pt, d, m, fc);

		memcpy(&tags, p + ETH_ADDRS, 8);
		tags = d->tags | (tags & d->keep);
		if (likely(d->move == 0)) {
			/* In place: `keep` also covers the bytes behind the pushed
			 * tags, written back unchanged. */
			memcpy(p + ETH_ADDRS, &tags, 8);
		} else if (likely(rewrite_move(d, m, tags) == 0)) {
			s.tx_extra += d->move;
		} else {
			c->port[in].drop[QGW_DROP_NO_HEADROOM]++;
			fc->drop[QGW_DROP_NO_HEADROOM]++;
			s.drops[s.nb_drop++] = m;
			s.tx_extra -= len;
			continue;
		}
out:
		dirs[nb_out] = d;
		out->pkts[nb_out++] = m;
	}

	out->nb = nb_out;
	out->bytes = rx_bytes + s.tx_extra;
	back->nb = s.nb_back;
	back->bytes = s.back_bytes;
	c->port[in].rx_pkts += nb;
	c->port[in].rx_bytes += rx_bytes;
	if (s.nb_drop)
		rte_pktmbuf_free_bulk(s.drops, s.nb_drop);
}

void
qgw_dp_back_done(unsigned int in, const struct qgw_dp_out *back, uint16_t sent,
		 struct qgw_worker_counters *c)
{
	struct qgw_port_counters *pc = &c->port[in];
	uint64_t bytes = back->bytes;

	for (uint16_t i = sent; i < back->nb; i++)
		bytes -= back->pkts[i]->pkt_len;
	if (sent < back->nb) {
		pc->icmp_tx_full += back->nb - sent;
		rte_pktmbuf_free_bulk((struct rte_mbuf **)back->pkts + sent, back->nb - sent);
	}
	pc->icmp_sent += sent;
	pc->tx_pkts += sent;
	pc->tx_bytes += bytes;
}

void
qgw_dp_tx_done(unsigned int in, const struct qgw_dp_out *out, uint16_t sent,
	       struct qgw_worker_counters *c)
{
	struct qgw_port_counters *egress = &c->port[1 - in];
	uint64_t bytes = out->bytes;

	for (uint16_t i = sent; i < out->nb; i++) {
		struct qgw_flow_counters *fc =
			(struct qgw_flow_counters *)((char *)c + out->dir[i]->cnt_off);

		c->port[in].drop[QGW_DROP_TX_FULL]++;
		fc->drop[QGW_DROP_TX_FULL]++;
		bytes -= out->pkts[i]->pkt_len;
	}
	if (sent < out->nb)
		rte_pktmbuf_free_bulk((struct rte_mbuf **)out->pkts + sent, out->nb - sent);
	egress->tx_pkts += sent;
	egress->tx_bytes += bytes;
}
