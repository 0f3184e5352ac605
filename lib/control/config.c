/*
 * JSON config parsing and validation (see qgw_config.h).
 *
 * The walk visits the whole document and records every error with the JSON
 * pointer of the offending value; only a document without a single error
 * yields a config. Object keys are visited in document order (jansson keeps
 * insertion order), so errors come out in the order an operator reads them.
 */
#include "qgw_config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <rte_common.h>

#define PATH_MAX_LEN 512

struct walk {
	struct qgw_errors *errs;
	size_t nb_errs; /* errors found by this walk, even when errs is NULL */
	struct qgw_config *cfg;
	unsigned int nb_ports; /* valid port names found, at most QGW_NB_PORTS */
	bool ports_ok;	       /* exactly two ports were declared */
	bool ports_clean;      /* ... and /ports had no error at all */
};

void
qgw_errors_add(struct qgw_errors *errs, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	if (errs == NULL)
		return;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (msg == NULL)
		return;
	if (errs->nb == errs->cap) {
		size_t cap = errs->cap ? errs->cap * 2 : 8;
		char **m = realloc(errs->msg, cap * sizeof(*m));

		if (m == NULL) {
			free(msg);
			return;
		}
		errs->msg = m;
		errs->cap = cap;
	}
	errs->msg[errs->nb++] = msg;
}

void
qgw_errors_clear(struct qgw_errors *errs)
{
	if (errs == NULL)
		return;
	for (size_t i = 0; i < errs->nb; i++)
		free(errs->msg[i]);
	free(errs->msg);
	errs->msg = NULL;
	errs->nb = errs->cap = 0;
}

static void __attribute__((format(printf, 3, 4)))
err(struct walk *w, const char *path, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	w->nb_errs++;
	qgw_errors_add(w->errs, "%s: %s", path[0] ? path : "/", buf);
}

/* Append a key to a JSON pointer, escaping '~' and '/' as RFC 6901 says. */
static void
path_key(char *dst, const char *base, const char *key)
{
	size_t n = snprintf(dst, PATH_MAX_LEN, "%s/", base);

	for (const char *k = key; *k != '\0' && n + 3 < PATH_MAX_LEN; k++) {
		if (*k == '~') {
			dst[n++] = '~';
			dst[n++] = '0';
		} else if (*k == '/') {
			dst[n++] = '~';
			dst[n++] = '1';
		} else {
			dst[n++] = *k;
		}
	}
	dst[n] = '\0';
}

static void
path_index(char *dst, const char *base, size_t i)
{
	snprintf(dst, PATH_MAX_LEN, "%s/%zu", base, i);
}

static const char *
type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "object";
	case JSON_ARRAY:
		return "array";
	case JSON_STRING:
		return "string";
	case JSON_INTEGER:
		return "integer";
	case JSON_REAL:
		return "number with a fraction";
	case JSON_TRUE:
	case JSON_FALSE:
		return "boolean";
	case JSON_NULL:
		return "null";
	}
	return "unknown";
}

static bool
expect_type(struct walk *w, const char *path, const json_t *v, json_type t, const char *what)
{
	if (json_typeof(v) == t)
		return true;
	err(w, path, "expected %s, got %s", what, type_name(v));
	return false;
}

/* Reject keys of obj not in allowed (NULL-terminated), naming what is allowed. */
static void
check_keys(struct walk *w, const char *path, const json_t *obj, const char *const *allowed,
	   const char *extra1, const char *extra2)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)obj, key, v) {
		char p[PATH_MAX_LEN], list[256] = "";
		bool ok = false;
		size_t n = 0;

		for (size_t i = 0; allowed[i] != NULL; i++) {
			ok |= strcmp(key, allowed[i]) == 0;
			n += snprintf(list + n, sizeof(list) - n, "%s%s", n ? ", " : "",
				      allowed[i]);
		}
		if (extra1 != NULL) {
			ok |= strcmp(key, extra1) == 0;
			n += snprintf(list + n, sizeof(list) - n, ", %s", extra1);
		}
		if (extra2 != NULL) {
			ok |= strcmp(key, extra2) == 0;
			snprintf(list + n, sizeof(list) - n, ", %s", extra2);
		}
		if (ok)
			continue;
		path_key(p, path, key);
		err(w, p, "unknown key (allowed: %s)", list);
	}
}

