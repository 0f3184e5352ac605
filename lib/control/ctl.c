/*
 * Control socket server (see qgw_ctl.h). One request line in, one response
 * line out, any number of times per connection, every client served a
 * bounded share of each main-loop round so that none can hold the main
 * lcore. Every apply, rollback and rejection is logged with who asked (peer
 * uid/pid from SO_PEERCRED), what changed and the generation; so is every
 * client closed by a limit. The log-level command reads and sets the levels
 * of DPDK log types (the gateway's qinqgw.* and any other).
 */
#include "qgw_ctl.h"

#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "qgw_log.h"

static uint64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int
qgw_ctl_open(struct qgw_ctl *ctl, const char *path, const char *group, unsigned int timeout_s,
	     char *msg, size_t msglen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char dir[sizeof(ctl->path)];
	gid_t gid = (gid_t)-1;
	int fd, ret;

	ctl->fd = -1;
	ctl->timeout_s = timeout_s ? timeout_s : QGW_CTL_TIMEOUT_DEFAULT;
	ctl->busy = false;
	for (unsigned int i = 0; i < QGW_CTL_MAX_CLIENTS; i++)
		ctl->clients[i] = (struct qgw_ctl_client){.fd = -1};
	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(msg, msglen, "control socket path \"%s\" is too long (%zu bytes at most)",
			 path, sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	if (group != NULL) {
		struct group *g = getgrnam(group);

		if (g == NULL) {
			snprintf(msg, msglen, "control group \"%s\" does not exist", group);
			return -ENOENT;
		}
		gid = g->gr_gid;
	}
	snprintf(ctl->path, sizeof(ctl->path), "%s", path);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	snprintf(dir, sizeof(dir), "%s", path);
	if (mkdir(dirname(dir), 0755) < 0 && errno != EEXIST) {
		snprintf(msg, msglen, "cannot create %s for the control socket: %s", dir,
			 strerror(errno));
		return -errno;
	}

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		snprintf(msg, msglen, "control socket: %s", strerror(errno));
		return -errno;
	}
	/* A socket file someone still listens on belongs to a live gateway. */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 || errno == EAGAIN) {
		snprintf(msg, msglen,
			 "control socket %s is in use by a running gateway; stop it or give "
			 "this one another --ctl-socket",
			 path);
		close(fd);
		return -EADDRINUSE;
	}
	close(fd);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		snprintf(msg, msglen, "control socket: %s", strerror(errno));
		return -errno;
	}
	unlink(path); /* stale file of a gateway that is gone */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 64) < 0 ||
	    chmod(path, 0660) < 0 || (gid != (gid_t)-1 && chown(path, (uid_t)-1, gid) < 0)) {
		ret = -errno;
		snprintf(msg, msglen, "cannot listen on control socket %s: %s", path,
			 strerror(errno));
		close(fd);
		unlink(path);
		return ret;
	}
	ctl->fd = fd;
	return 0;
}

static json_t *
reply(bool ok)
{
	json_t *r = json_object();

	json_object_set_new(r, "version", json_integer(QGW_CTL_VERSION));
	json_object_set_new(r, "ok", json_boolean(ok));
	return r;
}

static json_t *
fail(const char *fmt, const char *arg)
{
	json_t *r = reply(false), *e = json_array();
	char buf[512];

	snprintf(buf, sizeof(buf), fmt, arg);
	json_array_append_new(e, json_string(buf));
	json_object_set_new(r, "errors", e);
	return r;
}

/* Parse and validate the request's config text against the running gateway. */
static struct qgw_config *
candidate(struct qgw_runtime *rt, json_t *req, json_t **resp)
{
	const char *text = json_string_value(json_object_get(req, "config"));
	struct qgw_errors errs = {0};
	struct qgw_config *cand;

	if (text == NULL) {
		*resp = fail("%s", "request needs \"config\": the config file's text");
		return NULL;
	}
	cand = qgw_config_load_string(text, &errs);
	if (cand != NULL && qgw_runtime_check(rt, cand, &errs) != 0) {
		qgw_config_free(cand);
		cand = NULL;
	}
	if (cand == NULL) {
		json_t *e = json_array();

		for (size_t i = 0; i < errs.nb; i++)
			json_array_append_new(e, json_string(errs.msg[i]));
		*resp = reply(false);
		json_object_set_new(*resp, "errors", e);
	}
	qgw_errors_clear(&errs);
	return cand;
}

