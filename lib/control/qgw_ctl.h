/*
 * The control socket: a Unix stream socket (default /run/qinqgw/ctl.sock,
 * mode 0660, group-owned) where qinqgw-ctl sends one JSON request a line and
 * reads one JSON response a line (protocol: docs/control.md and
 * qgw_ctl_proto.h). Served from the main lcore's loop with poll(), and no
 * client can hold that loop: non-blocking sockets, a bounded amount of
 * reading and of requests per client per round, bounded request lines and
 * answer queues, timeouts for silent, slow and non-reading clients, a client
 * limit that refuses the newest connection with a one-line error. An apply
 * is answered once no worker can use the old table any more (or, with a
 * stalled worker, when the RCU timeout says so). Never touches the data path
 * directly.
 */
#ifndef QGW_CTL_H
#define QGW_CTL_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "qgw_ctl_proto.h"
#include "qgw_runtime.h"

#define QGW_CTL_READ_BUDGET (256u << 10) /**< bytes read from one client per round */
#define QGW_CTL_REQ_BUDGET 4		 /**< requests of one client answered per round */
#define QGW_CTL_OUT_HIGH (1u << 20)	 /**< queued answer bytes: read no more requests */
#define QGW_CTL_IN_HIGH (64u << 10)	 /**< unanswered complete requests: read no more */

struct qgw_ctl_client {
	int fd;
	uid_t uid;
	pid_t pid;
	char who[48];	     /**< "uid U pid P", for the log */
	char *in;	     /**< received, not yet answered */
	size_t in_len, in_cap, scanned; /**< bytes of in known to hold no newline */
	char *out;	     /**< answers not yet sent */
	size_t out_len, out_off, out_cap;
	uint64_t last_rx;    /**< CLOCK_MONOTONIC ns of the last byte received */
	uint64_t partial;    /**< since when an unfinished line waits, 0: none */
	uint64_t stuck;	     /**< since when queued answers do not move, 0: none */
	bool eof;	     /**< the peer closed its side: answer, then close */
	bool closing;	     /**< close once the answers are sent */
	json_t *pending;     /**< an apply's answer waiting for retirement */
	uint64_t pending_gen, pending_until;
};

struct qgw_ctl {
	int fd; /**< listening socket, -1 when closed */
	char path[108];
	unsigned int timeout_s; /**< idle, unfinished-line and unread-answer timeout */
	bool busy;		/**< work left for the next round: poll without waiting */
	bool soon;		/**< an apply's answer waits for retirement: poll 1 ms */
	uint64_t refused, closed; /**< connections refused at the limit, closed by a limit */
	struct qgw_ctl_client clients[QGW_CTL_MAX_CLIENTS];
};

/**
 * Create the socket; refused if a live gateway already listens on path.
 *
 * @param group
 *   Group that may connect (mode 0660), or NULL for the process's group.
 * @param timeout_s
 *   Seconds after which a client that sends nothing, leaves a request
 *   unfinished or does not read its answers is closed.
 * @return
 *   0 or -errno with msg set.
 */
int qgw_ctl_open(struct qgw_ctl *ctl, const char *path, const char *group, unsigned int timeout_s,
		 char *msg, size_t msglen);

/**
 * Add the socket's descriptors to a poll set (POLLOUT where answers wait).
 *
 * @return
 *   The number added (at most 1 + QGW_CTL_MAX_CLIENTS).
 */
unsigned int qgw_ctl_pollfds(struct qgw_ctl *ctl, struct pollfd *fds);

/** Milliseconds the main loop may wait in poll(): 0 while work is left, 1 while an answer waits. */
int qgw_ctl_poll_timeout(const struct qgw_ctl *ctl, int idle_ms);

/**
 * Serve what poll() reported, each client within its budget; then answer
 * applies whose old table is retired, and close clients past a limit.
 */
void qgw_ctl_serve(struct qgw_ctl *ctl, const struct pollfd *fds, unsigned int nb,
		   struct qgw_runtime *rt);

/**
 * Answer one request (a parsed JSON line); exposed for the tests.
 *
 * @param who
 *   For the log, e.g. "uid 0 pid 42".
 * @param wait_gen
 *   Set to the generation an apply made (its answer should wait until
 *   qgw_runtime_retired() says so), else 0. May be NULL.
 * @return
 *   The response object (caller frees).
 */
json_t *qgw_ctl_request(struct qgw_runtime *rt, json_t *req, const char *who, uint64_t *wait_gen);

/** Close every connection and remove the socket file. */
void qgw_ctl_close(struct qgw_ctl *ctl);

#endif /* QGW_CTL_H */