static bool
get_int(struct walk *w, const char *path, const json_t *v, long long lo, long long hi,
	long long *out)
{
	long long x;

	if (!expect_type(w, path, v, JSON_INTEGER, "an integer"))
		return false;
	x = json_integer_value(v);
	if (x < lo || x > hi) {
		err(w, path, "%lld out of range %lld..%lld", x, lo, hi);
		return false;
	}
	*out = x;
	return true;
}

/* Keys of a flow object besides its port names: no port may be named so. */
static const char *const flow_keys[] = {"name",		 "mtu",	      "oversize",   "mss_clamp",
					"customer_tags", "icmp_rate", "icmp_burst", NULL};

static bool
is_flow_key(const char *s)
{
	for (unsigned int i = 0; flow_keys[i] != NULL; i++)
		if (strcmp(s, flow_keys[i]) == 0)
			return true;
	return false;
}

static bool
name_ok(const char *s, size_t max, bool first_alpha)
{
	size_t n = strlen(s);

	if (n == 0 || n >= max)
		return false;
	if (first_alpha && !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || c == '.' || c == ':'))
			return false;
	}
	return true;
}

/* EtherTypes that are protocols, never tag identifiers. */
static const struct {
	uint16_t type;
	const char *name;
} not_tpids[] = {
	{0x0800, "IPv4"},   {0x0806, "ARP"},  {0x86dd, "IPv6"}, {0x8847, "MPLS"},
	{0x8848, "MPLS"},   {0x8809, "LACP"}, {0x88cc, "LLDP"}, {0x8035, "RARP"},
	{0x8863, "PPPoE"},  {0x8864, "PPPoE"}, {0x88e5, "MACsec"}, {0x8902, "CFM"},
};

static bool
parse_tpid(struct walk *w, const char *path, const json_t *v, uint16_t *out)
{
	long long x;

	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		size_t n;

		/* strtoll() alone would take spaces, signs and a second "0x" */
		if ((strncmp(s, "0x", 2) != 0 && strncmp(s, "0X", 2) != 0) ||
		    (n = strlen(s + 2)) == 0 || n > 4 ||
		    strspn(s + 2, "0123456789abcdefABCDEF") != n) {
			err(w, path, "\"%s\" is not a hex string like \"0x88a8\"", s);
			return false;
		}
		x = strtoll(s + 2, NULL, 16);
	} else if (json_is_integer(v)) {
		x = json_integer_value(v);
	} else {
		err(w, path, "expected a hex string or an integer, got %s", type_name(v));
		return false;
	}
	if (x < 0) {
		err(w, path, "%lld is not an EtherType (range 0x0600..0xffff)", x);
		return false;
	}
	if (x < 0x0600 || x > 0xffff) {
		err(w, path, "0x%04llx is not an EtherType (range 0x0600..0xffff)", x);
		return false;
	}
	for (size_t i = 0; i < sizeof(not_tpids) / sizeof(not_tpids[0]); i++) {
		if (not_tpids[i].type == x) {
			err(w, path, "0x%04llx is the %s EtherType, not a tag protocol identifier",
			    x, not_tpids[i].name);
			return false;
		}
	}
	*out = (uint16_t)x;
	return true;
}