static void
add_state(json_t *r, const struct qgw_runtime *rt)
{
	json_object_set_new(r, "generation", json_integer((json_int_t)rt->generation));
	if (rt->confirm_deadline) {
		struct timespec ts;
		uint64_t now;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		now = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
		json_object_set_new(r, "confirm_pending", json_true());
		json_object_set_new(r, "confirm_seconds_left",
				    json_real(rt->confirm_deadline > now
						      ? (double)(rt->confirm_deadline - now) / 1e9
						      : 0));
	} else {
		json_object_set_new(r, "confirm_pending", json_false());
	}
}

/* A valid config's warnings ("warnings": [...]), when it has any. */
static void
add_warnings(json_t *r, const struct qgw_config *cfg)
{
	json_t *w;

	if (cfg->warnings.nb == 0)
		return;
	w = json_array();
	for (size_t i = 0; i < cfg->warnings.nb; i++)
		json_array_append_new(w, json_string(cfg->warnings.msg[i]));
	json_object_set_new(r, "warnings", w);
}

static void
add_type(const char *name, int level, void *arg)
{
	json_t *t = json_object();

	json_object_set_new(t, "name", json_string(name));
	json_object_set_new(t, "level", json_string(qgw_log_level_name(level)));
	json_array_append_new(arg, t);
}

/*
 * "log-level": without "level", the levels of the types matching "pattern"
 * (default: the gateway's); with it, set them, then the same list.
 */
static json_t *
log_level(json_t *req, const char *who)
{
	json_t *p = json_object_get(req, "pattern"), *l = json_object_get(req, "level");
	const char *pattern = json_string_value(p);
	json_t *r, *types = json_array();
	int level = 0, n;

	if ((p != NULL && (pattern == NULL || pattern[0] == '\0' || strlen(pattern) > 128)) ||
	    (l != NULL && !json_is_string(l))) {
		json_decref(types);
		return fail("%s", "log-level: \"pattern\" is a log type name or glob (e.g. "
				  "\"qinqgw.*\"), \"level\" a level name");
	}
	if (l != NULL) {
		level = qgw_log_parse_level(json_string_value(l));
		if (level < 0) {
			json_decref(types);
			return fail("unknown log level \"%s\": emergency, alert, critical, error, "
				    "warning, notice, info, debug or 1..8",
				    json_string_value(l));
		}
	}
	pattern = qgw_log_pattern(pattern != NULL ? pattern : QGW_LOG_ALL);
	n = qgw_log_foreach(pattern, add_type, types);
	if (n == 0) {
		json_decref(types);
		QGW_LOGT(ctl, WARNING, "log-level by %s refused: no log type matches \"%s\"", who,
			 pattern);
		return fail("no log type matches \"%s\" (`qinqgw-ctl log-level --all` lists them)",
			    pattern);
	}
	if (n < 0) {
		json_decref(types);
		return fail("%s", "log-level: out of memory");
	}
	if (level > 0) {
		qgw_log_set(pattern, level);
		json_array_clear(types);
		qgw_log_foreach(pattern, add_type, types);
		QGW_LOGT(ctl, NOTICE, "log level of %s (%d type%s) set to %s by %s", pattern, n,
			 n == 1 ? "" : "s", qgw_log_level_name(level), who);
	}
	r = reply(true);
	json_object_set_new(r, "pattern", json_string(pattern));
	json_object_set_new(r, "global_level",
			    json_string(qgw_log_level_name((int)rte_log_get_global_level())));
	json_object_set_new(r, "log_types", types);
	return r;
}

/* ---- commands ------------------------------------------------------------ */

