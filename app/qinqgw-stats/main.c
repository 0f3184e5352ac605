/*
 * qinqgw-stats: the telemetry reader.
 *
 * Maps the gateway's stats segment read-only (no DPDK, no hugepages, no root:
 * group read permission is enough) and prints ports, flows, drops and workers
 * as a table (default), one JSON document (--json, schema in
 * docs/stats.md), Prometheus text exposition (--prometheus), or a refreshing
 * view with rates (--watch SECONDS).
 *
 * Exit status: 0 ok, 1 no segment or unreadable, 2 bad command line,
 * 3 permission denied, 4 layout version differs or segment corrupt,
 * 5 --flow/--port names nothing.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include <jansson.h>

#include "qgw_shm.h"

enum {
	EXIT_NO_SEGMENT = 1,
	EXIT_USAGE = 2,
	EXIT_PERM = 3,
	EXIT_LAYOUT = 4,
	EXIT_NO_MATCH = 5,
};

enum format { FMT_TABLE, FMT_JSON, FMT_PROM };

struct opts {
	const char *name;
	enum format fmt;
	double watch;	    /* seconds, 0: once */
	long count;	    /* --watch iterations, 0: until interrupted */
	const char *flow;   /* filter */
	const char *port;   /* filter */
	bool oversize;	    /* show the oversize forensics */
};

/* One reading: directory copy plus counter totals, and when it was taken. */
struct sample {
	struct qgw_worker_counters *sum;
	double t; /* CLOCK_MONOTONIC seconds */
};

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static double
mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *
state_name(uint32_t s)
{
	switch (s) {
	case QGW_SHM_STARTING:
		return "starting";
	case QGW_SHM_RUNNING:
		return "running";
	case QGW_SHM_STOPPED:
		return "stopped";
	}
	return "unknown";
}

static bool
port_selected(const struct opts *o, const struct qgw_shm_view *v, unsigned int p)
{
	return o->port == NULL || strcmp(o->port, v->ports[p].name) == 0;
}

static bool
flow_selected(const struct opts *o, const struct qgw_shm_flow *f)
{
	return f->active && (o->flow == NULL || strcmp(o->flow, f->name) == 0);
}

/* Human units: 1234 -> "1234", 12345 -> "12.3k"; unit appended. */
static const char *
human(double x, const char *unit, char *buf, size_t len)
{
	static const char *const pfx[] = {"", "k", "M", "G", "T", "P"};
	unsigned int i = 0;

	while (fabs(x) >= 10000 && i + 1 < sizeof(pfx) / sizeof(pfx[0])) {
		x /= 1000;
		i++;
	}
	if (i == 0)
		snprintf(buf, len, "%.0f%s%s", x, unit[0] ? " " : "", unit);
	else
		snprintf(buf, len, "%.1f %s%s", x, pfx[i], unit);
	return buf;
}

static const char *
duration(double s, char *buf, size_t len)
{
	long t = (long)s;

	if (t >= 86400)
		snprintf(buf, len, "%ldd%02ldh%02ldm", t / 86400, t / 3600 % 24, t / 60 % 60);
	else if (t >= 3600)
		snprintf(buf, len, "%ldh%02ldm%02lds", t / 3600, t / 60 % 60, t % 60);
	else
		snprintf(buf, len, "%ldm%02lds", t / 60, t % 60);
	return buf;
}

static double
busy_percent(const struct qgw_worker_counters *c)
{
	uint64_t all = c->busy_cycles + c->idle_cycles;

	return all ? 100.0 * (double)c->busy_cycles / (double)all : 0.0;
}

