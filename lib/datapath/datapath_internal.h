/*
 * What the data path's files share and nobody else needs: header offsets and
 * the per-frame MTU, MSS and ICMP helpers (mtu.c) called by the burst loop
 * (rewrite.c).
 */
#ifndef QGW_DATAPATH_INTERNAL_H
#define QGW_DATAPATH_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_mbuf.h>

#include "qgw_datapath.h"

#define ETH_ADDRS 12 /* destination + source MAC */
#define ETH_HDR 14
#define TAG 4
/* Tags after the popped ones that the L3 parser walks over (customer tags). */
#define MAX_INNER_TAGS 4

static inline uint16_t
rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline void
wr16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

/**
 * Find the L3 header behind the popped tags and any customer tags.
 *
 * @param off
 *   Offset of the EtherType field right after the popped tags (12 + pop).
 * @param et
 *   Receives the EtherType of the L3 packet.
 * @return
 *   Offset of the L3 header in the first segment, or 0 if the tags run past
 *   the first segment or are more than MAX_INNER_TAGS.
 */
static inline uint32_t
qgw_l3_offset(const struct qgw_port_table *pt, const uint8_t *p, uint32_t avail, uint32_t off,
	      uint16_t *et)
{
	for (unsigned int i = 0; i <= MAX_INNER_TAGS; i++) {
		uint16_t t;

		if (off + 2 > avail)
			return 0;
		t = rd16(p + off);
		if (pt->tpid[t] == QGW_TPID_NONE) {
			*et = t;
			return off + 2;
		}
		off += TAG;
	}
	return 0;
}

/**
 * Clamp the MSS option of a TCP SYN / SYN-ACK to the flow's limit, with an
 * incremental checksum update (RFC 1624). Other frames are left alone.
 *
 * @return
 *   0 untouched, 1 clamped, -1 a SYN whose options are malformed or truncated
 *   (left untouched).
 */
int qgw_mss_clamp(const struct qgw_dp_dir *d, struct rte_mbuf *m, uint32_t l3off, uint16_t et);

/**
 * Handle a frame over the flow's mtu or the egress max_frame: log it, and
 * when the flow answers with ICMP (rate permitting), turn the frame in place
 * into an ICMP fragmentation-needed / ICMPv6 packet-too-big for its sender,
 * inside the frame's whole tag stack as received.
 *
 * @param limit
 *   The L3 size the frame may have (reported as the next-hop MTU).
 * @return
 *   true if m is now the ICMP error to send out of the ingress port; false
 *   if m is to be dropped (counted by the caller as oversize).
 */
bool qgw_oversize(const struct qgw_port_table *pt, const struct qgw_dp_dir *d, unsigned int in,
		  struct rte_mbuf *m, uint32_t l3off, uint16_t et, uint32_t limit,
		  struct qgw_dp_ctx *ctx, struct qgw_flow_counters *fc);

#endif /* QGW_DATAPATH_INTERNAL_H */