struct ctl_req {
	struct qgw_runtime *rt;
	json_t *req;
	const char *who;
	uint64_t wait_gen; /**< apply: answer once tables before it are retired */
};

static json_t *
cmd_check(struct ctl_req *x)
{
	json_t *r = NULL;
	struct qgw_config *cand = candidate(x->rt, x->req, &r);

	if (cand != NULL) {
		r = reply(true);
		add_warnings(r, cand);
		qgw_config_free(cand);
	}
	return r;
}

static json_t *
cmd_diff(struct ctl_req *x)
{
	json_t *r = NULL;
	struct qgw_config *cand = candidate(x->rt, x->req, &r);

	if (cand != NULL) {
		r = reply(true);
		json_object_set_new(r, "diff", qgw_config_diff(x->rt->cfg, cand));
		add_warnings(r, cand);
		qgw_config_free(cand);
	}
	return r;
}

static json_t *
cmd_apply(struct ctl_req *x)
{
	json_t *c = json_object_get(x->req, "confirm"), *r = NULL, *diff;
	long long confirm = json_is_integer(c) ? json_integer_value(c) : 0;
	struct qgw_config *cand;
	char msg[512];

	if (c != NULL && (!json_is_integer(c) || confirm < 1 || confirm > 86400))
		return fail("%s", "\"confirm\" is a number of seconds, 1..86400");
	cand = candidate(x->rt, x->req, &r);
	if (cand == NULL) {
		QGW_LOGT(config, WARNING, "config apply by %s rejected: invalid config", x->who);
		return r;
	}
	diff = qgw_config_diff(x->rt->cfg, cand);
	r = reply(true);
	add_warnings(r, cand); /* cand belongs to the runtime once applied */
	if (qgw_runtime_apply(x->rt, cand, x->who, (unsigned int)confirm, msg, sizeof(msg)) != 0) {
		json_decref(r);
		qgw_config_free(cand);
		json_decref(diff);
		return fail("%s", msg);
	}
	json_object_set_new(r, "message", json_string(msg));
	json_object_set_new(r, "diff", diff);
	x->wait_gen = x->rt->generation;
	return r;
}

static json_t *
cmd_confirm(struct ctl_req *x)
{
	if (qgw_runtime_confirm(x->rt, x->who) == 0)
		return reply(true);
	return fail("%s", "no apply is waiting for confirmation");
}

static json_t *
cmd_show(struct ctl_req *x)
{
	json_t *r = reply(true);

	json_object_set_new(r, "config", qgw_config_dump(x->rt->cfg));
	return r;
}

static json_t *
cmd_log_level(struct ctl_req *x)
{
	return log_level(x->req, x->who);
}

static uint32_t
u32_of(json_t *req, const char *key)
{
	json_t *v = json_object_get(req, key);

	return v ? (uint32_t)json_integer_value(v) : 0;
}

static json_t *
cmd_fault(struct ctl_req *x)
{
	json_t *w = json_object_get(x->req, "worker");
	int ret = qgw_runtime_fault(x->rt, w ? (int)json_integer_value(w) : -1,
				    u32_of(x->req, "stall_ms"), u32_of(x->req, "hold_mbufs_ms"),
				    u32_of(x->req, "control_stall_ms"));

	if (ret == -EPERM)
		return fail("%s", "fault injection is off (qinqgw --fault-injection, tests only)");
	if (ret < 0)
		return fail("%s", "fault: \"worker\" N with \"stall_ms\" 1..60000, "
				  "\"hold_mbufs_ms\" 1..60000, or \"control_stall_ms\" 1..60000");
	return reply(true);
}

/* One handler per command of qgw_ctl_proto.h, in its order. */
static const struct {
	const char *name;
	json_t *(*fn)(struct ctl_req *x);
} commands[QGW_CTL_CMD__MAX] = {
	[QGW_CTL_CMD_CHECK] = {"check", cmd_check},
	[QGW_CTL_CMD_DIFF] = {"diff", cmd_diff},
	[QGW_CTL_CMD_APPLY] = {"apply", cmd_apply},
	[QGW_CTL_CMD_CONFIRM] = {"confirm", cmd_confirm},
	[QGW_CTL_CMD_SHOW] = {"show", cmd_show},
	[QGW_CTL_CMD_LOG_LEVEL] = {"log-level", cmd_log_level},
	[QGW_CTL_CMD_FAULT] = {"fault", cmd_fault},
};

