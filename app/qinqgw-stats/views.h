/*
 * The views of qinqgw-stats: each prints one reading of the stats segment
 * (directory, counters, liveness) in one format. They only read what the
 * view and the sample hold, which the reader library has validated, and
 * never follow anything else of the segment (the oversize view reads event
 * rings the library bounds-checked). Every counter comes from the segment's
 * own counter directory, so a view shows counters it was not compiled with.
 */
#ifndef QGW_STATS_VIEWS_H
#define QGW_STATS_VIEWS_H

#include <stdbool.h>
#include <stdio.h>

#include "qgw_shm.h"

enum qgw_format { QGW_FMT_TABLE, QGW_FMT_JSON, QGW_FMT_PROM, QGW_FMT_ALL };

struct qgw_stats_opts {
	const char *name;  /**< segment name */
	enum qgw_format fmt;
	double watch;	   /**< seconds, 0: once */
	long count;	   /**< --watch iterations, 0: until interrupted */
	const char *flow;  /**< filter */
	const char *port;  /**< filter */
	bool oversize;	   /**< the oversize forensics */
	const char *owner; /**< --owner: expected owner, or NULL */
};

/** One reading: what every view prints. */
struct qgw_reading {
	const struct qgw_shm_view *v;
	const struct qgw_sample *cur;
	const struct qgw_sample *prev; /**< earlier reading of the same segment, or NULL */
	struct qgw_liveness live;
	double now; /**< Unix time of the reading */
};

/** The table (default); rates when r->prev is set. */
void qgw_view_table(FILE *out, const struct qgw_stats_opts *o, const struct qgw_reading *r);

/** Every counter by name, one per line (--all). */
void qgw_view_all(FILE *out, const struct qgw_stats_opts *o, const struct qgw_reading *r);

/** One JSON document, schema qinqgw-stats/1 (--json). */
void qgw_view_json(FILE *out, const struct qgw_stats_opts *o, const struct qgw_reading *r);

/** Prometheus text exposition (--prometheus). */
void qgw_view_prom(FILE *out, const struct qgw_stats_opts *o, const struct qgw_reading *r);

/** The last oversize frames, as a table or JSON (--oversize). */
void qgw_view_oversize(FILE *out, const struct qgw_stats_opts *o, const struct qgw_reading *r);

/* Helpers shared by the views (views.c). */

bool qgw_port_selected(const struct qgw_stats_opts *o, const struct qgw_shm_view *v,
		       unsigned int p);
bool qgw_flow_selected(const struct qgw_stats_opts *o, const struct qgw_shm_flow *f);
/** "twaren->ccx" for ingress port p. */
const char *qgw_direction(const struct qgw_shm_view *v, unsigned int p, char *buf, size_t len);
/** Seconds the gateway ran or has been running, as the liveness says. */
double qgw_uptime(const struct qgw_reading *r);
/** Sum of the drop values of an element of family f (after its counters). */
uint64_t qgw_elem_dropped(const struct qgw_shm_view *v, unsigned int f, const uint64_t *val);
/** busy / (busy + idle) cycles of worker values, in percent. */
double qgw_busy_percent(const struct qgw_shm_view *v, const uint64_t *worker_val);
/** Value of counter `name` of family f in val, or 0 when the segment has no such counter. */
uint64_t qgw_value(const struct qgw_shm_view *v, unsigned int f, const uint64_t *val,
		   const char *name);
/** Can rates be computed for flow slot s between r->prev and r->cur? */
bool qgw_slot_rate_ok(const struct qgw_reading *r, uint32_t s);

#endif /* QGW_STATS_VIEWS_H */
