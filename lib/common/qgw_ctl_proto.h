/*
 * The control protocol, shared by the gateway (lib/control/ctl.c) and
 * qinqgw-ctl: socket path, protocol version, command names, limits and the
 * client's exit codes. No DPDK, no jansson: what crosses the process
 * boundary only. The protocol itself (one JSON request a line, one JSON
 * response a line) is in docs/control.md.
 */
#ifndef QGW_CTL_PROTO_H
#define QGW_CTL_PROTO_H

#define QGW_CTL_DEFAULT_PATH "/run/qinqgw/ctl.sock"
#define QGW_CTL_VERSION 1

/** The commands: (symbol, name on the wire, one line of help). */
#define QGW_CTL_COMMANDS(_)                                                                        \
	_(CHECK, "check", "validate a config against the running gateway")                        \
	_(DIFF, "diff", "what applying a config would change")                                    \
	_(APPLY, "apply", "validate, then apply atomically (optionally until confirmed)")         \
	_(CONFIRM, "confirm", "keep the config applied with a confirm timeout")                   \
	_(SHOW, "show", "the running config and its generation")                                  \
	_(LOG_LEVEL, "log-level", "read or set log levels")                                       \
	_(FAULT, "fault", "fault injection, only with qinqgw --fault-injection (tests)")

enum qgw_ctl_cmd {
#define QGW_CTL_CMD_ENUM(sym, name, help) QGW_CTL_CMD_##sym,
	QGW_CTL_COMMANDS(QGW_CTL_CMD_ENUM)
#undef QGW_CTL_CMD_ENUM
	QGW_CTL_CMD__MAX
};

/* Limits of the server: every client gets a bounded share of the main lcore. */
#define QGW_CTL_MAX_CLIENTS 64		  /**< connections at once; the next is refused */
#define QGW_CTL_MAX_REQUEST (8u << 20)	  /**< bytes in one request line */
#define QGW_CTL_MAX_OUTPUT (32u << 20)	  /**< answer bytes queued for one client */
#define QGW_CTL_TIMEOUT_DEFAULT 30	  /**< s: idle connection, unfinished line, unread answer */

/** Exit status of qinqgw-ctl. */
enum qgw_ctl_exit {
	QGW_CTL_EXIT_OK = 0,
	QGW_CTL_EXIT_REFUSED = 1,     /**< invalid config, nothing to confirm, ... */
	QGW_CTL_EXIT_USAGE = 2,	      /**< bad command line */
	QGW_CTL_EXIT_UNREACHABLE = 3, /**< no gateway, no permission, connection lost */
	QGW_CTL_EXIT_NOT_RETIRED = 4, /**< applied, but a stalled worker may still use the old table */
};

#endif /* QGW_CTL_PROTO_H */
