/*
 * The stats segment: a POSIX shared-memory object that holds a versioned
 * header, a directory (ports, flows, drop-reason names, workers) and the
 * workers' counter blocks themselves, so readers see live counters without
 * the gateway copying anything.
 *
 * Layout rules: offsets from the start of the segment, never pointers; every
 * size is fixed by QGW_SHM_VERSION; a change of any struct below or of
 * struct qgw_worker_counters bumps the version.
 *
 * Ownership:
 * - header fields and the directory: written by the control plane only. A
 *   directory change is bracketed: in_progress = 1, change, epoch + 1 and
 *   in_progress = 0 with release stores. Readers snapshot epoch (acquire),
 *   copy, re-read epoch, retry if it moved or in_progress was set.
 * - counter blocks: each written by its worker only, plain aligned 64-bit
 *   stores; readers load each counter once (relaxed, never torn on 64-bit
 *   targets) and add up the blocks. Counters only grow.
 * - worker heartbeat: written by its worker, read by anyone.
 */
#ifndef QGW_SHM_H
#define QGW_SHM_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "qgw_config.h"
#include "qgw_counters.h"
#include "qgw_events.h"

#define QGW_SHM_MAGIC "QINQGWST" /* 8 bytes, no NUL */
#define QGW_SHM_VERSION 3
#define QGW_SHM_DEFAULT_NAME "qinqgw"
#define QGW_SHM_NAME_MAX 64
#define QGW_SHM_STACK_MAX 48

enum qgw_shm_state {
	QGW_SHM_STARTING = 0,
	QGW_SHM_RUNNING = 1,
	QGW_SHM_STOPPED = 2,
};

struct qgw_shm_header {
	char magic[8];
	uint32_t version;     /**< QGW_SHM_VERSION */
	uint32_t header_size; /**< sizeof(struct qgw_shm_header) */
	uint64_t size;	      /**< bytes in the segment */
	uint64_t epoch;	      /**< directory epoch, bumped after every change */
	uint32_t in_progress; /**< 1 while the directory changes */
	uint32_t state;	      /**< enum qgw_shm_state */
	uint64_t generation;  /**< config generation in force */
	int64_t start_time;   /**< gateway start, Unix time in nanoseconds */
	int64_t stop_time;    /**< gateway stop, 0 while running */
	int64_t update_time;  /**< last directory / link refresh, Unix ns */
	uint64_t tsc_hz;      /**< TSC frequency, for cycle counters */
	uint64_t start_tsc;   /**< TSC at start_time, to date oversize events */
	uint32_t pid;
	uint32_t nb_ports;
	uint32_t nb_workers;
	uint32_t nb_slots;    /**< flow slots (QGW_MAX_FLOWS) */
	uint32_t nb_drops;    /**< drop reasons (QGW_DROP__MAX) */
	uint32_t reserved;
	char version_str[32]; /**< gateway version */
	uint64_t ports_off;   /**< struct qgw_shm_port[nb_ports] */
	uint64_t drops_off;   /**< struct qgw_shm_drop[nb_drops] */
	uint64_t workers_off; /**< struct qgw_shm_worker[nb_workers] */
	uint64_t flows_off;   /**< struct qgw_shm_flow[nb_slots] */
	uint64_t counters_off;	  /**< struct qgw_worker_counters[nb_workers] */
	uint64_t counters_stride; /**< bytes from one counter block to the next */
	uint64_t events_off;  /**< struct qgw_event_ring[nb_workers][nb_ports] */
} __rte_cache_aligned;

struct qgw_shm_port {
	char name[QGW_PORT_NAME_MAX];
	char device[QGW_DEVICE_NAME_MAX];
	uint32_t max_frame;
	uint32_t link_up;     /**< control plane, refreshed about once a second */
	uint32_t link_speed;  /**< Mbit/s, 0 unknown */
	uint32_t link_duplex; /**< 1 full */
	uint64_t link_changes; /**< link up/down transitions seen */
	/* The NIC's own counters (rte_eth_stats), refreshed about once a second:
	 * frames lost before the gateway saw them. */
	uint64_t nic_rx_missed;	 /**< imissed: RX ring full */
	uint64_t nic_rx_nombuf;	 /**< rx_nombuf: no mbuf to receive into */
	uint64_t nic_rx_errors;	 /**< ierrors: bad frames (CRC, length) */
	uint64_t nic_tx_errors;	 /**< oerrors */
};

struct qgw_shm_drop {
	char name[32];
	char help[96];
};

struct qgw_shm_worker {
	uint32_t lcore;
	uint32_t socket;
	uint64_t heartbeat; /**< written by the worker: loop iterations / 256 */
	uint32_t stalled;   /**< control plane: 1 while the heartbeat stands still */
	uint32_t reserved;
	uint64_t stalls;    /**< control plane: stalls detected since start */
} __rte_cache_aligned;