static bool
parse_tag(struct walk *w, const char *path, const json_t *v, struct qgw_tag_cfg *tag)
{
	static const char *const keys[] = {"tpid", "vid", "pcp", NULL};
	char p[PATH_MAX_LEN];
	const json_t *x;
	long long n;
	bool ok = true;

	if (!expect_type(w, path, v, JSON_OBJECT, "a tag object like {\"tpid\": \"0x88a8\", \"vid\": 100}"))
		return false;
	check_keys(w, path, v, keys, NULL, NULL);
	tag->pcp = -1;

	path_key(p, path, "tpid");
	x = json_object_get(v, "tpid");
	if (x == NULL) {
		err(w, path, "missing key \"tpid\"");
		ok = false;
	} else {
		ok &= parse_tpid(w, p, x, &tag->tpid);
	}

	path_key(p, path, "vid");
	x = json_object_get(v, "vid");
	if (x == NULL) {
		err(w, path, "missing key \"vid\"");
		ok = false;
	} else if (get_int(w, p, x, 1, 4094, &n)) {
		tag->vid = (uint16_t)n;
	} else {
		ok = false;
	}

	path_key(p, path, "pcp");
	x = json_object_get(v, "pcp");
	if (x != NULL) {
		if (get_int(w, p, x, 0, 7, &n))
			tag->pcp = (int8_t)n;
		else
			ok = false;
	}
	return ok;
}

static bool
parse_stack(struct walk *w, const char *path, const json_t *v, struct qgw_stack_cfg *s)
{
	size_t i;
	json_t *t;
	bool ok = true;

	if (!expect_type(w, path, v, JSON_ARRAY, "an array of 0 to 2 tags"))
		return false;
	if (json_array_size(v) > QGW_MAX_TAGS) {
		err(w, path, "at most %d tags, got %zu", QGW_MAX_TAGS, json_array_size(v));
		ok = false;
	}
	json_array_foreach(v, i, t) {
		char p[PATH_MAX_LEN];

		path_index(p, path, i);
		if (i < QGW_MAX_TAGS)
			ok &= parse_tag(w, p, t, &s->tag[i]);
		else
			ok &= parse_tag(w, p, t, &(struct qgw_tag_cfg){0});
	}
	s->nb_tags = ok ? (uint8_t)json_array_size(v) : 0;
	return ok;
}

/* Canonical text of the part of a stack that matching uses. */
static void
stack_key(const struct qgw_stack_cfg *s, char *buf, size_t len)
{
	qgw_stack_format(&(struct qgw_stack_cfg){.nb_tags = s->nb_tags,
						.tag = {{s->tag[0].tpid, s->tag[0].vid, -1},
							{s->tag[1].tpid, s->tag[1].vid, -1}}},
			 buf, len);
}

char *
qgw_stack_format(const struct qgw_stack_cfg *s, char *buf, size_t len)
{
	size_t n = 0;

	if (len == 0)
		return buf;
	buf[0] = '\0';
	if (s->nb_tags == 0) {
		snprintf(buf, len, "untagged");
		return buf;
	}
	for (unsigned int i = 0; i < s->nb_tags && n < len; i++) {
		n += snprintf(buf + n, len - n, "%s0x%04x/%u", i ? "." : "", s->tag[i].tpid,
			      s->tag[i].vid);
		if (s->tag[i].pcp >= 0 && n < len)
			n += snprintf(buf + n, len - n, "/pcp%d", s->tag[i].pcp);
	}
	return buf;
}

static void
parse_port(struct walk *w, const char *path, const char *name, const json_t *v,
	   struct qgw_port_cfg *port)
{
	static const char *const keys[] = {"device", "max_frame", NULL};
	char p[PATH_MAX_LEN];
	const json_t *x;
	long long n;

	/* Named even when its value is wrong: the flows refer to it by name. */
	snprintf(port->name, sizeof(port->name), "%s", name);
	if (!expect_type(w, path, v, JSON_OBJECT, "a port object like {\"device\": \"0000:3b:00.0\"}"))
		return;
	check_keys(w, path, v, keys, NULL, NULL);

	path_key(p, path, "device");
	x = json_object_get(v, "device");
	if (x == NULL) {
		err(w, path, "missing key \"device\"");
	} else if (expect_type(w, p, x, JSON_STRING, "a device name")) {
		const char *d = json_string_value(x);

		if (d[0] == '\0' || strlen(d) >= QGW_DEVICE_NAME_MAX)
			err(w, p, "device name must have 1 to %d characters",
			    QGW_DEVICE_NAME_MAX - 1);
		else
			snprintf(port->device, sizeof(port->device), "%s", d);
	}

