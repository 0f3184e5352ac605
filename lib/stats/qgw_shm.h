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
#define QGW_SHM_VERSION 4
#define QGW_SHM_DEFAULT_NAME "qinqgw"
#define QGW_SHM_NAME_MAX 64
#define QGW_SHM_STACK_MAX 48
#define QGW_SHM_MAX_COUNTERS 256 /**< counter descriptors a reader accepts */

/** The state field, written by the gateway (see qgw_shm_liveness() for what readers show). */
enum qgw_shm_state {
	QGW_SHM_STARTING = 0,
	QGW_SHM_RUNNING = 1,
	QGW_SHM_STOPPED = 2,
};

/**
 * Where one counter family lives. PORT, FLOW and WORKER elements are inside
 * each worker's counter block: element i at counters_off + w * stride +
 * fam.off + i * fam.stride. NIC elements are in the segment itself, at
 * fam.off + i * fam.stride. An element is fam.size bytes: its counters at
 * the descriptors' offsets, and for PORT and FLOW the drop reasons'
 * counters at drop_off (nb_drops of them).
 */
struct qgw_shm_family {
	uint32_t first;	   /**< index of its first descriptor */
	uint32_t nb;	   /**< descriptors */
	uint64_t off;	   /**< element 0 */
	uint64_t stride;   /**< bytes from one element to the next */
	uint32_t size;	   /**< bytes of one element */
	uint32_t drop_off; /**< offset of drop[nb_drops] in an element, UINT32_MAX: none */
	uint32_t nb_elems; /**< elements: ports, slots * ports, 1, ports */
	uint32_t reserved;
};

/** One counter: what it is called and where it is in its family's element. */
struct qgw_shm_counter {
	char name[32];	 /**< exported name (JSON, telemetry) */
	char prom[64];	 /**< Prometheus metric name */
	char label[32];	 /**< extra Prometheus label, k="v", or "" */
	char column[16]; /**< qinqgw-stats table column, or "" */
	char help[128];
	uint32_t kind;	 /**< enum qgw_counter_kind */
	uint32_t offset; /**< byte offset in the element, 8-aligned */
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
	/*
	 * Liveness. heartbeat: CLOCK_MONOTONIC ns, stamped by the control plane
	 * every main-loop round (relaxed store, outside the epoch bracket).
	 * pid_start: start time of process pid (field 22 of /proc/PID/stat), so
	 * that a reused pid is not taken for the gateway.
	 */
	uint64_t heartbeat;
	uint64_t start_mono;  /**< CLOCK_MONOTONIC ns at start */
	uint64_t pid_start;
	uint32_t pid;
	uint32_t uid;	      /**< effective uid of the gateway */
	uint32_t nb_ports;
	uint32_t nb_workers;
	uint32_t nb_slots;    /**< flow slots (QGW_MAX_SLOTS) */
	uint32_t nb_drops;    /**< drop reasons (QGW_DROP__MAX) */
	char version_str[32]; /**< gateway version */
	uint64_t ports_off;   /**< struct qgw_shm_port[nb_ports] */
	uint64_t drops_off;   /**< struct qgw_shm_drop[nb_drops] */
	uint64_t workers_off; /**< struct qgw_shm_worker[nb_workers] */
	uint64_t flows_off;   /**< struct qgw_shm_flow[nb_slots] */
	uint64_t counters_off;	  /**< worker counter blocks [nb_workers] */
	uint64_t counters_stride; /**< bytes from one counter block to the next */
	uint64_t events_off;  /**< struct qgw_event_ring[nb_workers][nb_ports] */
	uint64_t desc_off;    /**< struct qgw_shm_counter[nb_desc] */
	uint32_t nb_desc;
	uint32_t reserved;
	struct qgw_shm_family fam[QGW_FAM__MAX];
} __rte_cache_aligned;

struct qgw_shm_port {
	char name[QGW_PORT_NAME_MAX];
	char device[QGW_DEVICE_NAME_MAX];
	uint32_t max_frame;
	uint32_t link_up;     /**< control plane, refreshed about once a second */
	uint32_t link_speed;  /**< Mbit/s, 0 unknown */
	uint32_t link_duplex; /**< 1 full */
	uint64_t link_changes; /**< link up/down transitions seen */
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
	/**
	 * Bumped each time the slot is given to a new flow (its counters start
	 * over): rates and events are only matched within one generation.
	 */
	uint32_t gen;
	char stack[QGW_NB_PORTS][QGW_SHM_STACK_MAX]; /**< per port, qgw_stack_format() */
};

