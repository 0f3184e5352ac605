/*
 * qinqgw-ctl: push config to a running gateway over its control socket.
 *
 *   qinqgw-ctl [--socket PATH] [--json] check FILE
 *   qinqgw-ctl [--socket PATH] [--json] diff FILE
 *   qinqgw-ctl [--socket PATH] [--json] apply [--confirm SECONDS] FILE
 *   qinqgw-ctl [--socket PATH] [--json] confirm
 *   qinqgw-ctl [--socket PATH] [--json] show
 *   qinqgw-ctl [--socket PATH] [--json] log-level [--all]
 *   qinqgw-ctl [--socket PATH] [--json] log-level [PATTERN] LEVEL
 *
 * One JSON request line out, one JSON response line back (docs/control.md);
 * socket path, protocol version, command names and exit codes come from
 * lib/common/qgw_ctl_proto.h, shared with the gateway.
 * Exit status: 0 ok, 1 refused (invalid config, nothing to confirm, no log
 * type matches, ...), 2 bad command line, 3 cannot reach the gateway (not
 * running, permission, too many connections), 4 applied but the old flow
 * table is still reachable (a worker is stalled).
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#include "qgw_ctl_proto.h"

#define DEFAULT_SOCKET QGW_CTL_DEFAULT_PATH
#define PROTO_VERSION QGW_CTL_VERSION

enum {
	EXIT_REFUSED = QGW_CTL_EXIT_REFUSED,
	EXIT_USAGE = QGW_CTL_EXIT_USAGE,
	EXIT_UNREACHABLE = QGW_CTL_EXIT_UNREACHABLE,
	EXIT_NOT_RETIRED = QGW_CTL_EXIT_NOT_RETIRED,
};

/* A command of the protocol that this client sends (fault is for tests). */
static bool
is_command(const char *cmd)
{
	static const char *const names[] = {
#define QGW_CTL_CMD_NAME(sym, name, help) name,
		QGW_CTL_COMMANDS(QGW_CTL_CMD_NAME)
#undef QGW_CTL_CMD_NAME
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(cmd, names[i]) == 0 && strcmp(cmd, "fault") != 0)
			return true;
	return false;
}

static void
usage(FILE *f)
{
	fprintf(f,
		"Usage: qinqgw-ctl [--socket PATH] [--json] COMMAND\n"
		"\n"
		"  check FILE                    validate FILE against the running gateway\n"
		"  diff FILE                     what applying FILE would change\n"
		"  apply [--confirm SECONDS] FILE\n"
		"                                validate, then apply atomically; with --confirm,\n"
		"                                the previous config comes back unless\n"
		"                                `qinqgw-ctl confirm` follows within SECONDS\n"
		"  confirm                       keep the config applied with --confirm\n"
		"  show                          the running config and its generation\n"
		"  log-level [--all]             the gateway's log types (qinqgw*) and their\n"
		"                                levels; --all: every DPDK log type\n"
		"  log-level [PATTERN] LEVEL     set the level of the types matching PATTERN\n"
		"                                (a glob; default and \"qinqgw\": every qinqgw\n"
		"                                type); LEVEL: emergency, alert, critical, error,\n"
		"                                warning, notice, info, debug or 1..8\n"
		"\n"
		"  --socket PATH   the gateway's --ctl-socket (default %s)\n"
		"  --json          print the gateway's JSON response as is\n"
		"\n"
		"Exit status: 0 ok, 1 refused, 2 bad command line, 3 gateway unreachable\n"
		"(or too many connections), 4 applied but a stalled worker may still use the\n"
		"old flow table.\n",
		DEFAULT_SOCKET);
}

static char *
read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0, cap = 0;

	if (f == NULL)
		return NULL;
	for (;;) {
		if (cap - len < 4096) {
			char *b = realloc(buf, cap = cap ? cap * 2 : 65536);

			if (b == NULL) {
				free(buf);
				fclose(f);
				errno = ENOMEM;
				return NULL;
			}
			buf = b;
		}
		size_t n = fread(buf + len, 1, cap - len - 1, f);

		len += n;
		if (n == 0)
			break;
	}
	buf[len] = '\0';
	if (ferror(f)) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

