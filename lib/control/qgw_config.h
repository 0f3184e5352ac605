/*
 * Gateway configuration: the JSON document operators write, parsed and
 * validated into plain C structures.
 *
 * Validation is complete before anything is returned: either every rule holds
 * and a config comes back, or NULL comes back with every error found, each one
 * naming its place (line and column for syntax, a JSON pointer for meaning).
 * This module never touches DPDK, so `qinqgw --check-config` and the unit tests
 * run without EAL.
 */
#ifndef QGW_CONFIG_H
#define QGW_CONFIG_H

#include <stdint.h>
#include <stddef.h>

#define QGW_NB_PORTS 2	      /**< one port per segment */
#define QGW_MAX_TAGS 2	      /**< tags in one flow's stack on one port */
#define QGW_MAX_FLOWS 8192    /**< flows in one config */
/**
 * Flow counter slots: twice the flows, so that an apply that replaces every
 * flow of a maximal config finds a fresh slot for each new flow while the
 * old ones still count the frames of the old table.
 */
#define QGW_MAX_SLOTS (2 * QGW_MAX_FLOWS)
#define QGW_MAX_TPIDS 8	      /**< distinct TPIDs used on one port */
#define QGW_PORT_NAME_MAX 32  /**< bytes, with the NUL */
#define QGW_FLOW_NAME_MAX 64  /**< bytes, with the NUL */
#define QGW_DEVICE_NAME_MAX 64 /**< bytes, with the NUL (RTE_DEV_NAME_MAX_LEN) */

#define QGW_MAX_FRAME_MIN 64
#define QGW_MAX_FRAME_MAX 16384
#define QGW_MAX_FRAME_DEFAULT 1522

/** One tag of a stack. */
struct qgw_tag_cfg {
	uint16_t tpid; /**< host order */
	uint16_t vid;  /**< 1..4094 */
	int8_t pcp;    /**< 0..7, or -1: keep the popped tag's PCP/DEI (or 0 if none) */
};

/** The outer tag stack that identifies a flow on one port; 0 tags = catch-all. */
struct qgw_stack_cfg {
	uint8_t nb_tags;
	struct qgw_tag_cfg tag[QGW_MAX_TAGS]; /**< tag[0] is the outermost */
};

struct qgw_port_cfg {
	char name[QGW_PORT_NAME_MAX];
	char device[QGW_DEVICE_NAME_MAX];
	uint32_t max_frame; /**< bytes, no FCS */
};

#define QGW_MTU_MIN 68
#define QGW_CUSTOMER_TAGS_DEFAULT 1
#define QGW_CUSTOMER_TAGS_MAX 2
#define QGW_ICMP_RATE_DEFAULT 100 /**< ICMP errors a second, per flow direction and worker */
#define QGW_ICMP_BURST_DEFAULT 10
#define QGW_MTU_IPV6_MIN 1280  /**< RFC 8200: hosts ignore a packet-too-big below it */
#define QGW_MTU_LINUX_MIN 552  /**< Linux ignores a frag-needed below it (min_pmtu) */
#define QGW_MSS_MIN 88
#define QGW_MSS_MAX 65495

struct qgw_flow_cfg {
	char name[QGW_FLOW_NAME_MAX];
	struct qgw_stack_cfg stack[QGW_NB_PORTS]; /**< indexed like qgw_config.port */
	uint32_t mtu;		 /**< largest L3 packet, after all tags */
	uint8_t customer_tags;	 /**< customer tags assumed inside the stack (MTU arithmetic) */
	uint8_t oversize_icmp;	 /**< 1: answer oversize IP with ICMP/ICMPv6, 0: drop only */
	uint16_t mss4;		 /**< TCP MSS clamp for IPv4, 0: off */
	uint16_t mss6;		 /**< TCP MSS clamp for IPv6, 0: off */
	uint32_t icmp_rate;	 /**< token bucket: ICMP errors a second (0: never send) */
	uint32_t icmp_burst;	 /**< token bucket depth */
};

/** A list of error messages, grown as validation finds them. */
struct qgw_errors {
	size_t nb;
	size_t cap;
	char **msg;
};

struct qgw_config {
	struct qgw_port_cfg port[QGW_NB_PORTS]; /**< in the order the document lists them */
	uint32_t nb_flows;
	struct qgw_flow_cfg *flows;
	/**
	 * What is valid but probably not meant (an mtu below what IPv6 or Linux
	 * accept in ICMP errors): said by --check-config, apply and at start.
	 */
	struct qgw_errors warnings;
};

/**
 * Parse and validate a config file.
 *
 * @param path
 *   File to read.
 * @param errs
 *   Receives every error found (appended); may be NULL.
 * @return
 *   The config, or NULL with errno set (EINVAL: invalid, see errs).
 */
struct qgw_config *qgw_config_load_file(const char *path, struct qgw_errors *errs);

/** Same as qgw_config_load_file() on a string. */
struct qgw_config *qgw_config_load_string(const char *text, struct qgw_errors *errs);

/** Free a config; NULL is accepted. */
void qgw_config_free(struct qgw_config *cfg);

/**
 * Index of a port by name.
 *
 * @return
 *   0 or 1, or -ENOENT.
 */
int qgw_config_port_index(const struct qgw_config *cfg, const char *name);

/**
 * Write a stack as text, e.g. "0x88a8/200.0x8100/30" or "untagged".
 *
 * @return
 *   buf.
 */
char *qgw_stack_format(const struct qgw_stack_cfg *s, char *buf, size_t len);

/** Append a formatted message to an error list. */
void qgw_errors_add(struct qgw_errors *errs, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/** Free the messages of an error list and empty it; NULL is accepted. */
void qgw_errors_clear(struct qgw_errors *errs);

#endif /* QGW_CONFIG_H */