static void
print_table(const struct opts *o, const struct qgw_shm_view *v, const struct sample *cur,
	    const struct sample *prev)
{
	const struct qgw_shm_header *h = &v->hdr;
	const struct qgw_worker_counters *c = cur->sum;
	double dt = prev ? cur->t - prev->t : 0;
	double up = (h->state == QGW_SHM_STOPPED ? (double)h->stop_time / 1e9 : wall()) -
		    (double)h->start_time / 1e9;
	char b1[32], b2[32], b3[32], b4[32], b5[32];
	bool any = false;

	printf("qinqgw %s, pid %u, %s, %s %s, config generation %" PRIu64 ", %u worker%s "
	       "busy %.1f%%\n\n",
	       h->version_str, h->pid, state_name(h->state),
	       h->state == QGW_SHM_STOPPED ? "ran" : "up", duration(up > 0 ? up : 0, b1, sizeof(b1)),
	       h->generation, h->nb_workers, h->nb_workers == 1 ? "" : "s", busy_percent(c));

	if (h->state == QGW_SHM_STARTING) {
		printf("(starting: ports and flows are not published yet)\n");
		return;
	}
	for (unsigned int w = 0; w < h->nb_workers; w++)
		if (v->workers[w].stalled && h->state == QGW_SHM_RUNNING)
			printf("WARNING: worker %u (lcore %u) is STALLED: its heartbeat stands still\n\n",
			       w, v->workers[w].lcore);
	printf("%-12s %-14s %-9s %10s %10s %10s %10s %10s", "PORT", "DEVICE", "LINK", "RX PKTS",
	       "RX BYTES", "TX PKTS", "TX BYTES", "DROPPED");
	if (prev)
		printf(" %10s %12s %10s %12s", "RX PPS", "RX BIT/S", "TX PPS", "TX BIT/S");
	printf("\n");
	for (unsigned int p = 0; p < h->nb_ports; p++) {
		const struct qgw_port_counters *pc = &c->port[p];
		char link[16];

		if (!port_selected(o, v, p))
			continue;
		if (!v->ports[p].link_up)
			snprintf(link, sizeof(link), "down");
		else if (v->ports[p].link_speed)
			snprintf(link, sizeof(link), "up %uG", v->ports[p].link_speed / 1000);
		else
			snprintf(link, sizeof(link), "up");
		printf("%-12s %-14s %-9s %10s %10s %10s %10s %10s", v->ports[p].name,
		       v->ports[p].device, link, human((double)pc->rx_pkts, "", b1, sizeof(b1)),
		       human((double)pc->rx_bytes, "B", b2, sizeof(b2)),
		       human((double)pc->tx_pkts, "", b3, sizeof(b3)),
		       human((double)pc->tx_bytes, "B", b4, sizeof(b4)),
		       human((double)qgw_drops_total(pc->drop), "", b5, sizeof(b5)));
		if (prev && dt > 0) {
			const struct qgw_port_counters *pp = &prev->sum->port[p];

			printf(" %10s %12s", human((pc->rx_pkts - pp->rx_pkts) / dt, "", b1, 32),
			       human((pc->rx_bytes - pp->rx_bytes) * 8 / dt, "b/s", b2, 32));
			printf(" %10s %12s", human((pc->tx_pkts - pp->tx_pkts) / dt, "", b3, 32),
			       human((pc->tx_bytes - pp->tx_bytes) * 8 / dt, "b/s", b4, 32));
		}
		printf("\n");
	}
	for (unsigned int p = 0; p < h->nb_ports; p++)
		if (port_selected(o, v, p) && v->ports[p].link_changes)
			printf("link of port %s went down or up %" PRIu64 " time%s since start\n",
			       v->ports[p].name, (uint64_t)v->ports[p].link_changes,
			       v->ports[p].link_changes == 1 ? "" : "s");

	printf("\n%-12s %-14s %12s\n", "DROPS", "REASON", "PKTS");
	for (unsigned int p = 0; p < h->nb_ports; p++) {
		if (!port_selected(o, v, p))
			continue;
		for (unsigned int r = 0; r < h->nb_drops; r++) {
			if (c->port[p].drop[r] == 0)
				continue;
			printf("%-12s %-14s %12" PRIu64 "\n", v->ports[p].name, v->drops[r].name,
			       c->port[p].drop[r]);
			any = true;
		}
	}
	if (!any)
		printf("(none)\n");

	printf("\n%-24s %-20s %10s %10s %9s %10s %9s %9s %9s", "FLOW", "DIRECTION", "PKTS",
	       "BYTES", "MAX FRAME", "DROPPED", "OVERSIZE", "ICMP", "MSS CLAMP");
	if (prev)
		printf(" %10s %12s", "PPS", "BIT/S");
	printf("\n");
	for (uint32_t s = 0; s < h->nb_slots; s++) {
		const struct qgw_shm_flow *f = &v->flows[s];

		if (!flow_selected(o, f))
			continue;
		for (unsigned int p = 0; p < h->nb_ports; p++) {
			const struct qgw_flow_counters *fc = &c->flow[s][p];
			char dir[2 * QGW_PORT_NAME_MAX + 2];

			if (!port_selected(o, v, p) && !port_selected(o, v, 1 - p))
				continue;
			snprintf(dir, sizeof(dir), "%s->%s", v->ports[p].name,
				 v->ports[1 - p].name);
			printf("%-24s %-20s %10s %10s %9" PRIu64 " %10s", f->name, dir,
			       human((double)fc->pkts, "", b1, sizeof(b1)),
			       human((double)fc->bytes, "B", b2, sizeof(b2)), fc->max_len,
			       human((double)qgw_drops_total(fc->drop), "", b3, sizeof(b3)));
			printf(" %9s", human((double)fc->drop[QGW_DROP_OVERSIZE], "", b1, 32));
			printf(" %9s", human((double)fc->icmp_sent, "", b1, 32));
			printf(" %9s", human((double)fc->mss_clamped, "", b1, 32));
			if (prev && dt > 0) {
				const struct qgw_flow_counters *pf = &prev->sum->flow[s][p];

				printf(" %10s %12s", human((fc->pkts - pf->pkts) / dt, "", b4, 32),
				       human((fc->bytes - pf->bytes) * 8 / dt, "b/s", b5, 32));
			}
			printf("\n");
		}
	}
}

static json_t *
drops_object(const struct qgw_shm_view *v, const uint64_t *drop)
{
	json_t *o = json_object();

	for (unsigned int r = 0; r < v->hdr.nb_drops; r++)
		json_object_set_new(o, v->drops[r].name, json_integer((json_int_t)drop[r]));
	return o;
}