	port->max_frame = QGW_MAX_FRAME_DEFAULT;
	path_key(p, path, "max_frame");
	x = json_object_get(v, "max_frame");
	if (x != NULL && get_int(w, p, x, QGW_MAX_FRAME_MIN, QGW_MAX_FRAME_MAX, &n))
		port->max_frame = (uint32_t)n;
}

static void
parse_ports(struct walk *w, const json_t *v)
{
	const char *name;
	json_t *pv;
	size_t n = json_object_size(v), i = 0;

	if (!expect_type(w, "/ports", v, JSON_OBJECT, "an object of two ports"))
		return;
	if (n != QGW_NB_PORTS)
		err(w, "/ports", "exactly %d ports are required (one per segment), got %zu",
		    QGW_NB_PORTS, n);
	w->ports_ok = n == QGW_NB_PORTS;

	json_object_foreach((json_t *)v, name, pv) {
		char p[PATH_MAX_LEN];
		struct qgw_port_cfg tmp = {0};

		path_key(p, "/ports", name);
		if (!name_ok(name, QGW_PORT_NAME_MAX, true) || is_flow_key(name)) {
			err(w, p,
			    "port names start with a letter, use letters, digits, '_', '-', "
			    "'.', ':', have at most %d characters and are not a flow key (name, "
			    "mtu, oversize, mss_clamp, customer_tags, icmp_rate, icmp_burst)",
			    QGW_PORT_NAME_MAX - 1);
			w->ports_ok = false;
		}
		parse_port(w, p, name, pv, i < QGW_NB_PORTS ? &w->cfg->port[i] : &tmp);
		i++;
	}
	w->nb_ports = i < QGW_NB_PORTS ? (unsigned int)i : QGW_NB_PORTS;

	if (w->nb_ports == QGW_NB_PORTS && w->cfg->port[0].device[0] != '\0' &&
	    strcmp(w->cfg->port[0].device, w->cfg->port[1].device) == 0) {
		char p[PATH_MAX_LEN], q[PATH_MAX_LEN];

		path_key(q, "/ports", w->cfg->port[1].name);
		path_key(p, q, "device");
		err(w, p, "\"%s\" is already used by port %s", w->cfg->port[1].device,
		    w->cfg->port[0].name);
	}
}

/*
 * MTU, oversize handling and MSS clamping of one flow whose stacks are valid.
 * The L2 overhead on a port is the Ethernet header, the flow's stack there
 * and the customer's tags inside it; mtu plus that must fit the port's
 * max_frame, for both ports, since each is the egress of one direction.
 */
