/*
 * qinqgw-stats: the telemetry reader.
 *
 * Maps the gateway's stats segment read-only (no DPDK, no hugepages, no root:
 * group read permission is enough) and prints ports, flows, drops and workers
 * as a table (default), every counter by name (--all), one JSON document
 * (--json, schema in docs/stats.md), Prometheus text exposition
 * (--prometheus), or a refreshing view with rates (--watch SECONDS). The
 * views live in their own files; this one reads the command line, opens and
 * follows the segment, and turns the gateway's state into the exit status.
 *
 * Exit status: 0 ok (running, starting or cleanly stopped), 1 no segment or
 * unreadable, 2 bad command line, 3 permission denied, 4 layout version
 * differs, segment corrupt or shrunk, 5 --flow/--port names nothing,
 * 6 gateway stalled, 7 gateway dead, 8 segment not owned by --owner.
 */
#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "views.h"

#ifndef QGW_GATEWAY_USER
#define QGW_GATEWAY_USER "root"
#endif

enum {
	EXIT_NO_SEGMENT = 1,
	EXIT_USAGE = 2,
	EXIT_PERM = 3,
	EXIT_LAYOUT = 4,
	EXIT_NO_MATCH = 5,
	EXIT_STALLED = 6,
	EXIT_DEAD = 7,
	EXIT_OWNER = 8,
};

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* A segment truncated under the mapping faults on the next read: say so. */
static void
on_sigbus(int sig)
{
	static const char msg[] = "qinqgw-stats: the stats segment shrank while it was being "
				  "read: it is damaged or was truncated by something other "
				  "than the gateway\n";
	ssize_t n = write(STDERR_FILENO, msg, sizeof(msg) - 1);

	(void)n;
	(void)sig;
	_exit(EXIT_LAYOUT);
}

static double
wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
usage(FILE *f)
{
	fprintf(f,
		"Usage: qinqgw-stats [--stats-name NAME] [--json | --prometheus | --all |\n"
		"                    --watch SECONDS] [--flow NAME] [--port NAME] [--count N]\n"
		"                    [--oversize] [--owner USER]\n"
		"\n"
		"Reads the running (or last stopped) gateway's counters from shared memory\n"
		"/dev/shm/NAME (default \"%s\"); needs read permission on it, no root.\n"
		"\n"
		"  --json             one JSON document (schema: docs/stats.md)\n"
		"  --prometheus       Prometheus text exposition format\n"
		"  --all              every counter by name, one per line, exact values\n"
		"  --watch SECONDS    refresh the table every SECONDS with rates (pps, bit/s)\n"
		"  --count N          with --watch, stop after N refreshes\n"
		"  --oversize         the last oversize frames (64 per port): who sent what\n"
		"  --flow NAME        only that flow\n"
		"  --port NAME        only that port (and flows' directions through it)\n"
		"  --stats-name NAME  the gateway's --stats-name\n"
		"  --owner USER       refuse (exit 8) a segment not owned by USER (name or uid);\n"
		"                     without it, warn when the owner is neither root nor %s\n"
		"\n"
		"The gateway's state (running, starting, stalled, dead, stopped) comes from\n"
		"its heartbeat and its process, not from what it last wrote.\n"
		"\n"
		"Exit status: 0 ok (gateway running, starting or cleanly stopped), 1 no\n"
		"segment or unreadable, 2 bad command line, 3 permission denied, 4 layout\n"
		"version differs, segment corrupt or shrunk, 5 --flow/--port names nothing,\n"
		"6 gateway stalled, 7 gateway dead, 8 segment not owned by --owner.\n",
		QGW_SHM_DEFAULT_NAME, QGW_GATEWAY_USER);
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
	case QGW_SHM_ESHRUNK:
	case ENOMEM:
		return EXIT_LAYOUT;
	default:
		return EXIT_NO_SEGMENT;
	}
}

static int
state_code(enum qgw_live s)
{
	return s == QGW_LIVE_DEAD ? EXIT_DEAD : s == QGW_LIVE_STALLED ? EXIT_STALLED : 0;
}