static void
print_json(const struct opts *o, const struct qgw_shm_view *v, const struct sample *cur)
{
	const struct qgw_shm_header *h = &v->hdr;
	const struct qgw_worker_counters *c = cur->sum;
	json_t *doc = json_object(), *gw = json_object(), *workers = json_array();
	json_t *ports = json_array(), *flows = json_array(), *reasons = json_array();
	double now = h->state == QGW_SHM_STOPPED ? (double)h->stop_time / 1e9 : wall();

	json_object_set_new(doc, "schema", json_string("qinqgw-stats/1"));
	json_object_set_new(gw, "version", json_string(h->version_str));
	json_object_set_new(gw, "stats_name", json_string(o->name));
	json_object_set_new(gw, "layout_version", json_integer(h->version));
	json_object_set_new(gw, "pid", json_integer(h->pid));
	json_object_set_new(gw, "state", json_string(state_name(h->state)));
	json_object_set_new(gw, "start_time", json_integer(h->start_time / 1000000000));
	json_object_set_new(gw, "stop_time",
			    h->stop_time ? json_integer(h->stop_time / 1000000000) : json_null());
	json_object_set_new(gw, "uptime_seconds",
			    json_real(fmax(0, now - (double)h->start_time / 1e9)));
	json_object_set_new(gw, "generation", json_integer((json_int_t)h->generation));
	json_object_set_new(doc, "gateway", gw);

	for (unsigned int w = 0; w < h->nb_workers; w++) {
		struct qgw_worker_counters *wc = malloc(sizeof(*wc));
		json_t *j = json_object();

		if (wc == NULL)
			break;
		qgw_shm_read_worker(v, w, wc);
		json_object_set_new(j, "index", json_integer(w));
		json_object_set_new(j, "lcore", json_integer(v->workers[w].lcore));
		json_object_set_new(j, "socket", json_integer(v->workers[w].socket));
		json_object_set_new(j, "heartbeat", json_integer((json_int_t)v->workers[w].heartbeat));
		json_object_set_new(j, "stalled", json_boolean(v->workers[w].stalled));
		json_object_set_new(j, "stalls", json_integer((json_int_t)v->workers[w].stalls));
		json_object_set_new(j, "rx_packets",
				    json_integer((json_int_t)(wc->port[0].rx_pkts + wc->port[1].rx_pkts)));
		json_object_set_new(j, "busy_polls", json_integer((json_int_t)wc->busy_polls));
		json_object_set_new(j, "idle_polls", json_integer((json_int_t)wc->idle_polls));
		json_object_set_new(j, "busy_cycles", json_integer((json_int_t)wc->busy_cycles));
		json_object_set_new(j, "idle_cycles", json_integer((json_int_t)wc->idle_cycles));
		json_object_set_new(j, "busy_percent", json_real(busy_percent(wc)));
		json_array_append_new(workers, j);
		free(wc);
	}
	json_object_set_new(doc, "workers", workers);

	for (unsigned int p = 0; p < h->nb_ports; p++) {
		const struct qgw_port_counters *pc = &c->port[p];
		json_t *j = json_object(), *link = json_object();

		if (!port_selected(o, v, p)) {
			json_decref(j);
			json_decref(link);
			continue;
		}
		json_object_set_new(j, "name", json_string(v->ports[p].name));
		json_object_set_new(j, "device", json_string(v->ports[p].device));
		json_object_set_new(j, "max_frame", json_integer(v->ports[p].max_frame));
		json_object_set_new(link, "up", json_boolean(v->ports[p].link_up));
		json_object_set_new(link, "speed_mbps", json_integer(v->ports[p].link_speed));
		json_object_set_new(link, "full_duplex", json_boolean(v->ports[p].link_duplex));
		json_object_set_new(link, "changes", json_integer((json_int_t)v->ports[p].link_changes));
		json_object_set_new(j, "link", link);
		{
			json_t *nic = json_object();

			json_object_set_new(nic, "rx_missed",
					    json_integer((json_int_t)v->ports[p].nic_rx_missed));
			json_object_set_new(nic, "rx_nombuf",
					    json_integer((json_int_t)v->ports[p].nic_rx_nombuf));
			json_object_set_new(nic, "rx_errors",
					    json_integer((json_int_t)v->ports[p].nic_rx_errors));
			json_object_set_new(nic, "tx_errors",
					    json_integer((json_int_t)v->ports[p].nic_tx_errors));
			json_object_set_new(j, "nic", nic);
		}
		json_object_set_new(j, "rx_packets", json_integer((json_int_t)pc->rx_pkts));
		json_object_set_new(j, "rx_bytes", json_integer((json_int_t)pc->rx_bytes));
		json_object_set_new(j, "tx_packets", json_integer((json_int_t)pc->tx_pkts));
		json_object_set_new(j, "tx_bytes", json_integer((json_int_t)pc->tx_bytes));
		json_object_set_new(j, "icmp_sent", json_integer((json_int_t)pc->icmp_sent));
		json_object_set_new(j, "icmp_tx_full", json_integer((json_int_t)pc->icmp_tx_full));
		json_object_set_new(j, "dropped", json_integer((json_int_t)qgw_drops_total(pc->drop)));
		json_object_set_new(j, "drops", drops_object(v, pc->drop));
		json_array_append_new(ports, j);
	}
	json_object_set_new(doc, "ports", ports);

	for (uint32_t s = 0; s < h->nb_slots; s++) {
		const struct qgw_shm_flow *f = &v->flows[s];
		json_t *j, *stacks, *dirs;

		if (!flow_selected(o, f))
			continue;
		j = json_object();
		stacks = json_object();
		dirs = json_array();
		json_object_set_new(j, "name", json_string(f->name));
		json_object_set_new(j, "slot", json_integer(s));
		for (unsigned int p = 0; p < h->nb_ports; p++)
			json_object_set_new(stacks, v->ports[p].name, json_string(f->stack[p]));
		json_object_set_new(j, "stacks", stacks);
		for (unsigned int p = 0; p < h->nb_ports; p++) {
			const struct qgw_flow_counters *fc = &c->flow[s][p];
			json_t *d = json_object();
			char dir[2 * QGW_PORT_NAME_MAX + 2];

			if (!port_selected(o, v, p) && !port_selected(o, v, 1 - p)) {
				json_decref(d);
				continue;
			}
			snprintf(dir, sizeof(dir), "%s->%s", v->ports[p].name,
				 v->ports[1 - p].name);
			json_object_set_new(d, "direction", json_string(dir));
			json_object_set_new(d, "ingress", json_string(v->ports[p].name));
			json_object_set_new(d, "egress", json_string(v->ports[1 - p].name));
			json_object_set_new(d, "packets", json_integer((json_int_t)fc->pkts));
			json_object_set_new(d, "bytes", json_integer((json_int_t)fc->bytes));
			json_object_set_new(d, "max_frame", json_integer((json_int_t)fc->max_len));
			json_object_set_new(d, "max_oversize",
					    json_integer((json_int_t)fc->max_oversize));
			json_object_set_new(d, "icmp_sent", json_integer((json_int_t)fc->icmp_sent));
			json_object_set_new(d, "icmp_suppressed",
					    json_integer((json_int_t)fc->icmp_suppressed));
			json_object_set_new(d, "df_clear", json_integer((json_int_t)fc->df_clear));
			json_object_set_new(d, "mss_clamped", json_integer((json_int_t)fc->mss_clamped));
			json_object_set_new(d, "mss_bad_options",
					    json_integer((json_int_t)fc->mss_bad_options));
			json_object_set_new(d, "dropped",
					    json_integer((json_int_t)qgw_drops_total(fc->drop)));
			json_object_set_new(d, "drops", drops_object(v, fc->drop));
			json_array_append_new(dirs, d);
		}
		json_object_set_new(j, "directions", dirs);
		json_array_append_new(flows, j);
	}
	json_object_set_new(doc, "flows", flows);

	for (unsigned int r = 0; r < h->nb_drops; r++) {
		json_t *j = json_object();

		json_object_set_new(j, "name", json_string(v->drops[r].name));
		json_object_set_new(j, "help", json_string(v->drops[r].help));
		json_array_append_new(reasons, j);
	}
	json_object_set_new(doc, "drop_reasons", reasons);

	json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	printf("\n");
	json_decref(doc);
}