static void
parse_flow_mtu(struct walk *w, const char *path, const json_t *f, struct qgw_flow_cfg *fc)
{
	char p[PATH_MAX_LEN];
	uint32_t fit = UINT32_MAX;
	unsigned int fit_port = 0;
	const json_t *x;
	long long n;

	fc->customer_tags = QGW_CUSTOMER_TAGS_DEFAULT;
	path_key(p, path, "customer_tags");
	x = json_object_get(f, "customer_tags");
	if (x != NULL && get_int(w, p, x, 0, QGW_CUSTOMER_TAGS_MAX, &n))
		fc->customer_tags = (uint8_t)n;

	for (unsigned int pi = 0; pi < QGW_NB_PORTS; pi++) {
		uint32_t over = 14 + 4 * (fc->stack[pi].nb_tags + fc->customer_tags);
		uint32_t room = w->cfg->port[pi].max_frame > over ? w->cfg->port[pi].max_frame - over : 0;

		if (room < fit) {
			fit = room;
			fit_port = pi;
		}
	}

	path_key(p, path, "mtu");
	x = json_object_get(f, "mtu");
	if (x == NULL) {
		if (fit < QGW_MTU_MIN)
			err(w, path,
			    "%s max_frame %u leaves %u bytes for the L3 packet, at least %d are "
			    "needed",
			    w->cfg->port[fit_port].name, w->cfg->port[fit_port].max_frame, fit,
			    QGW_MTU_MIN);
		fc->mtu = fit;
	} else if (get_int(w, p, x, QGW_MTU_MIN, QGW_MAX_FRAME_MAX, &n)) {
		fc->mtu = (uint32_t)n;
		for (unsigned int pi = 0; pi < QGW_NB_PORTS; pi++) {
			uint32_t over = 14 + 4 * (fc->stack[pi].nb_tags + fc->customer_tags);

			if (fc->mtu + over > w->cfg->port[pi].max_frame)
				err(w, path, "mtu %u + %u bytes of headers = %u > %s max_frame %u",
				    fc->mtu, over, fc->mtu + over, w->cfg->port[pi].name,
				    w->cfg->port[pi].max_frame);
		}
	}

	fc->oversize_icmp = 1;
	path_key(p, path, "oversize");
	x = json_object_get(f, "oversize");
	if (x != NULL && expect_type(w, p, x, JSON_STRING, "\"drop\" or \"icmp\"")) {
		if (strcmp(json_string_value(x), "drop") == 0)
			fc->oversize_icmp = 0;
		else if (strcmp(json_string_value(x), "icmp") != 0)
			err(w, p, "\"%s\" is not \"drop\" or \"icmp\"", json_string_value(x));
	}

	/* The largest TCP segment that fits mtu: 40 bytes of IPv4 + TCP headers,
	 * 60 of IPv6 + TCP. */
	fc->mss4 = fc->mtu >= 40 + QGW_MSS_MIN ? (uint16_t)RTE_MIN(fc->mtu - 40, (uint32_t)QGW_MSS_MAX) : 0;
	fc->mss6 = fc->mtu >= 60 + QGW_MSS_MIN ? (uint16_t)RTE_MIN(fc->mtu - 60, (uint32_t)QGW_MSS_MAX) : 0;
	path_key(p, path, "mss_clamp");
	x = json_object_get(f, "mss_clamp");
	if (x != NULL) {
		if (json_is_false(x)) {
			fc->mss4 = fc->mss6 = 0;
		} else if (json_is_integer(x)) {
			/*
			 * An integer is the IPv4 clamp and may not exceed what fits
			 * mtu; IPv6 (20 header bytes more) gets the same value or
			 * what fits mtu, whichever is lower.
			 */
			if (get_int(w, p, x, QGW_MSS_MIN, QGW_MSS_MAX, &n)) {
				if ((uint32_t)n + 40 > fc->mtu)
					err(w, p,
					    "%lld does not fit mtu %u: an IPv4 TCP segment of %lld "
					    "bytes makes a %lld-byte packet; at most %d (mtu - 40)",
					    n, fc->mtu, n, n + 40, (int)fc->mtu - 40);
				fc->mss4 = (uint16_t)n;
				fc->mss6 = fc->mtu >= 60 + QGW_MSS_MIN
						   ? (uint16_t)RTE_MIN((uint32_t)n, fc->mtu - 60)
						   : 0;
			}
		} else if (!json_is_true(x)) {
			err(w, p, "expected true, false or an MSS (integer), got %s", type_name(x));
		}
	}
	path_key(p, path, "mtu");
	if (fc->mtu < QGW_MTU_LINUX_MIN)
		qgw_errors_add(&w->cfg->warnings,
			       "%s: %u is below %d: Linux hosts ignore ICMP fragmentation-needed "
			       "below %d (net.ipv4.route.min_pmtu) and IPv6 hosts packet-too-big "
			       "below %d (RFC 8200): oversize frames of this flow will be dropped "
			       "again and again; MSS clamping still works for TCP",
			       p, fc->mtu, QGW_MTU_LINUX_MIN, QGW_MTU_LINUX_MIN, QGW_MTU_IPV6_MIN);
	else if (fc->mtu < QGW_MTU_IPV6_MIN)
		qgw_errors_add(&w->cfg->warnings,
			       "%s: %u is below %d: if this flow carries IPv6, its hosts ignore "
			       "packet-too-big below %d (RFC 8200) and oversize IPv6 packets will "
			       "be dropped again and again; MSS clamping still works for TCP",
			       p, fc->mtu, QGW_MTU_IPV6_MIN, QGW_MTU_IPV6_MIN);

	fc->icmp_rate = QGW_ICMP_RATE_DEFAULT;
	path_key(p, path, "icmp_rate");
	x = json_object_get(f, "icmp_rate");
	if (x != NULL && get_int(w, p, x, 0, 1000000, &n))
		fc->icmp_rate = (uint32_t)n;
	fc->icmp_burst = QGW_ICMP_BURST_DEFAULT;
	path_key(p, path, "icmp_burst");
	x = json_object_get(f, "icmp_burst");
	if (x != NULL && get_int(w, p, x, 1, 1000000, &n))
		fc->icmp_burst = (uint32_t)n;
}

