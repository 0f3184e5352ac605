/*
 * Per-flow MTU enforcement: TCP MSS clamping on SYN / SYN-ACK, and what
 * happens to a frame that is too big for its flow: an ICMP "fragmentation
 * needed" (IPv4 with DF) or ICMPv6 "packet too big" built in place from the
 * offending frame and sent back inside its whole tag stack, rate-limited per
 * flow direction, and a forensics entry in the stats segment.
 *
 * Every read is bounded by the first segment's length: headers that do not
 * fit there are treated as absent, never read past.
 */
#include "datapath_internal.h"

#include <string.h>

#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_ip.h>

#define ETHER_IPV4 0x0800
#define ETHER_IPV6 0x86dd
#define IPV4_MIN 20
#define IPV6_HDR 40
#define ICMP_HDR 8
#define TCP_MIN 20
#define PROTO_ICMP 1
#define PROTO_TCP 6
#define PROTO_UDP 17
#define PROTO_ICMPV6 58
#define TCP_SYN 0x02
#define TCPOPT_EOL 0
#define TCPOPT_NOP 1
#define TCPOPT_MSS 2
/* RFC 1812 4.3.2.3: an ICMP error holds as much as fits in 576 bytes. */
#define ICMP4_MAX 576
/* RFC 4443 2.4(c): ... without exceeding the minimum IPv6 MTU. */
#define ICMP6_MAX 1280

/*
 * Offset of the upper-layer header of an IPv6 packet, walking extension
 * headers (RFC 8200 order: hop-by-hop, destination options, routing,
 * fragment, ...); *proto receives its protocol. 0 if it is not in the first
 * `avail` bytes or the packet is a non-first fragment.
 */
#define IPV6_MAX_EXT 8
static uint32_t
ipv6_upper(const uint8_t *p, uint32_t avail, uint32_t l3off, uint8_t *proto)
{
	uint32_t off = l3off + IPV6_HDR;
	uint8_t nh = p[l3off + 6];

	for (unsigned int i = 0; i <= IPV6_MAX_EXT; i++) {
		switch (nh) {
		case 0:	 /* hop-by-hop */
		case 43: /* routing */
		case 60: /* destination options */
			if (off + 2 > avail)
				return 0;
			nh = p[off];
			off += (p[off + 1] + 1) * 8;
			break;
		case 44: /* fragment: only the first one holds the upper-layer header */
			if (off + 8 > avail || (rd16(p + off + 2) & 0xfff8) != 0)
				return 0;
			nh = p[off];
			off += 8;
			break;
		default:
			*proto = nh;
			return off;
		}
	}
	return 0;
}

static uint32_t
ipv6_tcp(const uint8_t *p, uint32_t avail, uint32_t l3off)
{
	uint8_t proto = 0;
	uint32_t off = ipv6_upper(p, avail, l3off, &proto);

	return proto == PROTO_TCP ? off : 0;
}