/* Like the gateway's qgw_log_parse_level(): EAL's level names, a prefix, or 1..8. */
static bool
is_level(const char *s)
{
	static const char *const names[] = {"emergency", "alert",  "critical", "error",
					    "warning",	 "notice", "info",     "debug"};
	size_t len = strlen(s);
	char *end;
	long n;

	if (len == 0)
		return false;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strncasecmp(names[i], s, len) == 0)
			return true;
	n = strtol(s, &end, 10);
	return *end == '\0' && n >= 1 && n <= 8;
}

static void
print_log_types(json_t *resp)
{
	json_t *t;
	size_t i;

	printf("%-32s %s\n", "LOG TYPE", "LEVEL");
	json_array_foreach(json_object_get(resp, "log_types"), i, t)
		printf("%-32s %s\n", json_string_value(json_object_get(t, "name")),
		       json_string_value(json_object_get(t, "level")));
	printf("(global level: %s)\n", json_string_value(json_object_get(resp, "global_level")));
}

/* Send one request, read one response line. */
static json_t *
call(const char *path, json_t *req, int *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char *line = json_dumps(req, JSON_COMPACT);
	char *resp = NULL;
	size_t len = 0, cap = 0;
	json_error_t jerr;
	json_t *r = NULL;
	int fd;

	*err = 0;
	if (line == NULL || strlen(path) >= sizeof(sa.sun_path)) {
		*err = ENAMETOOLONG;
		free(line);
		return NULL;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		*err = errno;
		if (fd >= 0)
			close(fd);
		free(line);
		return NULL;
	}
	size_t n = strlen(line), off = 0;

	line[n++] = '\n';
	while (off < n) {
		ssize_t k = send(fd, line + off, n - off, MSG_NOSIGNAL);

		if (k <= 0) {
			*err = errno ? errno : EPIPE;
			if (*err != EPIPE && *err != ECONNRESET)
				goto out;
			break; /* closed: its last line (busy, error) may still wait to be read */
		}
		off += (size_t)k;
	}
	for (;;) {
		ssize_t k;

		if (cap - len < 4096) {
			char *b = realloc(resp, cap = cap ? cap * 2 : 65536);

			if (b == NULL) {
				*err = ENOMEM;
				goto out;
			}
			resp = b;
		}
		k = recv(fd, resp + len, cap - len - 1, 0);
		if (k <= 0) {
			if (*err == 0)
				*err = k == 0 ? ECONNRESET : errno;
			goto out;
		}
		len += (size_t)k;
		resp[len] = '\0';
		if (memchr(resp, '\n', len) != NULL) {
			*err = 0;
			break;
		}
	}
	r = json_loads(resp, JSON_DISABLE_EOF_CHECK, &jerr);
	if (r == NULL)
		*err = EPROTO;
out:
	close(fd);
	free(line);
	free(resp);
	return r;
}

static void
print_errors(const char *file, json_t *resp)
{
	json_t *errs = json_object_get(resp, "errors"), *e;
	size_t i, n = json_array_size(errs);

	json_array_foreach(errs, i, e)
		fprintf(stderr, "%s%s%s\n", file ? file : "", file ? ": " : "", json_string_value(e));
	if (file != NULL)
		fprintf(stderr, "%s: %zu error%s, config refused\n", file, n, n == 1 ? "" : "s");
}