/**
 * The counter descriptors of this build, generated from the lists of
 * qgw_counters.h.
 *
 * @param family
 *   enum qgw_family.
 * @param nb
 *   Receives how many.
 */
const struct qgw_shm_counter *qgw_counter_list(unsigned int family, uint32_t *nb);

/** "port", "flow", "worker", "nic". */
const char *qgw_family_name(unsigned int family);

/* Writer (the gateway). */

/** An open, writable segment. */
struct qgw_shm {
	char name[QGW_SHM_NAME_MAX];
	void *base;
	size_t size;
	struct qgw_shm_header *hdr;
};

/**
 * Create the segment, replacing a stopped or dead gateway's. The segment is
 * made under a temporary name with O_EXCL and renamed into place, so a file
 * the gateway did not create is never used. Refused while a live gateway
 * owns the name, and when the existing file belongs to another user (never
 * trusted, named in the message).
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

/** One port's entry of the directory (control plane only). */
struct qgw_shm_port *qgw_shm_port(struct qgw_shm *s, unsigned int port);

/**
 * Publish the directory for a config: ports, flows (flow i at slots[i], or
 * slot i when slots is NULL; slot generations from gens[slot], or 1 when
 * NULL), generation. Bracketed by in_progress/epoch.
 */
void qgw_shm_publish_config(struct qgw_shm *s, const struct qgw_config *cfg,
			    const uint32_t *slots, const uint32_t *gens, uint64_t generation);

/** Update one port's link state (in_progress/epoch bracket). */
void qgw_shm_set_link(struct qgw_shm *s, unsigned int port, bool up, uint32_t speed,
		      bool full_duplex);

/** Update one port's NIC counters (one writer, relaxed stores). */
void qgw_shm_set_nic(struct qgw_shm *s, unsigned int port, const struct qgw_nic_counters *nic);

/** Set the gateway state (running / stopped). */
void qgw_shm_set_state(struct qgw_shm *s, enum qgw_shm_state state);

/** Stamp the control plane's heartbeat: call every main-loop round. */
void qgw_shm_heartbeat(struct qgw_shm *s);

/** Unmap the segment; it stays in /dev/shm for readers. NULL is accepted. */
void qgw_shm_close(struct qgw_shm *s);

/* Reader (qinqgw-stats, telemetry, tests). Trusts nothing in the segment. */

/** A consistent copy of the header and directory. */
struct qgw_shm_view {
	const void *base; /**< read-only mapping */
	size_t size;	  /**< bytes mapped */
	int fd;		  /**< kept open to notice a segment that shrinks; -1: none */
	uint64_t ino;	  /**< identity of the file, to notice a replaced segment */
	uint32_t owner;	  /**< uid owning the file */
	struct qgw_shm_header hdr;  /**< copy */
	struct qgw_shm_port *ports; /**< copies, hdr.nb_ports */
	struct qgw_shm_drop *drops; /**< copies, hdr.nb_drops */
	struct qgw_shm_worker *workers; /**< copies, hdr.nb_workers */
	struct qgw_shm_flow *flows; /**< copies, hdr.nb_slots */
	struct qgw_shm_counter *desc; /**< copies, hdr.nb_desc */
	uint32_t cap[5]; /**< allocated entries of the arrays above */
};

/**
 * Counter values of one reading, laid out by the view's directory: element
 * i of family f has width[f] values, the family's counters in descriptor
 * order then, for PORT and FLOW, one value per drop reason. PORT, FLOW and
 * NIC are combined over workers by kind; WORKER is per worker.
 */
struct qgw_sample {
	uint32_t nb_elems[QGW_FAM__MAX];
	uint32_t width[QGW_FAM__MAX];
	uint64_t *val[QGW_FAM__MAX];
	uint64_t *worker_rx; /**< [nb_workers] frames received by each worker */
	uint32_t *slot_gen;  /**< [nb_slots] slot generation, 0 inactive */
	size_t cap[QGW_FAM__MAX + 1];
	uint64_t ino;	     /**< segment identity at the reading */
	uint32_t pid;
	double t;	     /**< CLOCK_MONOTONIC seconds */
};