static int
parse_args(int argc, char **argv, struct qgw_stats_opts *o)
{
	static const struct option longopts[] = {
		{"stats-name", required_argument, NULL, 'n'},
		{"json", no_argument, NULL, 'j'},
		{"prometheus", no_argument, NULL, 'p'},
		{"all", no_argument, NULL, 'a'},
		{"watch", required_argument, NULL, 'w'},
		{"count", required_argument, NULL, 'c'},
		{"flow", required_argument, NULL, 'f'},
		{"port", required_argument, NULL, 'P'},
		{"oversize", no_argument, NULL, 'O'},
		{"owner", required_argument, NULL, 'o'},
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
			o->fmt = QGW_FMT_JSON;
			formats++;
			break;
		case 'p':
			o->fmt = QGW_FMT_PROM;
			formats++;
			break;
		case 'a':
			o->fmt = QGW_FMT_ALL;
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
			errno = 0;
			o->count = strtol(optarg, &end, 10);
			if (*end != '\0' || errno != 0 || o->count < 1) {
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
		case 'o':
			o->owner = optarg;
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
	if (o->oversize && (o->fmt == QGW_FMT_PROM || o->fmt == QGW_FMT_ALL || o->watch > 0)) {
		fprintf(stderr, "qinqgw-stats: --oversize goes with the table or --json\n");
		return EXIT_USAGE;
	}
	if (formats > 1 || (o->watch > 0 && o->fmt != QGW_FMT_TABLE)) {
		fprintf(stderr,
			"qinqgw-stats: choose one of --json, --prometheus, --all, --watch\n");
		return EXIT_USAGE;
	}
	if (o->count && o->watch == 0) {
		fprintf(stderr, "qinqgw-stats: --count goes with --watch\n");
		return EXIT_USAGE;
	}
	return 0;
}

/* uid of a user name or number; -1 if there is none. */
static long
parse_user(const char *s)
{
	struct passwd *pw = getpwnam(s);
	char *end;
	long uid;

	if (pw != NULL)
		return pw->pw_uid;
	uid = strtol(s, &end, 10);
	return *s != '\0' && *end == '\0' && uid >= 0 ? uid : -1;
}

static const char *
user_name(uint32_t uid, char *buf, size_t len)
{
	struct passwd *pw = getpwuid(uid);

	if (pw != NULL)
		snprintf(buf, len, "%s (uid %u)", pw->pw_name, uid);
	else
		snprintf(buf, len, "uid %u", uid);
	return buf;
}

/* The segment must be the gateway's: --owner, or a warning by default. */
static int
check_owner(const struct qgw_stats_opts *o, const struct qgw_shm_view *v)
{
	char who[96];

	if (o->owner != NULL) {
		long want = parse_user(o->owner);

		if (want < 0) {
			fprintf(stderr, "qinqgw-stats: --owner %s: no such user\n", o->owner);
			return EXIT_USAGE;
		}
		if ((uint32_t)want != v->owner) {
			fprintf(stderr,
				"qinqgw-stats: /dev/shm/%s is owned by %s, not by %s: not the "
				"gateway's segment, refused\n",
				o->name, user_name(v->owner, who, sizeof(who)), o->owner);
			return EXIT_OWNER;
		}
		return 0;
	}
	if (v->owner != 0 && (long)v->owner != parse_user(QGW_GATEWAY_USER))
		fprintf(stderr,
			"qinqgw-stats: warning: /dev/shm/%s is owned by %s, neither root nor the "
			"gateway's user %s: it may not be the gateway's (use --owner to refuse "
			"such a segment)\n",
			o->name, user_name(v->owner, who, sizeof(who)), QGW_GATEWAY_USER);
	return 0;
}

static int
check_filters(const struct qgw_stats_opts *o, const struct qgw_shm_view *v)
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

/* Has the name been given to another segment (a restarted gateway)? */
static bool
replaced(const struct qgw_stats_opts *o, const struct qgw_shm_view *v)
{
	char path[QGW_SHM_NAME_MAX + 16];
	struct stat st;

	snprintf(path, sizeof(path), "/dev/shm/%s", o->name);
	return stat(path, &st) == 0 && (uint64_t)st.st_ino != v->ino;
}

static void
print(const struct qgw_stats_opts *o, const struct qgw_reading *r)
{
	if (o->oversize)
		qgw_view_oversize(stdout, o, r);
	else if (o->fmt == QGW_FMT_JSON)
		qgw_view_json(stdout, o, r);
	else if (o->fmt == QGW_FMT_PROM)
		qgw_view_prom(stdout, o, r);
	else if (o->fmt == QGW_FMT_ALL)
		qgw_view_all(stdout, o, r);
	else
		qgw_view_table(stdout, o, r);
}

static void
sleep_s(double s)
{
	struct timespec ts = {.tv_sec = (time_t)s, .tv_nsec = (long)((s - (time_t)s) * 1e9)};

	nanosleep(&ts, NULL);
}

static int
watch(const struct qgw_stats_opts *o, struct qgw_shm_view *v)
{
	struct qgw_sample a = {0}, b = {0}, *cur = &a, *prev = &b;
	bool tty = isatty(STDOUT_FILENO), have_prev = false;
	int ret = 0;

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	for (long i = 0; !stop && (o->count == 0 || i < o->count); i++) {
		struct qgw_reading r = {.v = v};
		struct qgw_sample *t;

		/* A restarted gateway has a new segment: follow it. */
		if (replaced(o, v)) {
			struct qgw_shm_view nv;

			if (qgw_shm_open_view(o->name, &nv) == 0) {
				qgw_shm_close_view(v);
				*v = nv;
				have_prev = false;
			}
		}
		ret = qgw_shm_sample(v, cur);
		if (ret < 0) {
			fprintf(stderr, "qinqgw-stats: /dev/shm/%s: %s\n", o->name,
				qgw_shm_strerror(ret));
			ret = exit_code(ret);
			break;
		}
		qgw_shm_liveness(v, &r.live);
		r.cur = cur;
		r.prev = have_prev ? prev : NULL;
		r.now = wall();
		if (tty)
			printf("\033[H\033[2J");
		else if (i > 0)
			printf("\n");
		qgw_view_table(stdout, o, &r);
		fflush(stdout);
		ret = state_code(r.live.state);
		t = prev;
		prev = cur;
		cur = t;
		have_prev = true;
		if (o->count == 0 || i + 1 < o->count)
			sleep_s(o->watch);
	}
	qgw_sample_free(&a);
	qgw_sample_free(&b);
	return ret;
}

int
main(int argc, char **argv)
{
	struct qgw_stats_opts o = {.name = QGW_SHM_DEFAULT_NAME};
	struct qgw_sample cur = {0};
	struct qgw_shm_view v;
	int ret;

	ret = parse_args(argc, argv, &o);
	if (ret != 0)
		return ret;
	signal(SIGBUS, on_sigbus);

	ret = qgw_shm_open_view(o.name, &v);
	if (ret < 0) {
		fprintf(stderr, "qinqgw-stats: /dev/shm/%s: %s\n", o.name, qgw_shm_strerror(ret));
		return exit_code(ret);
	}
	ret = check_owner(&o, &v);
	if (ret == 0)
		ret = check_filters(&o, &v);
	if (ret != 0) {
		qgw_shm_close_view(&v);
		return ret;
	}
	if (o.watch > 0) {
		ret = watch(&o, &v);
	} else {
		struct qgw_reading r = {.v = &v};

		ret = qgw_shm_sample(&v, &cur);
		if (ret < 0) {
			fprintf(stderr, "qinqgw-stats: /dev/shm/%s: %s\n", o.name,
				qgw_shm_strerror(ret));
			ret = exit_code(ret);
		} else {
			qgw_shm_liveness(&v, &r.live);
			r.cur = &cur;
			r.now = wall();
			print(&o, &r);
			ret = state_code(r.live.state);
			if (ret != 0)
				fprintf(stderr, "qinqgw-stats: the gateway is %s\n",
					qgw_live_name(r.live.state));
		}
	}
	fflush(stdout);
	qgw_sample_free(&cur);
	qgw_shm_close_view(&v);
	return ret;
}