/* Prometheus label values: escape backslash, double quote and newline. */
static const char *
lv(const char *s, char *buf, size_t len)
{
	size_t n = 0;

	for (; *s != '\0' && n + 3 < len; s++) {
		if (*s == '\\' || *s == '"') {
			buf[n++] = '\\';
			buf[n++] = *s;
		} else if (*s == '\n') {
			buf[n++] = '\\';
			buf[n++] = 'n';
		} else {
			buf[n++] = *s;
		}
	}
	buf[n] = '\0';
	return buf;
}

static void
prom_head(const char *name, const char *type, const char *help)
{
	printf("# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
print_prometheus(const struct opts *o, const struct qgw_shm_view *v, const struct sample *cur)
{
	const struct qgw_shm_header *h = &v->hdr;
	const struct qgw_worker_counters *c = cur->sum;
	char l1[160], l2[160], l3[160];

	prom_head("qinqgw_up", "gauge", "1 while the gateway runs, 0 once it stopped.");
	printf("qinqgw_up %d\n", h->state == QGW_SHM_RUNNING);
	prom_head("qinqgw_info", "gauge", "Gateway version and stats segment name.");
	printf("qinqgw_info{version=\"%s\",stats_name=\"%s\"} 1\n", lv(h->version_str, l1, 160),
	       lv(o->name, l2, 160));
	prom_head("qinqgw_start_time_seconds", "gauge", "Gateway start, Unix time.");
	printf("qinqgw_start_time_seconds %.3f\n", (double)h->start_time / 1e9);
	prom_head("qinqgw_config_generation", "gauge", "Generation of the config in force.");
	printf("qinqgw_config_generation %" PRIu64 "\n", h->generation);

#define PORT_COUNTER(metric, field, help)                                                          \
	do {                                                                                       \
		prom_head(metric, "counter", help);                                                \
		for (unsigned int p = 0; p < h->nb_ports; p++)                                     \
			if (port_selected(o, v, p))                                                \
				printf(metric "{port=\"%s\"} %" PRIu64 "\n",                       \
				       lv(v->ports[p].name, l1, 160), c->port[p].field);          \
	} while (0)
	PORT_COUNTER("qinqgw_port_rx_packets_total", rx_pkts, "Frames received on the port.");
	PORT_COUNTER("qinqgw_port_rx_bytes_total", rx_bytes,
		     "Bytes of frames received on the port, without FCS.");
	PORT_COUNTER("qinqgw_port_tx_packets_total", tx_pkts, "Frames sent out of the port.");
	PORT_COUNTER("qinqgw_port_tx_bytes_total", tx_bytes,
		     "Bytes of frames sent out of the port, without FCS.");
#undef PORT_COUNTER

	prom_head("qinqgw_port_drops_total", "counter",
		  "Frames received on the port and dropped, by reason.");
	for (unsigned int p = 0; p < h->nb_ports; p++) {
		if (!port_selected(o, v, p))
			continue;
		for (unsigned int r = 0; r < h->nb_drops; r++)
			printf("qinqgw_port_drops_total{port=\"%s\",reason=\"%s\"} %" PRIu64 "\n",
			       lv(v->ports[p].name, l1, 160), lv(v->drops[r].name, l2, 160),
			       c->port[p].drop[r]);
	}
#define NIC_COUNTER(metric, field, help)                                                           \
	do {                                                                                       \
		prom_head(metric, "counter", help);                                                \
		for (unsigned int p = 0; p < h->nb_ports; p++)                                     \
			if (port_selected(o, v, p))                                                \
				printf(metric "{port=\"%s\"} %" PRIu64 "\n",                       \
				       lv(v->ports[p].name, l1, 160), v->ports[p].field);         \
	} while (0)
	NIC_COUNTER("qinqgw_port_nic_rx_missed_total", nic_rx_missed,
		    "Frames the NIC dropped because its RX ring was full.");
	NIC_COUNTER("qinqgw_port_nic_rx_nombuf_total", nic_rx_nombuf,
		    "Frames the NIC dropped for want of an mbuf.");
	NIC_COUNTER("qinqgw_port_nic_rx_errors_total", nic_rx_errors,
		    "Frames the NIC received in error.");
	NIC_COUNTER("qinqgw_port_nic_tx_errors_total", nic_tx_errors,
		    "Frames the NIC failed to send.");
#undef NIC_COUNTER
	prom_head("qinqgw_port_link_up", "gauge", "1 if the port's link is up.");
	for (unsigned int p = 0; p < h->nb_ports; p++)
		if (port_selected(o, v, p))
			printf("qinqgw_port_link_up{port=\"%s\"} %u\n",
			       lv(v->ports[p].name, l1, 160), v->ports[p].link_up);
	prom_head("qinqgw_port_link_speed_bytes", "gauge",
		  "Link speed of the port in bytes per second, 0 if unknown.");
	for (unsigned int p = 0; p < h->nb_ports; p++)
		if (port_selected(o, v, p))
			printf("qinqgw_port_link_speed_bytes{port=\"%s\"} %" PRIu64 "\n",
			       lv(v->ports[p].name, l1, 160),
			       (uint64_t)v->ports[p].link_speed * 125000);
	prom_head("qinqgw_port_link_changes_total", "counter",
		  "Link up/down transitions of the port since start.");
	for (unsigned int p = 0; p < h->nb_ports; p++)
		if (port_selected(o, v, p))
			printf("qinqgw_port_link_changes_total{port=\"%s\"} %" PRIu64 "\n",
			       lv(v->ports[p].name, l1, 160), v->ports[p].link_changes);

#define FLOW_LOOP(body)                                                                            \
	for (uint32_t s = 0; s < h->nb_slots; s++) {                                              \
		const struct qgw_shm_flow *f = &v->flows[s];                                       \
		if (!flow_selected(o, f))                                                          \
			continue;                                                                  \
		for (unsigned int p = 0; p < h->nb_ports; p++) {                                   \
			const struct qgw_flow_counters *fc = &c->flow[s][p];                       \
			char dir[2 * QGW_PORT_NAME_MAX + 2];                                       \
			if (!port_selected(o, v, p) && !port_selected(o, v, 1 - p))                \
				continue;                                                          \
			snprintf(dir, sizeof(dir), "%s->%s", v->ports[p].name,                     \
				 v->ports[1 - p].name);                                            \
			body                                                                       \
		}                                                                                  \
	}
	prom_head("qinqgw_flow_packets_total", "counter",
		  "Frames of the flow received on the direction's ingress port.");
	FLOW_LOOP(printf("qinqgw_flow_packets_total{flow=\"%s\",direction=\"%s\"} %" PRIu64 "\n",
			 lv(f->name, l1, 160), lv(dir, l2, 160), fc->pkts);)
	prom_head("qinqgw_flow_bytes_total", "counter",
		  "Bytes of those frames on ingress, without FCS.");
	FLOW_LOOP(printf("qinqgw_flow_bytes_total{flow=\"%s\",direction=\"%s\"} %" PRIu64 "\n",
			 lv(f->name, l1, 160), lv(dir, l2, 160), fc->bytes);)
#define FLOW_COUNTER(metric, field, help)                                                          \
	do {                                                                                       \
		prom_head(metric, "counter", help);                                                \
		FLOW_LOOP(printf(metric "{flow=\"%s\",direction=\"%s\"} %" PRIu64 "\n",           \
				 lv(f->name, l1, 160), lv(dir, l2, 160), fc->field);)              \
	} while (0)
	FLOW_COUNTER("qinqgw_flow_icmp_sent_total", icmp_sent,
		     "ICMP/ICMPv6 errors sent back for oversize frames of the flow.");
	FLOW_COUNTER("qinqgw_flow_icmp_suppressed_total", icmp_suppressed,
		     "Oversize frames not answered with ICMP because of the rate limit.");
	FLOW_COUNTER("qinqgw_flow_df_clear_total", df_clear,
		     "Oversize IPv4 frames without DF (dropped, no ICMP).");
	FLOW_COUNTER("qinqgw_flow_mss_clamped_total", mss_clamped,
		     "TCP SYN and SYN-ACK whose MSS option was lowered.");
	FLOW_COUNTER("qinqgw_flow_mss_bad_options_total", mss_bad_options,
		     "TCP SYN with malformed or truncated options, left untouched.");
#undef FLOW_COUNTER
	prom_head("qinqgw_flow_max_oversize_bytes", "gauge",
		  "Largest frame of the flow dropped as oversize.");
	FLOW_LOOP(printf("qinqgw_flow_max_oversize_bytes{flow=\"%s\",direction=\"%s\"} %" PRIu64 "\n",
			 lv(f->name, l1, 160), lv(dir, l2, 160), fc->max_oversize);)
	prom_head("qinqgw_flow_max_frame_bytes", "gauge",
		  "Largest frame of the flow seen on ingress.");
	FLOW_LOOP(printf("qinqgw_flow_max_frame_bytes{flow=\"%s\",direction=\"%s\"} %" PRIu64 "\n",
			 lv(f->name, l1, 160), lv(dir, l2, 160), fc->max_len);)
	prom_head("qinqgw_flow_drops_total", "counter",
		  "Frames of the flow dropped, by reason (reasons seen so far).");
	FLOW_LOOP(for (unsigned int r = 0; r < h->nb_drops; r++) if (fc->drop[r])
			  printf("qinqgw_flow_drops_total{flow=\"%s\",direction=\"%s\",reason=\"%s\"} %" PRIu64
				 "\n",
				 lv(f->name, l1, 160), lv(dir, l2, 160),
				 lv(v->drops[r].name, l3, 160), fc->drop[r]);)
#undef FLOW_LOOP

	prom_head("qinqgw_worker_polls_total", "counter",
		  "Worker loop iterations, busy (received frames) or idle.");
	for (unsigned int w = 0; w < h->nb_workers; w++) {
		struct qgw_worker_counters *wc = malloc(sizeof(*wc));

		if (wc == NULL)
			break;
		qgw_shm_read_worker(v, w, wc);
		printf("qinqgw_worker_polls_total{worker=\"%u\",state=\"busy\"} %" PRIu64 "\n", w,
		       wc->busy_polls);
		printf("qinqgw_worker_polls_total{worker=\"%u\",state=\"idle\"} %" PRIu64 "\n", w,
		       wc->idle_polls);
		free(wc);
	}
	prom_head("qinqgw_worker_cycles_total", "counter",
		  "TSC cycles a worker spent in busy or idle loop iterations.");
	for (unsigned int w = 0; w < h->nb_workers; w++) {
		struct qgw_worker_counters *wc = malloc(sizeof(*wc));

		if (wc == NULL)
			break;
		qgw_shm_read_worker(v, w, wc);
		printf("qinqgw_worker_cycles_total{worker=\"%u\",state=\"busy\"} %" PRIu64 "\n", w,
		       wc->busy_cycles);
		printf("qinqgw_worker_cycles_total{worker=\"%u\",state=\"idle\"} %" PRIu64 "\n", w,
		       wc->idle_cycles);
		free(wc);
	}
	prom_head("qinqgw_worker_stalled", "gauge",
		  "1 while the worker's heartbeat stands still (checked every second).");
	for (unsigned int w = 0; w < h->nb_workers; w++)
		printf("qinqgw_worker_stalled{worker=\"%u\"} %u\n", w, v->workers[w].stalled);
	prom_head("qinqgw_worker_heartbeat", "gauge",
		  "Worker loop progress (iterations / 256); stuck if it stops moving.");
	for (unsigned int w = 0; w < h->nb_workers; w++)
		printf("qinqgw_worker_heartbeat{worker=\"%u\"} %" PRIu64 "\n", w,
		       v->workers[w].heartbeat);
}

static const char *const actions[] = {
	[QGW_EV_ICMP_SENT] = "icmp_sent",
	[QGW_EV_ICMP_SUPPRESSED] = "icmp_suppressed",
	[QGW_EV_DF_CLEAR] = "df_clear",
	[QGW_EV_DROPPED] = "dropped",
};

struct ev_item {
	struct qgw_event e;
	double when; /* Unix seconds */
};

static int
ev_newest_first(const void *a, const void *b)
{
	const struct ev_item *x = a, *y = b;

	return x->e.tsc < y->e.tsc ? 1 : x->e.tsc > y->e.tsc ? -1 : 0;
}

static void
ev_addr(const struct qgw_event *e, bool dst, char *buf, size_t len)
{
	const uint8_t *a = dst ? e->dst : e->src;
	uint16_t port = dst ? e->dport : e->sport;
	char ip[64];

	if (e->ethertype == 0x0800)
		snprintf(ip, sizeof(ip), "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
	else if (e->ethertype == 0x86dd)
		inet_ntop(AF_INET6, a, ip, sizeof(ip));
	else
		snprintf(ip, sizeof(ip), "-");
	if (port && e->ethertype == 0x86dd)
		snprintf(buf, len, "[%s]:%u", ip, port);
	else if (port)
		snprintf(buf, len, "%s:%u", ip, port);
	else
		snprintf(buf, len, "%s", ip);
}

static void
ev_tags(const struct qgw_event *e, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (unsigned int t = 0; t < e->nb_tags && t < QGW_EVENT_TAGS && n < len; t++) {
		const uint8_t *b = (const uint8_t *)&e->tags[t];

		n += snprintf(buf + n, len - n, "%s%02x%02x/%u", t ? "." : "", b[0], b[1],
			      (unsigned int)((b[2] & 0x0f) << 8 | b[3]));
	}
	if (e->nb_tags > QGW_EVENT_TAGS && n < len)
		snprintf(buf + n, len - n, "...");
	if (e->nb_tags == 0)
		snprintf(buf, len, "untagged");
}

/* The oversize forensics of every worker, merged, newest first per port. */
static void
print_oversize(const struct opts *o, const struct qgw_shm_view *v)
{
	const struct qgw_shm_header *h = &v->hdr;
	size_t cap = (size_t)h->nb_workers * h->nb_ports * QGW_EVENTS, n = 0;
	struct ev_item *items = calloc(cap ? cap : 1, sizeof(*items));
	json_t *arr = o->fmt == FMT_JSON ? json_array() : NULL;

	if (items == NULL)
		return;
	for (uint32_t w = 0; w < h->nb_workers; w++) {
		for (uint32_t p = 0; p < h->nb_ports; p++) {
			const struct qgw_event_ring *r = qgw_shm_view_events(v, w, p);
			uint64_t head = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);

			for (uint64_t i = head > QGW_EVENTS ? head - QGW_EVENTS : 0; i < head; i++) {
				struct ev_item *it = &items[n];

				if (!qgw_event_read(r, (unsigned int)i, &it->e) ||
				    it->e.port >= h->nb_ports || it->e.slot >= h->nb_slots)
					continue;
				if (!port_selected(o, v, it->e.port) ||
				    (o->flow && strcmp(o->flow, v->flows[it->e.slot].name) != 0))
					continue;
				it->when = (double)h->start_time / 1e9 +
					   (h->tsc_hz ? ((double)it->e.tsc - (double)h->start_tsc) /
								(double)h->tsc_hz
						      : 0);
				n++;
			}
		}
	}
	qsort(items, n, sizeof(*items), ev_newest_first);

	if (arr == NULL)
		printf("%-23s %-10s %-20s %6s %6s %6s %-24s %-26s %-26s %5s %s\n", "TIME (UTC)",
		       "PORT", "FLOW", "FRAME", "L3", "LIMIT", "TAGS", "SOURCE", "DESTINATION",
		       "PROTO", "ACTION");
	for (uint32_t p = 0; p < h->nb_ports; p++) {
		unsigned int shown = 0;

		for (size_t i = 0; i < n && shown < QGW_EVENTS; i++) {
			const struct qgw_event *e = &items[i].e;
			char when[40], tags[96], src[64], dst[64];
			time_t sec = (time_t)items[i].when;
			struct tm tm;

			if (e->port != p)
				continue;
			shown++;
			gmtime_r(&sec, &tm);
			strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
			snprintf(when + strlen(when), sizeof(when) - strlen(when), ".%03d",
				 (int)((items[i].when - (double)sec) * 1000));
			ev_tags(e, tags, sizeof(tags));
			ev_addr(e, false, src, sizeof(src));
			ev_addr(e, true, dst, sizeof(dst));
			if (arr != NULL) {
				json_t *j = json_object();

				json_object_set_new(j, "time", json_real(items[i].when));
				json_object_set_new(j, "port", json_string(v->ports[p].name));
				json_object_set_new(j, "flow", json_string(v->flows[e->slot].name));
				json_object_set_new(j, "frame_len", json_integer(e->frame_len));
				json_object_set_new(j, "l3_len", json_integer(e->l3_len));
				json_object_set_new(j, "limit", json_integer(e->limit));
				json_object_set_new(j, "tags", json_string(tags));
				json_object_set_new(j, "ethertype", json_integer(e->ethertype));
				json_object_set_new(j, "proto", json_integer(e->proto));
				json_object_set_new(j, "source", json_string(src));
				json_object_set_new(j, "destination", json_string(dst));
				json_object_set_new(j, "action",
						    json_string(e->action < RTE_DIM(actions) &&
									actions[e->action]
								? actions[e->action]
								: "unknown"));
				json_array_append_new(arr, j);
				continue;
			}
			printf("%-23s %-10s %-20s %6u %6u %6u %-24s %-26s %-26s %5u %s\n", when,
			       v->ports[p].name, v->flows[e->slot].name, e->frame_len, e->l3_len,
			       e->limit, tags, src, dst, e->proto,
			       e->action < RTE_DIM(actions) && actions[e->action] ? actions[e->action]
										 : "unknown");
		}
	}
	if (arr != NULL) {
		json_t *doc = json_object();

		json_object_set_new(doc, "schema", json_string("qinqgw-oversize/1"));
		json_object_set_new(doc, "events", arr);
		json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		printf("\n");
		json_decref(doc);
	} else if (n == 0) {
		printf("(no oversize frame seen)\n");
	}
	free(items);
}

static void
usage(FILE *f)
{
	fprintf(f,
		"Usage: qinqgw-stats [--stats-name NAME] [--json | --prometheus | --watch SECONDS]\n"
		"                    [--flow NAME] [--port NAME] [--count N]\n"
		"\n"
		"Reads the running (or last stopped) gateway's counters from shared memory\n"
		"/dev/shm/NAME (default \"%s\"); needs read permission on it, no root.\n"
		"\n"
		"  --json             one JSON document (schema: docs/stats.md)\n"
		"  --prometheus       Prometheus text exposition format\n"
		"  --watch SECONDS    refresh the table every SECONDS with rates (pps, bit/s)\n"
		"  --count N          with --watch, stop after N refreshes\n"
		"  --oversize         the last oversize frames (64 per port): who sent what\n"
		"  --flow NAME        only that flow\n"
		"  --port NAME        only that port (and flows' directions through it)\n"
		"  --stats-name NAME  the gateway's --stats-name\n"
		"\n"
		"Exit status: 0 ok, 1 no segment or unreadable, 2 bad command line,\n"
		"3 permission denied, 4 layout version differs or segment corrupt,\n"
		"5 --flow/--port names nothing.\n",
		QGW_SHM_DEFAULT_NAME);
}

static int
exit_code(int err)
{
	switch (-err) {
	case EACCES:
	case EPERM:
		return EXIT_PERM;
	case QGW_SHM_EVERSION:
	case QGW_SHM_ECORRUPT:
		return EXIT_LAYOUT;
	default:
		return EXIT_NO_SEGMENT;
	}
}

static int
parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{"stats-name", required_argument, NULL, 'n'},
		{"json", no_argument, NULL, 'j'},
		{"prometheus", no_argument, NULL, 'p'},
		{"watch", required_argument, NULL, 'w'},
		{"count", required_argument, NULL, 'c'},
		{"flow", required_argument, NULL, 'f'},
		{"port", required_argument, NULL, 'P'},
		{"oversize", no_argument, NULL, 'O'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	int c, formats = 0;
	char *end;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			o->name = optarg;
			break;
		case 'j':
			o->fmt = FMT_JSON;
			formats++;
			break;
		case 'p':
			o->fmt = FMT_PROM;
			formats++;
			break;
		case 'w':
			o->watch = strtod(optarg, &end);
			if (*end != '\0' || !(o->watch >= 0.1 && o->watch <= 86400)) {
				fprintf(stderr, "qinqgw-stats: --watch takes seconds, 0.1..86400\n");
				return EXIT_USAGE;
			}
			break;
		case 'c':
			o->count = strtol(optarg, &end, 10);
			if (*end != '\0' || o->count < 1) {
				fprintf(stderr, "qinqgw-stats: --count takes a positive integer\n");
				return EXIT_USAGE;
			}
			break;
		case 'f':
			o->flow = optarg;
			break;
		case 'O':
			o->oversize = true;
			break;
		case 'P':
			o->port = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf("qinqgw-stats %s (stats layout %d)\n", QGW_VERSION, QGW_SHM_VERSION);
			exit(0);
		default:
			fprintf(stderr, "qinqgw-stats: unknown or incomplete option \"%s\"\n",
				argv[optind - 1]);
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "qinqgw-stats: unexpected argument \"%s\"\n", argv[optind]);
		return EXIT_USAGE;
	}
	if (o->oversize && (o->fmt == FMT_PROM || o->watch > 0)) {
		fprintf(stderr, "qinqgw-stats: --oversize goes with the table or --json\n");
		return EXIT_USAGE;
	}
	if (formats > 1 || (o->watch > 0 && o->fmt != FMT_TABLE)) {
		fprintf(stderr, "qinqgw-stats: choose one of --json, --prometheus, --watch\n");
		return EXIT_USAGE;
	}
	if (o->count && o->watch == 0) {
		fprintf(stderr, "qinqgw-stats: --count goes with --watch\n");
		return EXIT_USAGE;
	}
	return 0;
}