/* Reader errors, as negative return values besides -errno. */
#define QGW_SHM_EVERSION 1001 /**< layout version differs */
#define QGW_SHM_ECORRUPT 1002 /**< bad magic, size or offset */
#define QGW_SHM_ESHRUNK 1003  /**< the segment shrank while mapped */

/**
 * Map a segment read-only and take a consistent directory snapshot.
 *
 * @return
 *   0, -ENOENT (no segment), -EACCES (no permission), -QGW_SHM_EVERSION,
 *   -QGW_SHM_ECORRUPT, -EAGAIN (directory kept changing), or another -errno.
 */
int qgw_shm_open_view(const char *name, struct qgw_shm_view *v);

/**
 * A view over memory the caller owns (the gateway's own mapping, a fuzz
 * input); same checks as qgw_shm_open_view(), nothing is unmapped at close.
 */
int qgw_shm_open_memory(const void *base, size_t size, struct qgw_shm_view *v);

/** Refresh the directory snapshot of an open view (same return values). */
int qgw_shm_refresh(struct qgw_shm_view *v);

/**
 * Read every counter of a view into s, consistent with its directory: if the
 * directory changed meanwhile (a config apply may give a flow's slot to
 * another flow), it is refreshed and the counters read again.
 *
 * @return
 *   0, -ENOMEM, or a qgw_shm_refresh() error.
 */
int qgw_shm_sample(struct qgw_shm_view *v, struct qgw_sample *s);

/** Free a sample's arrays; safe on a zeroed sample. */
void qgw_sample_free(struct qgw_sample *s);

/** The values of element i of family f, or NULL when out of range. */
const uint64_t *qgw_sample_elem(const struct qgw_sample *s, unsigned int f, uint32_t i);

/** Index of counter `name` in family f of the view's directory, or -1. */
int qgw_shm_find(const struct qgw_shm_view *v, unsigned int f, const char *name);

/** Descriptor j of family f of the view's directory. */
const struct qgw_shm_counter *qgw_shm_desc(const struct qgw_shm_view *v, unsigned int f,
					   uint32_t j);

/** The event ring of worker w for ingress port p, in the mapping of a view. */
const struct qgw_event_ring *qgw_shm_view_events(const struct qgw_shm_view *v, unsigned int w,
						 unsigned int p);

/** Unmap and free a view; safe on a zeroed or closed view. */
void qgw_shm_close_view(struct qgw_shm_view *v);

/** Message for a qgw_shm_open_view() error. */
const char *qgw_shm_strerror(int err);

/* Liveness: what readers say about the gateway. */

/** Seconds without a heartbeat after which a live gateway is stalled. */
#define QGW_HEARTBEAT_STALE_S 2.0

enum qgw_live {
	QGW_LIVE_STARTING = 0, /**< process alive, heartbeat fresh, ports not up yet */
	QGW_LIVE_RUNNING = 1,  /**< process alive, heartbeat fresh */
	QGW_LIVE_STALLED = 2,  /**< process alive (or stopped by a signal), heartbeat old */
	QGW_LIVE_DEAD = 3,     /**< process gone without a clean stop */
	QGW_LIVE_STOPPED = 4,  /**< clean stop: the counters are final */
};

struct qgw_liveness {
	enum qgw_live state;
	double heartbeat_age; /**< seconds since the control plane's last heartbeat */
};

/** Derive the gateway's state from the view's heartbeat, pid and state field. */
void qgw_shm_liveness(const struct qgw_shm_view *v, struct qgw_liveness *l);

/** "starting", "running", "stalled", "dead", "stopped". */
const char *qgw_live_name(enum qgw_live state);

/**
 * Is process pid, started at start (field 22 of /proc/PID/stat; 0: do not
 * check), alive? A zombie is not.
 *
 * @return
 *   1 alive, 2 alive but stopped by a signal, 0 gone.
 */
int qgw_process_alive(uint32_t pid, uint64_t start);

/** Start time of this process (field 22 of /proc/self/stat), 0 if unknown. */
uint64_t qgw_process_start(void);

/** CLOCK_MONOTONIC in nanoseconds. */
uint64_t qgw_mono_ns(void);

#endif /* QGW_SHM_H */
