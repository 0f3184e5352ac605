/*
 * Oversize forensics: the last QGW_EVENTS oversize frames seen on each
 * ingress port by each worker, with enough of the frame (tags, addresses,
 * ports) for an operator to see at once who sends what.
 *
 * Each ring lives in the stats segment and has one writer, its worker. An
 * entry is written under its own sequence number (odd while being written,
 * release stores around the copy); readers copy an entry and keep it only if
 * the sequence was even and unchanged across the copy, so they never block
 * the worker and never show a half-written entry.
 */
#ifndef QGW_EVENTS_H
#define QGW_EVENTS_H

#include <stdint.h>
#include <string.h>

#include <rte_common.h>

#define QGW_EVENTS 64 /**< entries per worker and ingress port */
#define QGW_EVENT_TAGS 4

/** What the gateway did with an oversize frame. */
enum qgw_event_action {
	QGW_EV_ICMP_SENT = 1,	   /**< ICMP / ICMPv6 error sent back to the sender */
	QGW_EV_ICMP_SUPPRESSED = 2, /**< rate limit reached: dropped without ICMP */
	QGW_EV_DF_CLEAR = 3,	   /**< IPv4 without DF: dropped (an L2 device does not fragment) */
	QGW_EV_DROPPED = 4,	   /**< oversize "drop", non-IP, or no ICMP allowed (e.g. ICMP error) */
};

struct qgw_event {
	uint64_t seq;	    /**< odd while being written */
	uint64_t tsc;	    /**< when (worker TSC; header has start_tsc/start_time) */
	uint32_t slot;	    /**< flow counter slot */
	uint16_t frame_len; /**< bytes on ingress (saturated at 65535) */
	uint16_t l3_len;    /**< bytes after all tags */
	uint16_t limit;	    /**< the L3 size that was allowed (flow mtu or what max_frame left) */
	uint16_t ethertype; /**< after all tags */
	uint8_t port;	    /**< ingress port index */
	uint8_t nb_tags;    /**< tags in the frame (up to QGW_EVENT_TAGS kept) */
	uint8_t action;	    /**< enum qgw_event_action */
	uint8_t proto;	    /**< IP protocol / IPv6 next header, 0 if not IP */
	uint32_t tags[QGW_EVENT_TAGS]; /**< TPID and TCI of each tag, wire order */
	uint8_t src[16];    /**< IPv4 in the first 4 bytes, or IPv6 */
	uint8_t dst[16];
	uint16_t sport, dport; /**< TCP/UDP ports, 0 otherwise */
	uint32_t slot_gen;  /**< generation of the slot when the event happened */
	char flow[64];	    /**< the flow's name when the event happened */
};

struct qgw_event_ring {
	uint64_t head; /**< entries ever written; the newest is (head - 1) % QGW_EVENTS */
	uint64_t reserved[7];
	struct qgw_event ev[QGW_EVENTS];
} __rte_cache_aligned;

/** Writer side: start an entry, fill *e, then qgw_event_commit(). */
static inline struct qgw_event *
qgw_event_begin(struct qgw_event_ring *r)
{
	struct qgw_event *e = &r->ev[r->head % QGW_EVENTS];

	__atomic_store_n(&e->seq, e->seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	return e;
}

static inline void
qgw_event_commit(struct qgw_event_ring *r, struct qgw_event *e)
{
	__atomic_store_n(&e->seq, e->seq + 1, __ATOMIC_RELEASE);
	__atomic_store_n(&r->head, r->head + 1, __ATOMIC_RELEASE);
}

/**
 * Reader side: copy entry i if it is stable.
 *
 * @return
 *   1 if *out holds a complete entry, 0 if it was empty or being written.
 */
static inline int
qgw_event_read(const struct qgw_event_ring *r, unsigned int i, struct qgw_event *out)
{
	const struct qgw_event *e = &r->ev[i % QGW_EVENTS];
	uint64_t s1 = __atomic_load_n(&e->seq, __ATOMIC_ACQUIRE), s2;

	if (s1 == 0 || (s1 & 1))
		return 0;
	memcpy(out, e, sizeof(*out));
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	s2 = __atomic_load_n(&e->seq, __ATOMIC_RELAXED);
	return s1 == s2;
}

#endif /* QGW_EVENTS_H */
