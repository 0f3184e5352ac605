/*
 * Named drop reasons.
 *
 * One X-macro list is the single source of the drop-reason enum, the names
 * that appear in the exit summary and stats, and their one-line explanations,
 * so code, readers and docs cannot disagree. Names are a contract with
 * operators' scripts: add reasons at the end, never rename one.
 */
#ifndef QGW_DROP_H
#define QGW_DROP_H

#define QGW_DROP_REASONS(_)                                                                        \
	_(NO_FLOW, "no_flow", "no flow matches the frame's outer tag stack (default deny)")        \
	_(RUNT, "runt", "frame shorter than an Ethernet header (14 bytes)")                        \
	_(BAD_TAG, "bad_tag", "one of the first three tags is truncated: a TPID with fewer than 4 bytes behind it") \
	_(UNPARSABLE, "unparsable", "the tag headers do not fit the first buffer segment")         \
	_(NO_HEADROOM, "no_headroom", "no room in the buffer to push the egress tags")             \
	_(TX_FULL, "tx_full", "the egress queue was full")                                         \
	_(OVERSIZE, "oversize", "over the flow's mtu or the egress max_frame (ICMP sent if enabled)")

enum qgw_drop {
#define QGW_DROP_ENUM(sym, name, help) QGW_DROP_##sym,
	QGW_DROP_REASONS(QGW_DROP_ENUM)
#undef QGW_DROP_ENUM
	QGW_DROP__MAX
};

/**
 * Name of a drop reason as shown to operators ("no_flow", ...).
 *
 * @param reason
 *   A value below QGW_DROP__MAX.
 * @return
 *   The name, or "unknown" for an out-of-range value.
 */
const char *qgw_drop_name(unsigned int reason);

/**
 * One-line explanation of a drop reason, for help texts and docs.
 */
const char *qgw_drop_help(unsigned int reason);

#endif /* QGW_DROP_H */