/* One's complement update of a checksum for a 16-bit field change (RFC 1624). */
static uint16_t
csum_replace(uint16_t csum, uint16_t old, uint16_t new)
{
	uint32_t s = (uint16_t)~csum + (uint16_t)~old + (uint32_t)new;

	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

int
qgw_mss_clamp(const struct qgw_dp_dir *d, struct rte_mbuf *m, uint32_t l3off, uint16_t et)
{
	uint8_t *p = rte_pktmbuf_mtod(m, uint8_t *);
	uint32_t avail = m->data_len, tcp, doff, i;
	uint16_t limit;

	if (et == ETHER_IPV4 && d->mss4) {
		uint32_t ihl;

		if (l3off + IPV4_MIN > avail || (p[l3off] >> 4) != 4 || p[l3off + 9] != PROTO_TCP ||
		    (rd16(p + l3off + 6) & 0x1fff) != 0)
			return 0;
		ihl = (p[l3off] & 0x0f) * 4u;
		if (ihl < IPV4_MIN || rd16(p + l3off + 2) < ihl)
			return 0;
		/* Never read or write past the IP packet, whatever the frame holds. */
		avail = RTE_MIN(avail, l3off + rd16(p + l3off + 2));
		tcp = l3off + ihl;
		limit = d->mss4;
	} else if (et == ETHER_IPV6 && d->mss6) {
		if (l3off + IPV6_HDR > avail || (p[l3off] >> 4) != 6)
			return 0;
		avail = RTE_MIN(avail, l3off + IPV6_HDR + rd16(p + l3off + 4));
		tcp = ipv6_tcp(p, avail, l3off);
		if (tcp == 0)
			return 0;
		limit = d->mss6;
	} else {
		return 0;
	}

	if (tcp + TCP_MIN > avail || !(p[tcp + 13] & TCP_SYN))
		return 0;
	doff = (p[tcp + 12] >> 4) * 4u;
	if (doff < TCP_MIN || tcp + doff > avail)
		return -1;

	for (i = TCP_MIN; i < doff;) {
		uint8_t kind = p[tcp + i], len;
		uint16_t mss;

		if (kind == TCPOPT_EOL)
			return 0;
		if (kind == TCPOPT_NOP) {
			i++;
			continue;
		}
		if (i + 2 > doff)
			return -1;
		len = p[tcp + i + 1];
		if (len < 2 || i + len > doff)
			return -1;
		if (kind == TCPOPT_MSS) {
			uint16_t old_w, new_w;

			if (len != 4)
				return -1;
			mss = rd16(p + tcp + i + 2);
			if (mss <= limit)
				return 0;
			/* At an odd offset the value straddles two checksum words. */
			old_w = (i & 1) ? rte_bswap16(mss) : mss;
			new_w = (i & 1) ? rte_bswap16(limit) : limit;
			wr16(p + tcp + i + 2, limit);
			wr16(p + tcp + 16, csum_replace(rd16(p + tcp + 16), old_w, new_w));
			return 1;
		}
		i += len;
	}
	return 0;
}

/* The forensics entry: what an operator needs to find the sender. */
static void
log_event(const struct qgw_port_table *pt, unsigned int in, const struct qgw_dp_dir *d,
	  const struct rte_mbuf *m, uint32_t l3off, uint16_t et, uint32_t limit, uint8_t action,
	  struct qgw_event_ring *r)
{
	const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);
	uint32_t avail = m->data_len, l4 = 0, off;
	struct qgw_event *e;

	if (r == NULL)
		return;
	e = qgw_event_begin(r);
	e->tsc = rte_rdtsc();
	e->slot = d->slot;
	if (pt->info != NULL && d > pt->dir) {
		const struct qgw_flow_info *fi = &pt->info[d - pt->dir - 1];

		_Static_assert(sizeof(e->flow) == sizeof(fi->name), "event flow name");
		e->slot_gen = fi->slot_gen;
		memcpy(e->flow, fi->name, sizeof(e->flow));
	} else {
		e->slot_gen = 0;
		e->flow[0] = '\0';
	}
	e->frame_len = m->pkt_len > UINT16_MAX ? UINT16_MAX : (uint16_t)m->pkt_len;
	e->l3_len = l3off && m->pkt_len - l3off <= UINT16_MAX ? (uint16_t)(m->pkt_len - l3off) : 0;
	e->limit = (uint16_t)limit;
	e->ethertype = l3off ? et : 0;
	e->port = (uint8_t)in;
	e->action = action;
	e->proto = 0;
	e->nb_tags = 0;
	memset(e->tags, 0, sizeof(e->tags));
	for (off = ETH_ADDRS; off + TAG <= avail && pt->tpid[rd16(p + off)] != QGW_TPID_NONE;
	     off += TAG) {
		if (e->nb_tags < QGW_EVENT_TAGS)
			memcpy(&e->tags[e->nb_tags], p + off, TAG);
		e->nb_tags++;
	}
	memset(e->src, 0, sizeof(e->src));
	memset(e->dst, 0, sizeof(e->dst));
	e->sport = e->dport = 0;
	if (l3off && et == ETHER_IPV4 && l3off + IPV4_MIN <= avail) {
		memcpy(e->src, p + l3off + 12, 4);
		memcpy(e->dst, p + l3off + 16, 4);
		e->proto = p[l3off + 9];
		if ((rd16(p + l3off + 6) & 0x1fff) == 0)
			l4 = l3off + (p[l3off] & 0x0f) * 4u;
	} else if (l3off && et == ETHER_IPV6 && l3off + IPV6_HDR <= avail) {
		memcpy(e->src, p + l3off + 8, 16);
		memcpy(e->dst, p + l3off + 24, 16);
		e->proto = p[l3off + 6];
		l4 = l3off + IPV6_HDR;
	}
	if (l4 && (e->proto == PROTO_TCP || e->proto == PROTO_UDP) && l4 + 4 <= avail) {
		e->sport = rd16(p + l4);
		e->dport = rd16(p + l4 + 2);
	}
	qgw_event_commit(r, e);
}

/* Take one token from the flow direction's bucket; false when empty. */
static bool
icmp_allowed(const struct qgw_dp_dir *d, struct qgw_icmp_bucket *b)
{
	uint64_t now = rte_rdtsc(), credit, depth = d->icmp_cost * d->icmp_burst;

	if (d->icmp_cost == 0)
		return false;
	credit = b->last == 0 ? depth : b->credit + (now - b->last);
	if (credit > depth)
		credit = depth;
	b->last = now;
	if (credit < d->icmp_cost) {
		b->credit = credit;
		return false;
	}
	b->credit = credit - d->icmp_cost;
	return true;
}