static int
check_filters(const struct opts *o, const struct qgw_shm_view *v)
{
	bool found = o->flow == NULL;

	for (uint32_t s = 0; !found && s < v->hdr.nb_slots; s++)
		found = v->flows[s].active && strcmp(v->flows[s].name, o->flow) == 0;
	if (!found) {
		fprintf(stderr, "qinqgw-stats: no flow named \"%s\" in the running config\n",
			o->flow);
		return EXIT_NO_MATCH;
	}
	found = o->port == NULL;
	for (unsigned int p = 0; !found && p < v->hdr.nb_ports; p++)
		found = strcmp(v->ports[p].name, o->port) == 0;
	if (!found) {
		fprintf(stderr, "qinqgw-stats: no port named \"%s\"\n", o->port);
		return EXIT_NO_MATCH;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct opts o = {.name = QGW_SHM_DEFAULT_NAME};
	struct qgw_shm_view v;
	struct sample cur = {0}, prev = {0};
	int ret;

	ret = parse_args(argc, argv, &o);
	if (ret != 0)
		return ret;

	ret = qgw_shm_open_view(o.name, &v);
	if (ret < 0) {
		fprintf(stderr, "qinqgw-stats: /dev/shm/%s: %s\n", o.name, qgw_shm_strerror(ret));
		return exit_code(ret);
	}
	ret = check_filters(&o, &v);
	if (ret != 0) {
		qgw_shm_close_view(&v);
		return ret;
	}
	cur.sum = malloc(sizeof(*cur.sum));
	prev.sum = malloc(sizeof(*prev.sum));
	if (cur.sum == NULL || prev.sum == NULL) {
		fprintf(stderr, "qinqgw-stats: out of memory\n");
		return EXIT_NO_SEGMENT;
	}

	if (o.watch == 0) {
		cur.t = mono();
		ret = qgw_shm_read_counters(&v, cur.sum);
		if (ret < 0) {
			fprintf(stderr, "qinqgw-stats: /dev/shm/%s: %s\n", o.name,
				qgw_shm_strerror(ret));
			return exit_code(ret);
		}
		if (o.oversize)
			print_oversize(&o, &v);
		else if (o.fmt == FMT_JSON)
			print_json(&o, &v, &cur);
		else if (o.fmt == FMT_PROM)
			print_prometheus(&o, &v, &cur);
		else
			print_table(&o, &v, &cur, NULL);
	} else {
		bool tty = isatty(STDOUT_FILENO), have_prev = false;

		signal(SIGINT, on_signal);
		signal(SIGTERM, on_signal);
		for (long i = 0; !stop && (o.count == 0 || i < o.count); i++) {
			struct qgw_worker_counters *t;
			uint32_t pid = v.hdr.pid;

			/* A restarted gateway has a new segment: follow it. */
			if (v.hdr.state == QGW_SHM_STOPPED) {
				struct qgw_shm_view nv;

				if (qgw_shm_open_view(o.name, &nv) == 0) {
					qgw_shm_close_view(&v);
					v = nv;
				}
			} else if (qgw_shm_refresh(&v) < 0) {
				break;
			}
			if (v.hdr.pid != pid)
				have_prev = false;
			cur.t = mono();
			if (qgw_shm_read_counters(&v, cur.sum) < 0)
				break;
			if (tty)
				printf("\033[H\033[2J");
			else if (i > 0)
				printf("\n");
			print_table(&o, &v, &cur, have_prev ? &prev : NULL);
			fflush(stdout);
			t = prev.sum;
			prev = cur;
			cur.sum = t;
			have_prev = true;
			if (o.count == 0 || i + 1 < o.count) {
				struct timespec ts = {.tv_sec = (time_t)o.watch,
						      .tv_nsec = (long)((o.watch - (time_t)o.watch) *
									1e9)};

				nanosleep(&ts, NULL);
			}
		}
	}
	free(cur.sum);
	free(prev.sum);
	qgw_shm_close_view(&v);
	return 0;
}