static void
parse_flows(struct walk *w, const json_t *v)
{
	const char *const *keys = flow_keys;
	json_t *names, *stacks[QGW_NB_PORTS];
	size_t i;
	json_t *f;

	if (!expect_type(w, "/flows", v, JSON_ARRAY, "an array of flows"))
		return;
	if (json_array_size(v) > QGW_MAX_FLOWS) {
		err(w, "/flows", "at most %d flows, got %zu", QGW_MAX_FLOWS, json_array_size(v));
		return;
	}
	w->cfg->flows = calloc(json_array_size(v) + 1, sizeof(*w->cfg->flows));
	if (w->cfg->flows == NULL) {
		err(w, "/flows", "out of memory");
		return;
	}
	w->cfg->nb_flows = (uint32_t)json_array_size(v);

	/* name -> index and stack -> index maps, to find what two flows claim */
	names = json_object();
	for (unsigned int p = 0; p < QGW_NB_PORTS; p++)
		stacks[p] = json_object();

	json_array_foreach(v, i, f) {
		struct qgw_flow_cfg *fc = &w->cfg->flows[i];
		char path[PATH_MAX_LEN], p[PATH_MAX_LEN];
		const json_t *x;

		path_index(path, "/flows", i);
		if (!expect_type(w, path, f, JSON_OBJECT, "a flow object"))
			continue;
		/* Without two valid ports, which keys are port names is unknown. */
		if (w->ports_ok)
			check_keys(w, path, f, keys, w->cfg->port[0].name, w->cfg->port[1].name);

		path_key(p, path, "name");
		x = json_object_get(f, "name");
		if (x == NULL) {
			err(w, path, "missing key \"name\"");
		} else if (expect_type(w, p, x, JSON_STRING, "a string")) {
			const char *n = json_string_value(x);
			json_t *prev = json_object_get(names, n);

			if (!name_ok(n, QGW_FLOW_NAME_MAX, false))
				err(w, p,
				    "\"%s\": flow names use letters, digits, '_', '-', '.', ':' "
				    "and have 1 to %d characters",
				    n, QGW_FLOW_NAME_MAX - 1);
			else if (prev != NULL)
				err(w, p, "\"%s\" is already the name of /flows/%lld", n,
				    json_integer_value(prev));
			else
				json_object_set_new(names, n, json_integer((json_int_t)i));
			snprintf(fc->name, sizeof(fc->name), "%s", n);
		}

		unsigned int stacks_ok = 0;

		for (unsigned int pi = 0; pi < w->nb_ports; pi++) {
			const char *pname = w->cfg->port[pi].name;
			char key[128];
			json_t *prev;

			path_key(p, path, pname);
			x = json_object_get(f, pname);
			if (x == NULL) {
				if (w->ports_ok)
					err(w, path,
					    "missing key \"%s\" (the flow's tag stack on that "
					    "port; [] for untagged)",
					    pname);
				continue;
			}
			if (!parse_stack(w, p, x, &fc->stack[pi]))
				continue;
			stacks_ok++;
			stack_key(&fc->stack[pi], key, sizeof(key));
			prev = json_object_get(stacks[pi], key);
			if (prev != NULL) {
				long long j = json_integer_value(prev);

				err(w, p, "stack %s on port %s is already claimed by flow \"%s\" "
					  "(/flows/%lld)",
				    key, pname, w->cfg->flows[j].name, j);
			} else {
				json_object_set_new(stacks[pi], key, json_integer((json_int_t)i));
			}
		}
		/* The MTU arithmetic needs both ports and both stacks. */
		if (w->ports_clean && stacks_ok == QGW_NB_PORTS)
			parse_flow_mtu(w, path, f, fc);
	}

	/* The data path indexes TPIDs per port in a small table. */
	for (unsigned int pi = 0; pi < w->nb_ports; pi++) {
		uint16_t seen[QGW_MAX_TPIDS * QGW_MAX_TAGS * 2];
		unsigned int nb = 0;
		bool over = false;

		for (uint32_t fi = 0; fi < w->cfg->nb_flows && !over; fi++) {
			const struct qgw_stack_cfg *s = &w->cfg->flows[fi].stack[pi];

			for (unsigned int t = 0; t < s->nb_tags; t++) {
				unsigned int k;

				for (k = 0; k < nb && seen[k] != s->tag[t].tpid; k++)
					;
				if (k < nb)
					continue;
				if (nb == QGW_MAX_TPIDS) {
					over = true;
					break;
				}
				seen[nb++] = s->tag[t].tpid;
			}
		}
		if (over) {
			char p[PATH_MAX_LEN];

			path_key(p, "/ports", w->cfg->port[pi].name);
			err(w, p, "flows use more than %d distinct TPIDs on this port",
			    QGW_MAX_TPIDS);
		}
	}

	json_decref(names);
	for (unsigned int p = 0; p < QGW_NB_PORTS; p++)
		json_decref(stacks[p]);
}