static json_t *
request(struct ctl_req *x)
{
	const char *cmd = json_string_value(json_object_get(x->req, "command"));
	json_t *ver = json_object_get(x->req, "version");
	char names[256];
	size_t n = 0;

	if (!json_is_object(x->req))
		return fail("%s", "a request is a JSON object on one line");
	if (!json_is_integer(ver) || json_integer_value(ver) != QGW_CTL_VERSION)
		return fail("protocol version %s expected (\"version\": 1)", "1");
	if (cmd == NULL)
		return fail("%s", "request needs \"command\"");
	for (unsigned int i = 0; i < QGW_CTL_CMD__MAX; i++) {
		if (strcmp(cmd, commands[i].name) == 0)
			return commands[i].fn(x);
		if (i != QGW_CTL_CMD_FAULT)
			n += (size_t)snprintf(names + n, sizeof(names) - n, "%s%s", n ? ", " : "",
					      commands[i].name);
	}
	{
		char buf[512];

		snprintf(buf, sizeof(buf), "unknown command \"%.64s\" (%s)", cmd, names);
		return fail("%s", buf);
	}
}

/* Every response carries the state, refusals included. */
json_t *
qgw_ctl_request(struct qgw_runtime *rt, json_t *req, const char *who, uint64_t *wait_gen)
{
	struct ctl_req x = {.rt = rt, .req = req, .who = who};
	json_t *r = request(&x);

	add_state(r, rt);
	if (wait_gen != NULL)
		*wait_gen = x.wait_gen;
	return r;
}

/* ---- connections ------------------------------------------------------------ */

static void
drop_client(struct qgw_ctl *ctl, struct qgw_ctl_client *c, const char *why)
{
	if (why != NULL) {
		QGW_LOGT(ctl, WARNING, "control client %s closed: %s", c->who, why);
		ctl->closed++;
	}
	close(c->fd);
	free(c->in);
	free(c->out);
	json_decref(c->pending);
	*c = (struct qgw_ctl_client){.fd = -1};
}

/* Queue one answer line; false (and the client closed) past the output limit. */
static bool
queue(struct qgw_ctl *ctl, struct qgw_ctl_client *c, json_t *resp)
{
	char *s = json_dumps(resp, JSON_COMPACT | JSON_PRESERVE_ORDER);
	size_t len;

	if (s == NULL)
		return true;
	len = strlen(s);
	if (c->out_len - c->out_off + len + 1 > QGW_CTL_MAX_OUTPUT) {
		free(s);
		drop_client(ctl, c, "it does not read its answers (queued output over the limit)");
		return false;
	}
	if (c->out_off > 0 && c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	if (c->out_cap - c->out_len < len + 1) {
		size_t cap = c->out_cap ? c->out_cap : 4096;
		char *b;

		while (cap - c->out_len < len + 1)
			cap *= 2;
		b = realloc(c->out, cap);
		if (b == NULL) {
			free(s);
			drop_client(ctl, c, "out of memory for its answer");
			return false;
		}
		c->out = b;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, s, len);
	c->out[c->out_len + len] = '\n';
	c->out_len += len + 1;
	free(s);
	return true;
}

/* Send what the socket takes now; never waits. */
static void
flush(struct qgw_ctl_client *c, uint64_t now)
{
	size_t before = c->out_off;

	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n > 0) {
			c->out_off += (size_t)n;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		/* the peer is gone: nothing more to send, nothing more to answer */
		c->out_off = c->out_len;
		c->eof = true;
		c->closing = true;
		break;
	}
	if (c->out_off == c->out_len) {
		c->out_off = c->out_len = 0;
		c->stuck = 0;
	} else if (c->out_off != before || c->stuck == 0) {
		c->stuck = now;
	}
}

