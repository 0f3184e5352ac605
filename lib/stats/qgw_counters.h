/*
 * Every counter the gateway keeps, in one list per family.
 *
 * Each list entry is (field, name, prom, label, kind, column, help):
 *   field   the struct member the data path bumps;
 *   name    the exported name: JSON key, telemetry key, --all listing;
 *   prom    the Prometheus metric name;
 *   label   an extra Prometheus label ("state=\"busy\""), or "";
 *   kind    SUM (a counter, added up over workers), MAX (a gauge, the
 *           largest over workers) or GAUGE (one writer, shown as is);
 *   column  the header of its column in the qinqgw-stats table, or "";
 *   help    one line for HELP texts, telemetry and docs/stats.md.
 * The lists generate the structs below, the sum over workers, the stats
 * segment's counter directory (so readers learn names, kinds and offsets
 * from the segment, not from their own build), telemetry and the metric
 * table of docs/stats.md. Names and metric names are contracts with
 * operators' scripts: add entries, never rename one.
 *
 * Each worker owns one struct qgw_worker_counters and is its only writer:
 * plain 64-bit stores, no atomics per packet, cache-line aligned so workers
 * never share a line. Accounting per ingress port:
 *   rx_pkts = frames forwarded out of the other port + sum(drop[])
 * and per flow and ingress port:
 *   pkts = forwarded + sum(drop[]).
 * A port's tx_pkts also counts the ICMP errors sent out of it (icmp_sent), so
 *   rx_pkts(A) = tx_pkts(B) - icmp_sent(B) + sum(drop[] of A).
 */
#ifndef QGW_COUNTERS_H
#define QGW_COUNTERS_H

#include <stdint.h>

#include <rte_common.h>

#include "qgw_config.h"
#include "qgw_drop.h"

/** Per port, per worker (struct qgw_port_counters). */
#define QGW_PORT_COUNTERS(_)                                                                       \
	_(rx_pkts, "rx_packets", "qinqgw_port_rx_packets_total", "", SUM, "RX PKTS",               \
	  "Frames received on the port.")                                                          \
	_(rx_bytes, "rx_bytes", "qinqgw_port_rx_bytes_total", "", SUM, "RX BYTES",                 \
	  "Bytes of frames received on the port, without FCS.")                                    \
	_(tx_pkts, "tx_packets", "qinqgw_port_tx_packets_total", "", SUM, "TX PKTS",               \
	  "Frames sent out of the port (forwarded and ICMP errors).")                              \
	_(tx_bytes, "tx_bytes", "qinqgw_port_tx_bytes_total", "", SUM, "TX BYTES",                 \
	  "Bytes of frames sent out of the port, without FCS.")                                    \
	_(icmp_sent, "icmp_sent", "qinqgw_port_icmp_sent_total", "", SUM, "",                  \
	  "ICMP/ICMPv6 errors the gateway sent out of the port.")                                  \
	_(icmp_tx_full, "icmp_tx_full", "qinqgw_port_icmp_tx_full_total", "", SUM, "",             \
	  "ICMP/ICMPv6 errors lost because the port's queue was full.")

/** Per flow and direction (ingress port), per worker (struct qgw_flow_counters). */
#define QGW_FLOW_COUNTERS(_)                                                                       \
	_(pkts, "packets", "qinqgw_flow_packets_total", "", SUM, "PKTS",                           \
	  "Frames of the flow received on the direction's ingress port.")                          \
	_(bytes, "bytes", "qinqgw_flow_bytes_total", "", SUM, "BYTES",                             \
	  "Bytes of those frames on ingress, without FCS.")                                        \
	_(max_len, "max_frame", "qinqgw_flow_max_frame_bytes", "", MAX, "MAX FRAME",               \
	  "Largest frame of the flow seen on ingress.")                                            \
	_(max_oversize, "max_oversize", "qinqgw_flow_max_oversize_bytes", "", MAX, "",             \
	  "Largest frame of the flow dropped as oversize.")                                        \
	_(icmp_sent, "icmp_sent", "qinqgw_flow_icmp_sent_total", "", SUM, "ICMP",                  \
	  "ICMP/ICMPv6 errors sent back for oversize frames of the flow.")                         \
	_(icmp_suppressed, "icmp_suppressed", "qinqgw_flow_icmp_suppressed_total", "", SUM, "",    \
	  "Oversize frames not answered with ICMP because of the rate limit.")                     \
	_(df_clear, "df_clear", "qinqgw_flow_df_clear_total", "", SUM, "",                         \
	  "Oversize IPv4 frames without DF (dropped, no ICMP).")                                   \
	_(mss_clamped, "mss_clamped", "qinqgw_flow_mss_clamped_total", "", SUM, "MSS CLAMP",       \
	  "TCP SYN and SYN-ACK whose MSS option was lowered.")                                     \
	_(mss_bad_options, "mss_bad_options", "qinqgw_flow_mss_bad_options_total", "", SUM, "",    \
	  "TCP SYN with malformed or truncated options, left untouched.")

