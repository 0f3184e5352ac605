/*
 * Control socket server (see qgw_ctl.h). One request line in, one response
 * line out, any number of times per connection. Every apply, rollback and
 * rejection is logged with who asked (peer uid/pid from SO_PEERCRED), what
 * changed and the generation. The log-level command reads and sets the levels
 * of DPDK log types (the gateway's qinqgw.* and any other).
 */
#include "qgw_ctl.h"

#include <errno.h>
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

int
qgw_ctl_open(struct qgw_ctl *ctl, const char *path, const char *group, char *msg, size_t msglen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char dir[sizeof(ctl->path)];
	gid_t gid = (gid_t)-1;
	int fd, ret;

	ctl->fd = -1;
	for (unsigned int i = 0; i < QGW_CTL_MAX_CLIENTS; i++)
		ctl->clients[i].fd = -1;
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
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0 ||
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

unsigned int
qgw_ctl_pollfds(struct qgw_ctl *ctl, struct pollfd *fds)
{
	unsigned int n = 0;

	if (ctl->fd < 0)
		return 0;
	fds[n++] = (struct pollfd){.fd = ctl->fd, .events = POLLIN};
	for (unsigned int i = 0; i < QGW_CTL_MAX_CLIENTS; i++)
		if (ctl->clients[i].fd >= 0)
			fds[n++] = (struct pollfd){.fd = ctl->clients[i].fd, .events = POLLIN};
	return n;
}

static void
drop_client(struct qgw_ctl_client *c)
{
	close(c->fd);
	free(c->buf);
	*c = (struct qgw_ctl_client){.fd = -1};
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

static json_t *
request(struct qgw_runtime *rt, json_t *req, const char *who)
{
	const char *cmd = json_string_value(json_object_get(req, "command"));
	json_t *ver = json_object_get(req, "version"), *r = NULL;
	struct qgw_config *cand;

	if (!json_is_object(req))
		return fail("%s", "a request is a JSON object on one line");
	if (!json_is_integer(ver) || json_integer_value(ver) != QGW_CTL_VERSION)
		return fail("protocol version %s expected (\"version\": 1)", "1");
	if (cmd == NULL)
		return fail("%s", "request needs \"command\"");

	if (strcmp(cmd, "check") == 0) {
		cand = candidate(rt, req, &r);
		if (cand != NULL) {
			r = reply(true);
			qgw_config_free(cand);
		}
	} else if (strcmp(cmd, "diff") == 0) {
		cand = candidate(rt, req, &r);
		if (cand != NULL) {
			r = reply(true);
			json_object_set_new(r, "diff", qgw_config_diff(rt->cfg, cand));
			qgw_config_free(cand);
		}
	} else if (strcmp(cmd, "apply") == 0) {
		json_t *c = json_object_get(req, "confirm");
		long long confirm = json_is_integer(c) ? json_integer_value(c) : 0;
		char msg[512];

		if (c != NULL && (!json_is_integer(c) || confirm < 1 || confirm > 86400))
			return fail("%s", "\"confirm\" is a number of seconds, 1..86400");
		cand = candidate(rt, req, &r);
		if (cand == NULL) {
			QGW_LOGT(config, WARNING, "config apply by %s rejected: invalid config",
				 who);
		} else {
			json_t *diff = qgw_config_diff(rt->cfg, cand);

			if (qgw_runtime_apply(rt, cand, who, (unsigned int)confirm, msg,
					      sizeof(msg)) == 0) {
				r = reply(true);
				json_object_set_new(r, "message", json_string(msg));
				json_object_set_new(r, "diff", diff);
			} else {
				qgw_config_free(cand);
				json_decref(diff);
				r = fail("%s", msg);
			}
		}
	} else if (strcmp(cmd, "confirm") == 0) {
		if (qgw_runtime_confirm(rt, who) == 0)
			r = reply(true);
		else
			r = fail("%s", "no apply is waiting for confirmation");
	} else if (strcmp(cmd, "fault") == 0) {
		json_t *w = json_object_get(req, "worker");
		json_t *s = json_object_get(req, "stall_ms"), *h = json_object_get(req, "hold_mbufs_ms");
		json_t *c = json_object_get(req, "control_stall_ms");
		int ret = qgw_runtime_fault(rt, w ? (int)json_integer_value(w) : -1,
					    s ? (uint32_t)json_integer_value(s) : 0,
					    h ? (uint32_t)json_integer_value(h) : 0,
					    c ? (uint32_t)json_integer_value(c) : 0);

		if (ret == -EPERM)
			r = fail("%s", "fault injection is off (qinqgw --fault-injection, tests only)");
		else if (ret < 0)
			r = fail("%s", "fault: \"worker\" N with \"stall_ms\" 1..60000, "
				       "\"hold_mbufs_ms\" 1..60000, or \"control_stall_ms\" "
				       "1..60000");
		else
			r = reply(true);
	} else if (strcmp(cmd, "show") == 0) {
		r = reply(true);
		json_object_set_new(r, "config", qgw_config_dump(rt->cfg));
	} else if (strcmp(cmd, "log-level") == 0) {
		r = log_level(req, who);
	} else {
		return fail("unknown command \"%s\" (check, diff, apply, confirm, show, log-level)",
			    cmd);
	}
	return r;
}

/* Every response carries the state, refusals included. */
json_t *
qgw_ctl_request(struct qgw_runtime *rt, json_t *req, const char *who)
{
	json_t *r = request(rt, req, who);

	add_state(r, rt);
	return r;
}

static void
send_line(struct qgw_ctl_client *c, json_t *resp)
{
	char *s = json_dumps(resp, JSON_COMPACT | JSON_PRESERVE_ORDER);
	size_t len, off = 0;

	if (s == NULL)
		return;
	len = strlen(s);
	s[len++] = '\n'; /* json_dumps leaves room: its NUL becomes the newline */
	/* Responses are small; wait for the peer rather than lose one. */
	while (off < len) {
		ssize_t n = send(c->fd, s + off, len - off, MSG_NOSIGNAL);

		if (n > 0) {
			off += (size_t)n;
		} else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			struct pollfd p = {.fd = c->fd, .events = POLLOUT};

			if (poll(&p, 1, 1000) <= 0)
				break;
		} else {
			break;
		}
	}
	free(s);
}

static void
accept_client(struct qgw_ctl *ctl)
{
	int fd = accept4(ctl->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	struct ucred cred;
	socklen_t cl = sizeof(cred);

	if (fd < 0)
		return;
	for (unsigned int i = 0; i < QGW_CTL_MAX_CLIENTS; i++) {
		struct qgw_ctl_client *c = &ctl->clients[i];

		if (c->fd >= 0)
			continue;
		*c = (struct qgw_ctl_client){.fd = fd, .uid = (uid_t)-1};
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) == 0) {
			c->uid = cred.uid;
			c->pid = cred.pid;
		}
		return;
	}
	QGW_LOGT(ctl, WARNING, "control socket: too many connections, one refused");
	close(fd);
}