static void
accept_clients(struct qgw_ctl *ctl, uint64_t now)
{
	static const char full[] = "{\"version\":1,\"ok\":false,\"busy\":true,\"errors\":[\"too "
				   "many control connections: try again later\"]}\n";

	for (int k = 0; k < QGW_CTL_MAX_CLIENTS; k++) {
		int fd = accept4(ctl->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct qgw_ctl_client *c = NULL;
		struct ucred cred;
		socklen_t cl = sizeof(cred);

		if (fd < 0)
			return;
		for (unsigned int i = 0; i < QGW_CTL_MAX_CLIENTS && c == NULL; i++)
			if (ctl->clients[i].fd < 0)
				c = &ctl->clients[i];
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) != 0)
			cred = (struct ucred){.uid = (uid_t)-1, .pid = 0};
		if (c == NULL) {
			/* one line, best effort, and the newest connection goes */
			ssize_t n = send(fd, full, sizeof(full) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);

			(void)n;
			close(fd);
			ctl->refused++;
			QGW_LOGT(ctl, WARNING,
				 "control socket: %d connections already, uid %d pid %d refused",
				 QGW_CTL_MAX_CLIENTS, (int)cred.uid, (int)cred.pid);
			continue;
		}
		*c = (struct qgw_ctl_client){.fd = fd, .uid = cred.uid, .pid = cred.pid,
					     .last_rx = now};
		snprintf(c->who, sizeof(c->who), "uid %d pid %d", (int)c->uid, (int)c->pid);
	}
}

/* Read what is there, within the round's budget. */
static void
receive(struct qgw_ctl *ctl, struct qgw_ctl_client *c, uint64_t now)
{
	size_t got = 0;

	while (got < QGW_CTL_READ_BUDGET && !c->eof && !c->closing) {
		ssize_t n;

		if (c->in_cap - c->in_len < 4096) {
			size_t cap = c->in_cap ? c->in_cap * 2 : 8192;
			char *b;

			if (cap > QGW_CTL_MAX_REQUEST + QGW_CTL_READ_BUDGET + 8192)
				cap = QGW_CTL_MAX_REQUEST + QGW_CTL_READ_BUDGET + 8192;
			if (cap <= c->in_cap)
				return; /* full: the line limit below deals with it */
			b = realloc(c->in, cap);
			if (b == NULL) {
				drop_client(ctl, c, "out of memory for its request");
				return;
			}
			c->in = b;
			c->in_cap = cap;
		}
		n = recv(c->fd, c->in + c->in_len, RTE_MIN(c->in_cap - c->in_len - 1,
							   QGW_CTL_READ_BUDGET - got),
			 MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			c->eof = true;
			return;
		}
		if (n < 0)
			return;
		got += (size_t)n;
		c->in_len += (size_t)n;
		c->last_rx = now;
		if (c->partial == 0)
			c->partial = now;
	}
	if (got >= QGW_CTL_READ_BUDGET)
		ctl->busy = true; /* more may wait: come back without sleeping */
}