static void
print_diff(json_t *d)
{
	json_t *v, *list;
	const char *name;
	size_t i;

	json_array_foreach(json_object_get(d, "ports"), i, v)
		printf("~ port %s\n", json_string_value(v));
	json_array_foreach(json_object_get(d, "added"), i, v)
		printf("+ flow %s\n", json_string_value(v));
	json_array_foreach(json_object_get(d, "removed"), i, v)
		printf("- flow %s\n", json_string_value(v));
	json_object_foreach(json_object_get(d, "changed"), name, list) {
		json_array_foreach(list, i, v)
			printf("~ flow %s: %s\n", name, json_string_value(v));
	}
	printf("= %lld flows unchanged\n",
	       (long long)json_integer_value(json_object_get(d, "unchanged")));
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"socket", required_argument, NULL, 's'},  {"json", no_argument, NULL, 'j'},
		{"confirm", required_argument, NULL, 'c'}, {"all", no_argument, NULL, 'a'},
		{"help", no_argument, NULL, 'h'},	   {NULL, 0, NULL, 0},
	};
	const char *sock = DEFAULT_SOCKET, *cmd, *file = NULL;
	long confirm = 0;
	bool raw = false, all = false;
	json_t *req, *resp;
	char *end;
	int c, err, rc;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			sock = optarg;
			break;
		case 'j':
			raw = true;
			break;
		case 'c':
			confirm = strtol(optarg, &end, 10);
			if (*end != '\0' || confirm < 1 || confirm > 86400) {
				fprintf(stderr, "qinqgw-ctl: --confirm takes seconds, 1..86400\n");
				return EXIT_USAGE;
			}
			break;
		case 'a':
			all = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			fprintf(stderr, "qinqgw-ctl: unknown or incomplete option \"%s\"\n",
				argv[optind - 1]);
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	cmd = argv[optind++];
	/* Options may also follow the command (apply --confirm 60 FILE). */
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		if (c == 'c') {
			confirm = strtol(optarg, &end, 10);
			if (*end != '\0' || confirm < 1 || confirm > 86400) {
				fprintf(stderr, "qinqgw-ctl: --confirm takes seconds, 1..86400\n");
				return EXIT_USAGE;
			}
		} else if (c == 'j') {
			raw = true;
		} else if (c == 's') {
			sock = optarg;
		} else if (c == 'a') {
			all = true;
		} else {
			fprintf(stderr, "qinqgw-ctl: unknown or incomplete option \"%s\"\n",
				argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	bool wants_file = strcmp(cmd, "check") == 0 || strcmp(cmd, "diff") == 0 ||
			  strcmp(cmd, "apply") == 0;
	bool log = strcmp(cmd, "log-level") == 0;
	const char *pattern = NULL, *level = NULL;

	if (!is_command(cmd)) {
		fprintf(stderr, "qinqgw-ctl: unknown command \"%s\"\n", cmd);
		usage(stderr);
		return EXIT_USAGE;
	}
	if (all && !log) {
		fprintf(stderr, "qinqgw-ctl: --all goes with log-level\n");
		return EXIT_USAGE;
	}
	if (log) {
		int nargs = argc - optind;

		if (nargs > 2 || (all && nargs > 0)) {
			fprintf(stderr, "qinqgw-ctl: log-level takes [--all] to show, [PATTERN] "
					"LEVEL to set\n");
			return EXIT_USAGE;
		}
		if (nargs == 2) {
			pattern = argv[optind];
			level = argv[optind + 1];
		} else if (nargs == 1) {
			level = argv[optind];
		}
		if (level != NULL && !is_level(level)) {
			fprintf(stderr,
				"qinqgw-ctl: unknown log level \"%s\": emergency, alert, critical, "
				"error, warning, notice, info, debug or 1..8\n",
				level);
			return EXIT_USAGE;
		}
		if (pattern != NULL && (pattern[0] == '\0' || strlen(pattern) > 128)) {
			fprintf(stderr, "qinqgw-ctl: a log type pattern is 1..128 characters\n");
			return EXIT_USAGE;
		}
		if (all)
			pattern = "*";
	} else if (wants_file != (argc - optind == 1) || argc - optind > 1) {
		fprintf(stderr, "qinqgw-ctl: %s %s\n", cmd,
			wants_file ? "takes exactly one FILE" : "takes no argument");
		return EXIT_USAGE;
	}
	if (confirm && strcmp(cmd, "apply") != 0) {
		fprintf(stderr, "qinqgw-ctl: --confirm goes with apply\n");
		return EXIT_USAGE;
	}

	req = json_object();
	json_object_set_new(req, "version", json_integer(PROTO_VERSION));
	json_object_set_new(req, "command", json_string(cmd));
	if (wants_file) {
		char *text;

		file = argv[optind];
		text = read_file(file);
		if (text == NULL) {
			fprintf(stderr, "%s: %s\n", file, strerror(errno));
			json_decref(req);
			return EXIT_REFUSED;
		}
		json_object_set_new(req, "config", json_string(text));
		free(text);
		if (json_object_get(req, "config") == NULL) {
			fprintf(stderr, "%s: not UTF-8 text\n", file);
			json_decref(req);
			return EXIT_REFUSED;
		}
	}
	if (confirm)
		json_object_set_new(req, "confirm", json_integer(confirm));
	if (pattern != NULL)
		json_object_set_new(req, "pattern", json_string(pattern));
	if (level != NULL)
		json_object_set_new(req, "level", json_string(level));

	resp = call(sock, req, &err);
	json_decref(req);
	if (resp == NULL) {
		fprintf(stderr, "qinqgw-ctl: %s: %s%s\n", sock, strerror(err),
			err == EACCES ? " (the socket is for its group: mode 0660)"
			: err == ENOENT || err == ECONNREFUSED ? " (is the gateway running, with this --ctl-socket?)"
							      : "");
		return EXIT_UNREACHABLE;
	}

	rc = json_is_true(json_object_get(resp, "ok"))		    ? 0
	     : json_is_true(json_object_get(resp, "busy"))	    ? EXIT_UNREACHABLE
	     : json_is_true(json_object_get(resp, "applied"))	    ? EXIT_NOT_RETIRED
								    : EXIT_REFUSED;
	if (!raw) {
		json_t *w;
		size_t i;

		json_array_foreach(json_object_get(resp, "warnings"), i, w)
			fprintf(stderr, "%s%swarning: %s\n", file ? file : "", file ? ": " : "",
				json_string_value(w));
	}
	if (raw) {
		json_dumpf(resp, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		printf("\n");
	} else if (rc == EXIT_NOT_RETIRED) {
		print_errors(NULL, resp);
		print_diff(json_object_get(resp, "diff"));
	} else if (rc != 0) {
		print_errors(wants_file ? file : NULL, resp);
	} else if (strcmp(cmd, "check") == 0) {
		printf("%s: valid for the running gateway (generation %lld)\n", file,
		       (long long)json_integer_value(json_object_get(resp, "generation")));
	} else if (strcmp(cmd, "diff") == 0) {
		print_diff(json_object_get(resp, "diff"));
	} else if (strcmp(cmd, "apply") == 0) {
		printf("applied: %s\n", json_string_value(json_object_get(resp, "message")));
		print_diff(json_object_get(resp, "diff"));
		if (confirm)
			printf("run `qinqgw-ctl confirm` within %ld s, or the previous config comes "
			       "back\n",
			       confirm);
	} else if (log) {
		print_log_types(resp);
	} else if (strcmp(cmd, "confirm") == 0) {
		printf("confirmed: generation %lld stays\n",
		       (long long)json_integer_value(json_object_get(resp, "generation")));
	} else {
		printf("# generation %lld%s\n",
		       (long long)json_integer_value(json_object_get(resp, "generation")),
		       json_is_true(json_object_get(resp, "confirm_pending"))
			       ? ", waiting for confirmation"
			       : "");
		json_dumpf(json_object_get(resp, "config"), stdout,
			   JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		printf("\n");
	}
	json_decref(resp);
	return rc;
}