/* Read what is there; answer every complete line. */
static void
serve_client(struct qgw_ctl_client *c, struct qgw_runtime *rt)
{
	char who[64];
	ssize_t n;

	snprintf(who, sizeof(who), "uid %d pid %d", (int)c->uid, (int)c->pid);
	for (;;) {
		char *nl;

		if (c->cap - c->len < 4096) {
			size_t cap = c->cap ? c->cap * 2 : 8192;
			char *b;

			if (cap > QGW_CTL_MAX_REQUEST + 4096) {
				json_t *r = fail("request longer than %s bytes", "16 MiB");

				add_state(r, rt);
				send_line(c, r);
				json_decref(r);
				drop_client(c);
				return;
			}
			b = realloc(c->buf, cap);
			if (b == NULL) {
				drop_client(c);
				return;
			}
			c->buf = b;
			c->cap = cap;
		}
		n = recv(c->fd, c->buf + c->len, c->cap - c->len - 1, 0);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			drop_client(c);
			return;
		}
		if (n < 0)
			return;
		c->len += (size_t)n;
		c->buf[c->len] = '\0';
		while ((nl = memchr(c->buf, '\n', c->len)) != NULL) {
			json_error_t jerr;
			json_t *req, *resp;

			*nl = '\0';
			req = json_loads(c->buf, JSON_REJECT_DUPLICATES, &jerr);
			if (req != NULL) {
				resp = qgw_ctl_request(rt, req, who);
			} else {
				resp = fail("request is not JSON: %s", jerr.text);
				add_state(resp, rt);
			}
			send_line(c, resp);
			json_decref(req);
			json_decref(resp);
			c->len -= (size_t)(nl + 1 - c->buf);
			memmove(c->buf, nl + 1, c->len);
		}
	}
}

void
qgw_ctl_serve(struct qgw_ctl *ctl, const struct pollfd *fds, unsigned int nb,
	      struct qgw_runtime *rt)
{
	for (unsigned int k = 0; k < nb; k++) {
		if (!(fds[k].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		if (fds[k].fd == ctl->fd) {
			accept_client(ctl);
			continue;
		}
		for (unsigned int i = 0; i < QGW_CTL_MAX_CLIENTS; i++)
			if (ctl->clients[i].fd == fds[k].fd)
				serve_client(&ctl->clients[i], rt);
	}
}

void
qgw_ctl_close(struct qgw_ctl *ctl)
{
	for (unsigned int i = 0; i < QGW_CTL_MAX_CLIENTS; i++)
		if (ctl->clients[i].fd >= 0)
			drop_client(&ctl->clients[i]);
	if (ctl->fd >= 0) {
		close(ctl->fd);
		unlink(ctl->path);
		ctl->fd = -1;
	}
}
