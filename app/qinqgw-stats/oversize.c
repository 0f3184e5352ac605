/*
 * The oversize forensics view (--oversize): the last oversize frames of
 * every worker and port, merged, newest first per port, with the name the
 * flow had when the frame came (the event's own copy) and whether the
 * flow's slot has been given to another flow since.
 */
#include "views.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <jansson.h>

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

static const char *
action_name(uint8_t a)
{
	return a < sizeof(actions) / sizeof(actions[0]) && actions[a] ? actions[a] : "unknown";
}

void
qgw_view_oversize(FILE *out, const struct qgw_stats_opts *o, const struct qgw_reading *r)
{
	const struct qgw_shm_view *v = r->v;
	const struct qgw_shm_header *h = &v->hdr;
	size_t cap = (size_t)h->nb_workers * h->nb_ports * QGW_EVENTS, n = 0;
	struct ev_item *items = calloc(cap ? cap : 1, sizeof(*items));
	json_t *arr = o->fmt == QGW_FMT_JSON ? json_array() : NULL;

	if (items == NULL) {
		json_decref(arr);
		return;
	}
	for (uint32_t w = 0; w < h->nb_workers; w++) {
		for (uint32_t p = 0; p < h->nb_ports; p++) {
			const struct qgw_event_ring *ring = qgw_shm_view_events(v, w, p);
			uint64_t head = __atomic_load_n(&ring->head, __ATOMIC_ACQUIRE);

			for (uint64_t i = head > QGW_EVENTS ? head - QGW_EVENTS : 0; i < head; i++) {
				struct ev_item *it = &items[n];

				if (n >= cap || !qgw_event_read(ring, (unsigned int)i, &it->e) ||
				    it->e.port >= h->nb_ports || it->e.slot >= h->nb_slots)
					continue;
				it->e.flow[sizeof(it->e.flow) - 1] = '\0';
				if (!qgw_port_selected(o, v, it->e.port) ||
				    (o->flow && strcmp(o->flow, it->e.flow) != 0))
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
		fprintf(out, "%-23s %-10s %-20s %6s %6s %6s %-24s %-26s %-26s %5s %s\n",
			"TIME (UTC)", "PORT", "FLOW", "FRAME", "L3", "LIMIT", "TAGS", "SOURCE",
			"DESTINATION", "PROTO", "ACTION");
	for (uint32_t p = 0; p < h->nb_ports; p++) {
		unsigned int shown = 0;

		for (size_t i = 0; i < n && shown < QGW_EVENTS; i++) {
			const struct qgw_event *e = &items[i].e;
			const struct qgw_shm_flow *f = &v->flows[e->slot];
			/* the slot still holds the flow of the event? */
			bool current = f->active && f->gen == e->slot_gen;
			char when[40], tags[96], src[64], dst[64], flow[80];
			time_t sec;
			struct tm tm;

			if (e->port != p)
				continue;
			shown++;
			sec = items[i].when > 0 && items[i].when < 1e12 ? (time_t)items[i].when : 0;
			gmtime_r(&sec, &tm);
			strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
			{
				/* a damaged event's time can be anything: no cast out of range */
				double fr = items[i].when - (double)sec;

				snprintf(when + strlen(when), sizeof(when) - strlen(when), ".%03d",
					 fr >= 0 && fr < 1 ? (int)(fr * 1000) : 0);
			}
			ev_tags(e, tags, sizeof(tags));
			ev_addr(e, false, src, sizeof(src));
			ev_addr(e, true, dst, sizeof(dst));
			snprintf(flow, sizeof(flow), "%s%s", e->flow, current ? "" : " (gone)");
			if (arr != NULL) {
				json_t *j = json_object();

				json_object_set_new(j, "time", json_real(items[i].when));
				json_object_set_new(j, "port", json_string(v->ports[p].name));
				json_object_set_new(j, "flow", json_string(e->flow));
				json_object_set_new(j, "flow_current", json_boolean(current));
				json_object_set_new(j, "slot", json_integer(e->slot));
				json_object_set_new(j, "slot_gen", json_integer(e->slot_gen));
				json_object_set_new(j, "frame_len", json_integer(e->frame_len));
				json_object_set_new(j, "l3_len", json_integer(e->l3_len));
				json_object_set_new(j, "limit", json_integer(e->limit));
				json_object_set_new(j, "tags", json_string(tags));
				json_object_set_new(j, "ethertype", json_integer(e->ethertype));
				json_object_set_new(j, "proto", json_integer(e->proto));
				json_object_set_new(j, "source", json_string(src));
				json_object_set_new(j, "destination", json_string(dst));
				json_object_set_new(j, "action", json_string(action_name(e->action)));
				json_array_append_new(arr, j);
				continue;
			}
			fprintf(out, "%-23s %-10s %-20s %6u %6u %6u %-24s %-26s %-26s %5u %s\n", when,
				v->ports[p].name, flow, e->frame_len, e->l3_len, e->limit, tags, src,
				dst, e->proto, action_name(e->action));
		}
	}
	if (arr != NULL) {
		json_t *doc = json_object();

		json_object_set_new(doc, "schema", json_string("qinqgw-oversize/1"));
		json_object_set_new(doc, "events", arr);
		json_dumpf(doc, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fprintf(out, "\n");
		json_decref(doc);
	} else if (n == 0) {
		fprintf(out, "(no oversize frame seen)\n");
	}
	free(items);
}