/* Answer up to the round's budget of complete lines. */
static void
answer(struct qgw_ctl *ctl, struct qgw_ctl_client *c, struct qgw_runtime *rt, uint64_t now)
{
	size_t off = 0; /* start of the first line not answered yet */
	unsigned int k;

	if (c->in == NULL) /* nothing received yet */
		return;
	for (k = 0; k < QGW_CTL_REQ_BUDGET; k++) {
		char *line = c->in + off, *nl;
		json_error_t jerr;
		json_t *req, *resp;
		uint64_t wait_gen = 0;

		if (c->pending != NULL || c->closing || c->out_len - c->out_off > QGW_CTL_OUT_HIGH)
			break;
		if (c->scanned < off)
			c->scanned = off;
		nl = c->in_len > c->scanned ? memchr(c->in + c->scanned, '\n', c->in_len - c->scanned)
					    : NULL;
		if (nl == NULL) {
			c->scanned = c->in_len;
			if (c->in_len - off > QGW_CTL_MAX_REQUEST) {
				json_t *r = fail("request line longer than %s bytes", "8 MiB");

				add_state(r, rt);
				QGW_LOGT(ctl, WARNING,
					 "control client %s: request line over %u bytes, closing",
					 c->who, QGW_CTL_MAX_REQUEST);
				if (!queue(ctl, c, r)) {
					json_decref(r);
					return;
				}
				json_decref(r);
				c->closing = true;
				off = c->in_len;
			}
			break;
		}
		*nl = '\0';
		req = json_loads(line, JSON_REJECT_DUPLICATES, &jerr);
		if (req != NULL) {
			resp = qgw_ctl_request(rt, req, c->who, &wait_gen);
		} else {
			resp = fail("request is not JSON: %s", jerr.text);
			add_state(resp, rt);
		}
		json_decref(req);
		off = (size_t)(nl + 1 - c->in);
		if (wait_gen != 0 && !qgw_runtime_retired(rt, wait_gen)) {
			c->pending = resp;
			c->pending_gen = wait_gen;
			c->pending_until = now + (uint64_t)QGW_RCU_TIMEOUT_MS * 1000000u;
			break;
		}
		if (wait_gen != 0)
			json_object_set_new(resp, "retired", json_true());
		if (!queue(ctl, c, resp)) {
			json_decref(resp);
			return;
		}
		json_decref(resp);
	}
	if (k == QGW_CTL_REQ_BUDGET)
		ctl->busy = true; /* budget used: the rest next round */
	if (off > 0) {
		/* one move a round, however many lines were answered */
		c->in_len -= off;
		memmove(c->in, c->in + off, c->in_len);
		c->scanned = c->scanned > off ? c->scanned - off : 0;
	}
	c->partial = c->in_len == 0 ? 0 : c->partial != 0 && off == 0 ? c->partial : now;
}

/*
 * An apply's answer, held until no worker can use the old table: "ok" once
 * retired; after QGW_RCU_TIMEOUT_MS, the truth: applied, old table still
 * reachable, freed when the worker moves on.
 */
static void
settle(struct qgw_ctl *ctl, struct qgw_ctl_client *c, struct qgw_runtime *rt, uint64_t now)
{
	json_t *r = c->pending;
	char stalled[256], buf[512];

	/* look at the workers now, not at what the last tick saw: a main lcore
	 * descheduled past the deadline must not report a stall that is over */
	qgw_runtime_reap(rt);
	if (qgw_runtime_retired(rt, c->pending_gen)) {
		json_object_set_new(r, "retired", json_true());
	} else if (now >= c->pending_until) {
		qgw_runtime_stalled(rt, stalled, sizeof(stalled));
		snprintf(buf, sizeof(buf),
			 "applied as generation %" PRIu64 ", but a worker has not passed a "
			 "quiescent state within %d ms (%s): the old flow table is still "
			 "reachable and is freed once the worker moves on",
			 c->pending_gen, QGW_RCU_TIMEOUT_MS,
			 stalled[0] ? stalled : "no worker flagged stalled yet");
		json_object_set_new(r, "ok", json_false());
		json_object_set_new(r, "applied", json_true());
		json_object_set_new(r, "retired", json_false());
		json_object_set_new(r, "errors", json_pack("[s]", buf));
		QGW_LOGT(config, WARNING, "apply by %s: %s", c->who, buf);
	} else {
		ctl->soon = true; /* look again in a millisecond, without spinning */
		return;
	}
	c->pending = NULL;
	if (queue(ctl, c, r))
		flush(c, now);
	json_decref(r);
}

/*
 * Limits in time: silent, slow and non-reading clients go. Bytes that came
 * in since this round's poll() (a main lcore can be descheduled for long)
 * are not silence: they are read next round.
 */
