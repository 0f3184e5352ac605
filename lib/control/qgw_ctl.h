/*
 * The control socket: a Unix stream socket (default /run/qinqgw/ctl.sock,
 * mode 0660, group-owned) where qinqgw-ctl sends one JSON request a line and
 * reads one JSON response a line (protocol: docs/control.md; commands check,
 * diff, apply, confirm, show, log-level). Served from the main lcore's loop
 * with poll(); never touches the data path directly.
 */
#ifndef QGW_CTL_H
#define QGW_CTL_H

#include <poll.h>
#include <stdbool.h>
#include <sys/types.h>

#include "qgw_runtime.h"

#define QGW_CTL_DEFAULT_PATH "/run/qinqgw/ctl.sock"
#define QGW_CTL_VERSION 1
#define QGW_CTL_MAX_CLIENTS 16
#define QGW_CTL_MAX_REQUEST (16u << 20) /**< bytes in one request line */

struct qgw_ctl_client {
	int fd;
	uid_t uid;
	pid_t pid;
	char *buf;
	size_t len, cap;
};

struct qgw_ctl {
	int fd; /**< listening socket, -1 when closed */
	char path[108];
	struct qgw_ctl_client clients[QGW_CTL_MAX_CLIENTS];
};

/**
 * Create the socket; refused if a live gateway already listens on path.
 *
 * @param group
 *   Group that may connect (mode 0660), or NULL for the process's group.
 * @return
 *   0 or -errno with msg set.
 */
int qgw_ctl_open(struct qgw_ctl *ctl, const char *path, const char *group, char *msg,
		 size_t msglen);

/**
 * Add the socket's descriptors to a poll set.
 *
 * @return
 *   The number added (at most 1 + QGW_CTL_MAX_CLIENTS).
 */
unsigned int qgw_ctl_pollfds(struct qgw_ctl *ctl, struct pollfd *fds);

/** Serve what poll() reported on the descriptors added by qgw_ctl_pollfds(). */
void qgw_ctl_serve(struct qgw_ctl *ctl, const struct pollfd *fds, unsigned int nb,
		   struct qgw_runtime *rt);

/**
 * Answer one request (a parsed JSON line); exposed for the tests.
 *
 * @param who
 *   For the log, e.g. "uid 0 pid 42".
 * @return
 *   The response object (caller frees).
 */
json_t *qgw_ctl_request(struct qgw_runtime *rt, json_t *req, const char *who);

/** Close every connection and remove the socket file. */
void qgw_ctl_close(struct qgw_ctl *ctl);

#endif /* QGW_CTL_H */