static struct qgw_config *
validate(json_t *root, struct qgw_errors *errs)
{
	static const char *const keys[] = {"version", "ports", "flows", NULL};
	struct walk w = {.errs = errs};
	const json_t *x;

	w.cfg = calloc(1, sizeof(*w.cfg));
	if (w.cfg == NULL) {
		qgw_errors_add(errs, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	if (!expect_type(&w, "", root, JSON_OBJECT, "an object with \"ports\" and \"flows\""))
		goto out;
	check_keys(&w, "", root, keys, NULL, NULL);

	x = json_object_get(root, "version");
	if (x != NULL) {
		long long ver;

		get_int(&w, "/version", x, 1, 1, &ver);
	}

	x = json_object_get(root, "ports");
	if (x == NULL) {
		err(&w, "", "missing key \"ports\"");
	} else {
		size_t before = w.nb_errs;

		parse_ports(&w, x);
		w.ports_clean = w.ports_ok && w.nb_errs == before;
	}

	x = json_object_get(root, "flows");
	if (x == NULL)
		err(&w, "", "missing key \"flows\"");
	else
		parse_flows(&w, x);

out:
	if (w.nb_errs == 0)
		return w.cfg;
	qgw_config_free(w.cfg);
	errno = EINVAL;
	return NULL;
}

static struct qgw_config *
load(json_t *root, const json_error_t *jerr, struct qgw_errors *errs)
{
	struct qgw_config *cfg;

	if (root == NULL) {
		if (jerr->line > 0)
			qgw_errors_add(errs, "line %d, column %d: %s", jerr->line, jerr->column,
				       jerr->text);
		else
			qgw_errors_add(errs, "%s", jerr->text);
		errno = EINVAL;
		return NULL;
	}
	cfg = validate(root, errs);
	json_decref(root);
	return cfg;
}

struct qgw_config *
qgw_config_load_string(const char *text, struct qgw_errors *errs)
{
	json_error_t jerr;

	return load(json_loads(text, JSON_REJECT_DUPLICATES, &jerr), &jerr, errs);
}

struct qgw_config *
qgw_config_load_file(const char *path, struct qgw_errors *errs)
{
	json_error_t jerr;

	return load(json_load_file(path, JSON_REJECT_DUPLICATES, &jerr), &jerr, errs);
}

void
qgw_config_free(struct qgw_config *cfg)
{
	if (cfg == NULL)
		return;
	free(cfg->flows);
	qgw_errors_clear(&cfg->warnings);
	free(cfg);
}

int
qgw_config_port_index(const struct qgw_config *cfg, const char *name)
{
	for (int i = 0; i < QGW_NB_PORTS; i++)
		if (strcmp(cfg->port[i].name, name) == 0)
			return i;
	return -ENOENT;
}