struct qgw_shm_flow {
	char name[QGW_FLOW_NAME_MAX];
	uint32_t active; /**< 1: in the running config */
	uint32_t reserved;
	char stack[QGW_NB_PORTS][QGW_SHM_STACK_MAX]; /**< per port, qgw_stack_format() */
};

/* Writer (the gateway). */

/** An open, writable segment. */
struct qgw_shm {
	char name[QGW_SHM_NAME_MAX];
	void *base;
	size_t size;
	struct qgw_shm_header *hdr;
};

/**
 * Create the segment, replacing a stopped gateway's; refused while another
 * live gateway owns the name.
 *
 * @param name
 *   Segment name without the leading '/'.
 * @param group
 *   Group that may read it (mode 0640), or NULL for the process's group.
 * @param nb_workers
 *   Counter blocks to reserve.
 * @param msg
 *   Receives an error message.
 * @return
 *   The segment, or NULL with errno set.
 */
struct qgw_shm *qgw_shm_create(const char *name, const char *group, unsigned int nb_workers,
			       char *msg, size_t msglen);

/** Counter block of worker i. */
struct qgw_worker_counters *qgw_shm_counters(struct qgw_shm *s, unsigned int i);

/** Oversize event ring of worker i for ingress port p. */
struct qgw_event_ring *qgw_shm_events(struct qgw_shm *s, unsigned int i, unsigned int p);

/** Heartbeat/identity slot of worker i. */
struct qgw_shm_worker *qgw_shm_worker(struct qgw_shm *s, unsigned int i);

/**
 * Publish the directory for a config: ports, flows (flow i at slots[i], or
 * slot i when slots is NULL), generation. Bracketed by in_progress/epoch.
 */
void qgw_shm_publish_config(struct qgw_shm *s, const struct qgw_config *cfg,
			    const uint32_t *slots, uint64_t generation);

/** Update one port's link state (in_progress/epoch bracket). */
void qgw_shm_set_link(struct qgw_shm *s, unsigned int port, bool up, uint32_t speed,
		      bool full_duplex);

/** Update one port's NIC counters (in_progress/epoch bracket). */
void qgw_shm_set_nic(struct qgw_shm *s, unsigned int port, uint64_t missed, uint64_t nombuf,
		     uint64_t rx_errors, uint64_t tx_errors);

/** Set the gateway state (running / stopped). */
void qgw_shm_set_state(struct qgw_shm *s, enum qgw_shm_state state);

/** Unmap the segment; it stays in /dev/shm for readers. NULL is accepted. */
void qgw_shm_close(struct qgw_shm *s);

/* Reader (qinqgw-stats, tests). */

/** A consistent copy of the header and directory, and the live counters. */
struct qgw_shm_view {
	const void *base; /**< read-only mapping */
	size_t size;
	struct qgw_shm_header hdr;  /**< copy */
	struct qgw_shm_port *ports; /**< copies, hdr.nb_ports */
	struct qgw_shm_drop *drops; /**< copies, hdr.nb_drops */
	struct qgw_shm_worker *workers; /**< copies, hdr.nb_workers */
	struct qgw_shm_flow *flows; /**< copies, hdr.nb_slots */
};

/* Reader errors, as negative return values besides -errno. */
#define QGW_SHM_EVERSION 1001 /**< layout version differs */
#define QGW_SHM_ECORRUPT 1002 /**< bad magic, size or offset */

/**
 * Map a segment read-only and take a consistent directory snapshot.
 *
 * @return
 *   0, -ENOENT (no segment), -EACCES (no permission), -QGW_SHM_EVERSION,
 *   -QGW_SHM_ECORRUPT, -EAGAIN (directory kept changing), or another -errno.
 */
int qgw_shm_open_view(const char *name, struct qgw_shm_view *v);

/** Refresh the directory snapshot of an open view (same return values). */
int qgw_shm_refresh(struct qgw_shm_view *v);

/**
 * Add up the live counter blocks of a view, consistent with its directory:
 * if the directory changed while the counters were read (a config apply
 * may give a flow's slot to another flow), the directory is refreshed and
 * the counters read again.
 *
 * @param sum
 *   Receives the totals (overwritten).
 * @return
 *   0, or a qgw_shm_refresh() error.
 */
int qgw_shm_read_counters(struct qgw_shm_view *v, struct qgw_worker_counters *sum);

/** Read the live counters of one worker. */
void qgw_shm_read_worker(const struct qgw_shm_view *v, unsigned int w,
			 struct qgw_worker_counters *out);

/** The event ring of worker w for ingress port p, in the mapping of a view. */
const struct qgw_event_ring *qgw_shm_view_events(const struct qgw_shm_view *v, unsigned int w,
						 unsigned int p);

/** Unmap and free a view; safe on a zeroed or closed view. */
void qgw_shm_close_view(struct qgw_shm_view *v);

/** Message for a qgw_shm_open_view() error. */
const char *qgw_shm_strerror(int err);

#endif /* QGW_SHM_H */