/** Per worker (the head of struct qgw_worker_counters). */
#define QGW_WORKER_COUNTERS(_)                                                                     \
	_(busy_polls, "busy_polls", "qinqgw_worker_polls_total", "state=\"busy\"", SUM, "",        \
	  "Worker loop iterations, busy (received frames) or idle.")                               \
	_(idle_polls, "idle_polls", "qinqgw_worker_polls_total", "state=\"idle\"", SUM, "",        \
	  "Worker loop iterations, busy (received frames) or idle.")                               \
	_(busy_cycles, "busy_cycles", "qinqgw_worker_cycles_total", "state=\"busy\"", SUM, "",     \
	  "TSC cycles a worker spent in busy or idle loop iterations.")                            \
	_(idle_cycles, "idle_cycles", "qinqgw_worker_cycles_total", "state=\"idle\"", SUM, "",     \
	  "TSC cycles a worker spent in busy or idle loop iterations.")

/** Per port, from the NIC (rte_eth_stats), written by the control plane about once a second. */
#define QGW_NIC_COUNTERS(_)                                                                        \
	_(rx_missed, "rx_missed", "qinqgw_port_nic_rx_missed_total", "", SUM, "",                  \
	  "Frames the NIC dropped because its RX ring was full (imissed).")                        \
	_(rx_nombuf, "rx_nombuf", "qinqgw_port_nic_rx_nombuf_total", "", SUM, "",                  \
	  "Frames the NIC dropped for want of an mbuf (rx_nombuf).")                               \
	_(rx_errors, "rx_errors", "qinqgw_port_nic_rx_errors_total", "", SUM, "",                  \
	  "Frames the NIC received in error (ierrors).")                                           \
	_(tx_errors, "tx_errors", "qinqgw_port_nic_tx_errors_total", "", SUM, "",                  \
	  "Frames the NIC failed to send (oerrors).")

/** How a counter is combined over workers and exported. */
enum qgw_counter_kind {
	QGW_KIND_SUM = 1,   /**< monotonic counter, added up over workers */
	QGW_KIND_MAX = 2,   /**< gauge, the largest value over workers */
	QGW_KIND_GAUGE = 3, /**< gauge, one writer */
};

/** Counter families, as laid out in the stats segment's directory. */
enum qgw_family {
	QGW_FAM_PORT = 0,   /**< [port], in each worker's block */
	QGW_FAM_FLOW = 1,   /**< [slot][ingress port], in each worker's block */
	QGW_FAM_WORKER = 2, /**< one element, in each worker's block */
	QGW_FAM_NIC = 3,    /**< [port], one block written by the control plane */
	QGW_FAM__MAX
};

#define QGW_COUNTER_FIELD(field, name, prom, label, kind, column, help) uint64_t field;

/** One port, as seen by one worker. */
struct qgw_port_counters {
	QGW_PORT_COUNTERS(QGW_COUNTER_FIELD)
	uint64_t drop[QGW_DROP__MAX]; /**< frames received on the port and dropped */
} __rte_cache_aligned;

/** One flow in one direction (by ingress port), as seen by one worker. */
struct qgw_flow_counters {
	QGW_FLOW_COUNTERS(QGW_COUNTER_FIELD)
	uint64_t drop[QGW_DROP__MAX];
};

struct qgw_worker_counters {
	QGW_WORKER_COUNTERS(QGW_COUNTER_FIELD)
	struct qgw_port_counters port[QGW_NB_PORTS];
	struct qgw_flow_counters flow[QGW_MAX_SLOTS][QGW_NB_PORTS]; /**< [slot][ingress port] */
} __rte_cache_aligned;

/** The NIC's counters of one port. */
struct qgw_nic_counters {
	QGW_NIC_COUNTERS(QGW_COUNTER_FIELD)
};

#undef QGW_COUNTER_FIELD

/**
 * Add up counter blocks; safe while their workers write them.
 *
 * @param sum
 *   Receives the total (overwritten).
 * @param blocks
 *   One block per worker.
 * @param nb
 *   How many blocks.
 * @param nb_slots
 *   Flow slots to add up (the rest of sum->flow is left zero).
 */
void qgw_counters_sum(struct qgw_worker_counters *sum,
		      const struct qgw_worker_counters *const *blocks, unsigned int nb,
		      uint32_t nb_slots);

/** Sum of a drop-reason array. */
uint64_t qgw_drops_total(const uint64_t drop[QGW_DROP__MAX]);

#endif /* QGW_COUNTERS_H */