/* May an ICMP error answer this IPv4 packet? (RFC 1812 4.3.2.7) */
static bool
ipv4_answerable(const uint8_t *ip, uint32_t avail_l3)
{
	/* byte loads: an IP header behind an Ethernet header is not 4-aligned */
	uint32_t src = (uint32_t)rd16(ip + 12) << 16 | rd16(ip + 14);
	uint32_t dst = (uint32_t)rd16(ip + 16) << 16 | rd16(ip + 18);
	uint32_t ihl = (ip[0] & 0x0f) * 4u;

	if ((rd16(ip + 6) & 0x1fff) != 0) /* not the first fragment */
		return false;
	/* zero, loopback, multicast (224/4), class E (240/4) and broadcast */
	if (src == 0 || (src >> 28) >= 0xe || (src >> 24) == 127)
		return false;
	/* Our source would be that destination: it must be an address a host
	 * accepts packets from (not 0.0.0.0, loopback, multicast, class E or
	 * broadcast). */
	if (dst == 0 || (dst >> 28) >= 0xe || (dst >> 24) == 127)
		return false;
	/* Never an ICMP error about an ICMP error. */
	if (ip[9] == PROTO_ICMP && ihl + 1 <= avail_l3) {
		uint8_t type = ip[ihl];

		if (type == 3 || type == 4 || type == 5 || type == 11 || type == 12)
			return false;
	}
	return true;
}

static bool
ipv6_answerable(const uint8_t *ip, uint32_t avail_l3)
{
	static const uint8_t zero[16];
	static const uint8_t loopback[16] = {[15] = 1};

	uint8_t proto = 0;
	uint32_t l4;

	if (memcmp(ip + 8, zero, 16) == 0 || ip[8] == 0xff) /* unspecified or multicast src */
		return false;
	/* Our source would be that destination: RFC 4443 2.2 wants it unicast,
	 * and neither :: nor ::1 is an address a host accepts packets from. */
	if (ip[24] == 0xff || memcmp(ip + 24, zero, 16) == 0 || memcmp(ip + 24, loopback, 16) == 0)
		return false;
	l4 = ipv6_upper(ip, avail_l3, 0, &proto);

	if (l4 != 0 && proto == PROTO_ICMPV6 && l4 + 1 <= avail_l3 && ip[l4] < 128)
		return false; /* an ICMPv6 error, even behind extension headers */
	return true;
}

/*
 * Rebuild m in place as the ICMP error: [L2 header as received, MACs
 * swapped][new IP header][ICMP header][start of the offending packet].
 * The L2 header moves down by the new headers' size; the quoted packet
 * stays where it is; the rest of the frame is cut.
 */
static bool
build_icmp(struct rte_mbuf *m, uint32_t l3off, bool v6, uint32_t quote, uint32_t mtu)
{
	uint32_t hdrs = v6 ? IPV6_HDR + ICMP_HDR : IPV4_MIN + ICMP_HDR;
	uint8_t *q, *ip, *orig, mac[6];

	if (rte_pktmbuf_headroom(m) >= hdrs) {
		q = (uint8_t *)rte_pktmbuf_prepend(m, (uint16_t)hdrs);
		memmove(q, q + hdrs, l3off);
	} else if ((uint32_t)(m->buf_len - m->data_off) >= l3off + hdrs + quote) {
		/* No headroom: the quote moves up instead of the L2 header down. */
		q = rte_pktmbuf_mtod(m, uint8_t *);
		memmove(q + l3off + hdrs, q + l3off, quote);
	} else {
		return false;
	}
	memcpy(mac, q, 6);
	memcpy(q, q + 6, 6);
	memcpy(q + 6, mac, 6);
	ip = q + l3off;
	orig = ip + hdrs;

	if (m->next != NULL) {
		rte_pktmbuf_free(m->next);
		m->next = NULL;
		m->nb_segs = 1;
	}
	m->data_len = (uint16_t)(l3off + hdrs + quote);
	m->pkt_len = m->data_len;

	if (!v6) {
		struct rte_ipv4_hdr *h = (struct rte_ipv4_hdr *)ip;
		uint8_t *icmp = ip + IPV4_MIN;
		uint16_t ck;

		h->version_ihl = 0x45;
		h->type_of_service = 0xc0; /* internetwork control, as hosts send ICMP errors */
		h->total_length = rte_cpu_to_be_16((uint16_t)(IPV4_MIN + ICMP_HDR + quote));
		h->packet_id = 0;
		h->fragment_offset = 0;
		h->time_to_live = 64;
		h->next_proto_id = PROTO_ICMP;
		h->hdr_checksum = 0;
		memcpy(&h->src_addr, orig + 16, 4); /* from the destination the sender tried */
		memcpy(&h->dst_addr, orig + 12, 4);
		h->hdr_checksum = rte_ipv4_cksum(h);
		icmp[0] = 3; /* destination unreachable */
		icmp[1] = 4; /* fragmentation needed and DF set */
		icmp[2] = icmp[3] = icmp[4] = icmp[5] = 0;
		wr16(icmp + 6, (uint16_t)mtu);
		ck = (uint16_t)~rte_raw_cksum(icmp, ICMP_HDR + quote);
		memcpy(icmp + 2, &ck, 2);
	} else {
		struct rte_ipv6_hdr *h = (struct rte_ipv6_hdr *)ip;
		uint8_t *icmp = ip + IPV6_HDR;
		uint16_t ck;

		h->vtc_flow = rte_cpu_to_be_32(6u << 28);
		h->payload_len = rte_cpu_to_be_16((uint16_t)(ICMP_HDR + quote));
		h->proto = PROTO_ICMPV6;
		h->hop_limits = 64;
		memcpy(h->src_addr, orig + 24, 16);
		memcpy(h->dst_addr, orig + 8, 16);
		icmp[0] = 2; /* packet too big */
		icmp[1] = 0;
		icmp[2] = icmp[3] = 0;
		icmp[4] = (uint8_t)(mtu >> 24);
		icmp[5] = (uint8_t)(mtu >> 16);
		icmp[6] = (uint8_t)(mtu >> 8);
		icmp[7] = (uint8_t)mtu;
		ck = rte_ipv6_udptcp_cksum(h, icmp);
		memcpy(icmp + 2, &ck, 2);
	}
	return true;
}