static void
expire(struct qgw_ctl *ctl, struct qgw_ctl_client *c, uint64_t now)
{
	uint64_t limit = (uint64_t)ctl->timeout_s * 1000000000u;
	char why[160], b;

	if (recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) == 1)
		c->last_rx = now; /* not idle; an unfinished line still counts */

	if (c->stuck != 0 && now - c->stuck > limit) {
		snprintf(why, sizeof(why), "it has not read its answers for %u s", ctl->timeout_s);
		drop_client(ctl, c, why);
	} else if (c->partial != 0 && now - c->partial > limit && c->pending == NULL) {
		snprintf(why, sizeof(why), "its request line was not finished within %u s",
			 ctl->timeout_s);
		drop_client(ctl, c, why);
	} else if (c->partial == 0 && c->pending == NULL && c->out_len == c->out_off &&
		   now - c->last_rx > limit) {
		snprintf(why, sizeof(why), "idle for %u s", ctl->timeout_s);
		drop_client(ctl, c, why);
	}
}

unsigned int
qgw_ctl_pollfds(struct qgw_ctl *ctl, struct pollfd *fds)
{
	unsigned int n = 0;

	if (ctl->fd < 0)
		return 0;
	fds[n++] = (struct pollfd){.fd = ctl->fd, .events = POLLIN};
	for (unsigned int i = 0; i < QGW_CTL_MAX_CLIENTS; i++) {
		struct qgw_ctl_client *c = &ctl->clients[i];
		short ev = 0;

		if (c->fd < 0)
			continue;
		/*
		 * No reading while answers pile up, while complete requests wait
		 * (the socket pushes back on a client that pipelines), or once a
		 * line reached the limit.
		 */
		if (!c->eof && !c->closing && c->out_len - c->out_off <= QGW_CTL_OUT_HIGH &&
		    c->in_len <= QGW_CTL_MAX_REQUEST &&
		    (c->in_len < QGW_CTL_IN_HIGH || memchr(c->in, '\n', c->in_len) == NULL))
			ev |= POLLIN;
		if (c->out_len > c->out_off)
			ev |= POLLOUT;
		fds[n++] = (struct pollfd){.fd = c->fd, .events = ev};
	}
	return n;
}

int
qgw_ctl_poll_timeout(const struct qgw_ctl *ctl, int idle_ms)
{
	return ctl->busy ? 0 : ctl->soon && idle_ms > 1 ? 1 : idle_ms;
}

void
qgw_ctl_serve(struct qgw_ctl *ctl, const struct pollfd *fds, unsigned int nb,
	      struct qgw_runtime *rt)
{
	uint64_t now = mono_ns();

	ctl->busy = false;
	ctl->soon = false;
	for (unsigned int k = 0; k < nb; k++) {
		if (fds[k].fd == ctl->fd && (fds[k].revents & POLLIN)) {
			accept_clients(ctl, now);
			break;
		}
	}
	for (unsigned int i = 0; i < QGW_CTL_MAX_CLIENTS; i++) {
		struct qgw_ctl_client *c = &ctl->clients[i];
		short rev = 0;

		if (c->fd < 0)
			continue;
		for (unsigned int k = 0; k < nb; k++)
			if (fds[k].fd == c->fd)
				rev = fds[k].revents;
		if (rev & (POLLIN | POLLHUP | POLLERR))
			receive(ctl, c, now);
		if (c->fd < 0)
			continue;
		if (c->pending != NULL)
			settle(ctl, c, rt, now);
		if (c->fd < 0)
			continue;
		answer(ctl, c, rt, now);
		if (c->fd < 0)
			continue;
		flush(c, now);
		if ((c->closing || c->eof) && c->pending == NULL && c->out_len == c->out_off &&
		    (c->closing || c->in_len == 0 || memchr(c->in, '\n', c->in_len) == NULL)) {
			drop_client(ctl, c, NULL);
			continue;
		}
		expire(ctl, c, now);
	}
}

void
qgw_ctl_close(struct qgw_ctl *ctl)
{
	for (unsigned int i = 0; i < QGW_CTL_MAX_CLIENTS; i++)
		if (ctl->clients[i].fd >= 0)
			drop_client(ctl, &ctl->clients[i], NULL);
	if (ctl->fd >= 0) {
		close(ctl->fd);
		unlink(ctl->path);
		ctl->fd = -1;
	}
}
