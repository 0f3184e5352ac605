/*
 * The flow table: the one structure the data path reads.
 *
 * The control plane builds it from a validated config (lib/control/table.c),
 * publishes it with one pointer store and never changes it afterwards; the
 * workers only read it. Everything a frame needs is precomputed here: per
 * ingress port, a TPID map, a direct array indexed by (TPID, VID) for the
 * outermost tag, a small open-addressing hash for two-tag stacks, and per
 * flow the egress tag bytes in wire order with pop/push byte counts.
 */
#ifndef QGW_TABLE_H
#define QGW_TABLE_H

#include <stdint.h>

#include <rte_common.h>

#include "qgw_config.h"
#include "qgw_counters.h"

#define QGW_VID_SPACE 4096

/* Values of qgw_port_table.tpid[] other than a TPID index + 1. */
#define QGW_TPID_NONE 0	     /**< not a tag: an EtherType of a payload */
#define QGW_TPID_OTHER 0xff  /**< a tag TPID that no flow of this port uses */

/**
 * What to do with a frame of one flow received on one port: one cache line.
 * The first fields are what every frame reads; the rest only frames that
 * leave the fast path. Entry 0 of a port's dir[] is the "no flow" entry,
 * whose `drop` sends every frame to the slow path as a no_flow drop.
 */
struct qgw_dp_dir {
	uint64_t tags;	/**< egress tag bytes, wire order, with the `keep` bits cleared */
	uint64_t keep;	/**< bits of the received bytes behind the MACs kept (PCP/DEI...) */
	uint32_t cnt_off; /**< byte offset of flow[slot][in] in struct qgw_worker_counters */
	/*
	 * Fast path: a frame of length len with (len - fast_lo) <= fast_span
	 * (unsigned) is neither over mtu nor over the egress max_frame, and is
	 * at least QGW_MIN_FRAME once rewritten (needs no padding).
	 */
	uint32_t fast_lo;
	uint32_t fast_span;
	int8_t move;	 /**< push - pop: 0 rewrites in place */
	uint8_t pop;	 /**< bytes of tags popped: 0, 4 or 8 */
	uint8_t push;	 /**< bytes of tags pushed: 0, 4 or 8 */
	uint8_t mss_any; /**< mss4 or mss6 is set */
	uint8_t drop;	 /**< nonzero: every frame is dropped, reason drop - 1 */
	uint8_t out;	 /**< egress port index */
	uint8_t icmp;	 /**< 1: answer oversize IP frames with ICMP / ICMPv6 */
	uint32_t slot;	 /**< flow counter slot */
	uint32_t safe_len; /**< frames up to this long can be neither over mtu nor max_frame */
	uint16_t mtu;	   /**< largest L3 packet (bytes after all tags) */
	uint16_t max_out;  /**< egress port's max_frame */
	uint16_t mss4;	   /**< TCP MSS clamp, IPv4; 0: off */
	uint16_t mss6;	   /**< TCP MSS clamp, IPv6; 0: off */
	uint32_t icmp_burst; /**< ICMP token bucket depth in messages (config: 1..1000000) */
	uint64_t icmp_cost;  /**< ICMP token bucket: TSC cycles a message costs, 0: never send */
} __rte_cache_aligned;
_Static_assert(sizeof(struct qgw_dp_dir) == RTE_CACHE_LINE_SIZE, "one flow entry, one cache line");

/** Direct-array entry for one outermost (TPID, VID). */
struct qgw_l1 {
	uint16_t flow; /**< index + 1 of the one-tag flow, else `any` (0: none) */
	uint8_t l2;    /**< nonzero: some two-tag flow starts with this tag */
	uint8_t one;   /**< nonzero: `flow` is the one-tag flow of this tag (control plane) */
};

/** Two-tag hash slot; key 0 marks an empty slot (a TPID is never 0). */
struct qgw_l2 {
	uint64_t key; /**< the 8 tag bytes, wire order, PCP/DEI bits cleared */
	uint32_t flow; /**< index + 1 */
	uint32_t reserved;
};

/**
 * What the oversize forensics record of a flow besides its slot: cold, read
 * only when an oversize event is logged.
 */
struct qgw_flow_info {
	char name[QGW_FLOW_NAME_MAX];
	uint32_t slot_gen; /**< generation of the flow's counter slot (runtime sets it) */
};

/** Lookup structures for frames received on one port. */
struct qgw_port_table {
	uint8_t tpid[65536];   /**< EtherType -> TPID index + 1, QGW_TPID_NONE/OTHER */
	struct qgw_l1 *l1;     /**< [TPID index][VID], then one row for frames of no TPID index */
	/**
	 * Row of l1 for each value of tpid[]: NONE, OTHER and unused values
	 * point to the last row. Every entry of l1 without a one-tag flow holds
	 * `any`, so a lookup needs no fallback.
	 */
	const struct qgw_l1 *row[256];
	struct qgw_l2 *l2;     /**< l2_mask + 1 slots, NULL without two-tag flows */
	uint32_t l2_mask;
	uint32_t l2_shift;     /**< 64 - log2(l2_mask + 1) */
	uint16_t any;	       /**< index + 1 of the untagged (catch-all) flow, 0: none */
	struct qgw_dp_dir *dir; /**< [0]: no flow; [f + 1]: flow f */
	struct qgw_flow_info *info; /**< [f]: flow f; the same array for every port */
};

struct qgw_table {
	uint64_t generation; /**< config generation this table was built from */
	uint32_t max_frame[QGW_NB_PORTS]; /**< per port, bytes without FCS */
	uint32_t nb_flows;
	struct qgw_port_table port[QGW_NB_PORTS];
};

/** Mask that clears PCP/DEI in the 8 tag bytes of a two-tag key, wire order. */
static inline uint64_t
qgw_l2_key_mask(void)
{
	const uint8_t m[8] = {0xff, 0xff, 0x0f, 0xff, 0xff, 0xff, 0x0f, 0xff};
	uint64_t v;

	__builtin_memcpy(&v, m, sizeof(v));
	return v;
}

static inline uint32_t
qgw_l2_hash(uint64_t key, uint32_t shift)
{
	return (uint32_t)((key * UINT64_C(0x9e3779b97f4a7c15)) >> shift);
}

/**
 * Build a table from a validated config.
 *
 * @param cfg
 *   A config returned by qgw_config_load_*().
 * @param slots
 *   Counter slot of each flow (cfg->nb_flows entries), or NULL for the
 *   flow index.
 * @param generation
 *   Stored in the table.
 * @param socket
 *   NUMA socket of the memory (SOCKET_ID_ANY for any).
 * @return
 *   The table, or NULL with errno set.
 */
struct qgw_table *qgw_table_build(const struct qgw_config *cfg, const uint32_t *slots,
				  uint64_t generation, int socket);

/** Free a table; NULL is accepted. */
void qgw_table_free(struct qgw_table *t);

#endif /* QGW_TABLE_H */