bool
qgw_oversize(const struct qgw_port_table *pt, const struct qgw_dp_dir *d, unsigned int in,
	     struct rte_mbuf *m, uint32_t l3off, uint16_t et, uint32_t limit,
	     struct qgw_dp_ctx *ctx, struct qgw_flow_counters *fc)
{
	const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);
	uint32_t avail = m->data_len, avail_l3, quote = 0;
	uint8_t action = QGW_EV_DROPPED;
	bool v6 = et == ETHER_IPV6, send = false;

	if (m->pkt_len > fc->max_oversize)
		fc->max_oversize = m->pkt_len;
	avail_l3 = l3off && l3off < avail ? avail - l3off : 0;

	if (!d->icmp || l3off == 0 || (p[0] & 0x01)) {
		/*
		 * drop only, not an IP packet we can find, or sent to a group
		 * (broadcast, multicast) MAC: no ICMP error for those (RFC 1812
		 * 4.3.2.7, RFC 4443 2.4 e.3), whatever the IP destination says.
		 */
	} else if (et == ETHER_IPV4 && avail_l3 >= IPV4_MIN && (p[l3off] >> 4) == 4 &&
		   (p[l3off] & 0x0f) >= 5 && rd16(p + l3off + 2) >= (p[l3off] & 0x0f) * 4u) {
		/* (a total length under the header length is no packet to quote) */
		if (!(p[l3off + 6] & 0x40)) {
			action = QGW_EV_DF_CLEAR;
			fc->df_clear++;
		} else if (ipv4_answerable(p + l3off, avail_l3)) {
			send = true;
		}
	} else if (v6 && avail_l3 >= IPV6_HDR && (p[l3off] >> 4) == 6) {
		send = ipv6_answerable(p + l3off, avail_l3);
	}

	if (send) {
		uint32_t l3len = m->pkt_len - l3off;
		uint32_t hdrs = v6 ? IPV6_HDR + ICMP_HDR : IPV4_MIN + ICMP_HDR;

		if (!v6) {
			uint32_t tot = rd16(p + l3off + 2);

			quote = RTE_MIN(RTE_MIN(l3len, tot), (uint32_t)(ICMP4_MAX - IPV4_MIN - ICMP_HDR));
		} else {
			uint32_t tot = IPV6_HDR + rd16(p + l3off + 4);

			quote = RTE_MIN(RTE_MIN(l3len, tot), (uint32_t)(ICMP6_MAX - IPV6_HDR - ICMP_HDR));
		}
		quote = RTE_MIN(quote, avail_l3);
		/* The error is built in this buffer: no room, no ICMP (and no token). */
		if (rte_pktmbuf_headroom(m) < hdrs &&
		    (uint32_t)(m->buf_len - m->data_off) < l3off + hdrs + quote)
			send = false;
	}
	if (send && !icmp_allowed(d, &ctx->bucket[d->slot * QGW_NB_PORTS + in])) {
		send = false;
		action = QGW_EV_ICMP_SUPPRESSED;
		fc->icmp_suppressed++;
	}
	if (send)
		action = QGW_EV_ICMP_SENT;
	log_event(pt, in, d, m, l3off, et, limit, action, ctx->events[in]);
	if (!send || !build_icmp(m, l3off, v6, quote, limit))
		return false;
	fc->icmp_sent++;
	return true;
}
