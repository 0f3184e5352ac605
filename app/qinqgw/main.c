/*
 * qinqgw: the gateway program.
 *
 * Start-up (config validated before EAL touches hugepages or devices), the
 * main lcore as control plane, one poll-mode worker per other lcore, and a
 * graceful stop on SIGINT/SIGTERM that leaves complete capture files and
 * prints the counter report. Packet capture (dpdk-dumpcap, a secondary
 * process) is served through rte_pdump: its callbacks sit on the ports only
 * while a capture runs.
 *
 * Exit codes: 0 stopped normally or config valid, 1 invalid config or
 * start-up failure, 2 bad command line.
 */
#include <errno.h>
#include <malloc.h>
#include <inttypes.h>
#include <poll.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_pdump.h>
#include <rte_rcu_qsbr.h>
#include <rte_version.h>

#include "qgw_capture.h"
#include "qgw_config.h"
#include "qgw_ctl.h"
#include "qgw_datapath.h"
#include "qgw_log.h"
#include "qgw_notify.h"
#include "qgw_port.h"
#include "qgw_runtime.h"
#include "qgw_shm.h"
#include "qgw_summary.h"
#include "qgw_table.h"
#include "qgw_telemetry.h"

#define EXIT_USAGE 2

static volatile bool quit;
static volatile sig_atomic_t reload;

static void
on_signal(int sig)
{
	if (sig == SIGHUP)
		reload = 1;
	else
		quit = true;
}

static void
usage(FILE *f, const char *prog)
{
	fprintf(f,
		"Usage:\n"
		"  %s [EAL options] -- --config FILE [--stats-name NAME] [--stats-group GROUP]\n"
		"                     [--ctl-socket PATH] [--ctl-group GROUP]\n"
		"                     [--ctl-timeout SECONDS]                   run the gateway\n"
		"  %s --check-config FILE              validate FILE and exit (no DPDK)\n"
		"  %s --help | --version\n"
		"\n"
		"The main lcore is the control plane; every other lcore of -l is a\n"
		"poll-mode worker with an RX/TX queue pair on both ports.\n"
		"Example on vdevs:\n"
		"  %s -l 0-1 --no-huge -m 512 --vdev net_pcap0,rx_pcap=in0.pcap,tx_pcap=out0.pcap "
		"\\\n"
		"     --vdev net_pcap1,rx_pcap=in1.pcap,tx_pcap=out1.pcap -- --config demo.json\n"
		"\n"
		"Counters are published in shared memory /dev/shm/NAME (default \"%s\",\n"
		"mode 0640, group GROUP or the gateway's) for qinqgw-stats. qinqgw-ctl talks\n"
		"to the control socket PATH (default %s, mode 0660); a client that sends\n"
		"nothing, leaves a request unfinished or does not read its answers for\n"
		"--ctl-timeout SECONDS (default 30) is closed.\n"
		"SIGHUP re-reads the config FILE and applies it like qinqgw-ctl apply.\n"
		"Log types qinqgw, qinqgw.port, .ctl, .config, .stats, .worker: EAL's\n"
		"--log-level='qinqgw*:debug', live with qinqgw-ctl log-level. Capture with\n"
		"dpdk-dumpcap --file-prefix=PREFIX -i PORT -p (gateway on hugepages).\n"
		"\n"
		"Exit status: 0 normal stop (or valid config), 1 invalid config or start-up\n"
		"failure, 2 bad command line.\n",
		prog, prog, prog, prog, QGW_SHM_DEFAULT_NAME, QGW_CTL_DEFAULT_PATH);
}

/* Print every error of a config file; 0 if it is valid. */
static int
report_config(const char *path, struct qgw_config **out)
{
	struct qgw_errors errs = {0};
	struct qgw_config *cfg = qgw_config_load_file(path, &errs);

	for (size_t i = 0; i < errs.nb; i++)
		fprintf(stderr, "%s: %s\n", path, errs.msg[i]);
	if (cfg == NULL && errs.nb == 0)
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
	for (size_t i = 0; cfg != NULL && i < cfg->warnings.nb; i++)
		fprintf(stderr, "%s: warning: %s\n", path, cfg->warnings.msg[i]);
	if (cfg != NULL && errs.nb == 0 && out == NULL)
		printf("%s: valid (%u flows between ports %s and %s)%s\n", path, cfg->nb_flows,
		       cfg->port[0].name, cfg->port[1].name,
		       cfg->warnings.nb ? ", with warnings" : "");
	if (cfg != NULL && errs.nb > 0)
		fprintf(stderr, "%s: %zu errors\n", path, errs.nb);
	else if (cfg == NULL)
		fprintf(stderr, "%s: %zu error%s, config refused\n", path, errs.nb,
			errs.nb == 1 ? "" : "s");
	qgw_errors_clear(&errs);
	if (out != NULL)
		*out = cfg;
	else
		qgw_config_free(cfg);
	return cfg == NULL;
}

struct app {
	struct qgw_config *cfg; /* the start-up config; the runtime owns it once running */
	const char *config_path;
	const char *stats_name;
	const char *stats_group;
	const char *ctl_path;
	const char *ctl_group;
	unsigned int ctl_timeout;
	struct qgw_shm *shm;
	struct qgw_ctl ctl;
	struct qgw_runtime rt;
	uint16_t port_id[QGW_NB_PORTS];
	bool port_started[QGW_NB_PORTS];
	bool promisc[QGW_NB_PORTS]; /* promiscuous at start: kept so (see update_links) */
	bool pdump;		    /* rte_pdump_init() succeeded */
	unsigned int nb_workers;
	struct qgw_worker *workers;
	struct qgw_worker_counters **counters;
	struct rte_rcu_qsbr *rcu;
	uint64_t start_tsc;
	bool launched; /* the workers ran: counters are complete */
};

/* The NIC's own drop counters into the stats segment. */
static void
update_nic(struct app *a)
{
	for (unsigned int p = 0; p < QGW_NB_PORTS; p++) {
		struct rte_eth_stats st;

		if (a->port_started[p] && rte_eth_stats_get(a->port_id[p], &st) == 0) {
			struct qgw_nic_counters nic = {
				.rx_missed = st.imissed,
				.rx_nombuf = st.rx_nombuf,
				.rx_errors = st.ierrors,
				.tx_errors = st.oerrors,
			};

			qgw_shm_set_nic(a->shm, p, &nic);
		}
	}
}

/*
 * Checked every half second: a worker whose heartbeat stood still for three
 * checks in a row (1-1.5 s) is stalled: log, flag. (A single still half
 * second can be a busy host's scheduler.)
 */
static void
check_workers(struct app *a, uint64_t *last, uint8_t *still_for)
{
	for (unsigned int i = 0; i < a->nb_workers; i++) {
		struct qgw_shm_worker *sw = qgw_shm_worker(a->shm, i);
		uint64_t hb = __atomic_load_n(&sw->heartbeat, __ATOMIC_RELAXED);
		bool still;

		still_for[i] = hb == last[i] ? (uint8_t)RTE_MIN(still_for[i] + 1, 3) : 0;
		still = still_for[i] >= 3;
		if (still && !sw->stalled) {
			sw->stalls++;
			__atomic_store_n(&sw->stalled, 1, __ATOMIC_RELAXED);
			QGW_LOGT(worker, ERR,
				 "worker %u (lcore %u) stalled: no progress for over 1 s", i,
				 sw->lcore);
		} else if (still_for[i] == 0 && sw->stalled) {
			__atomic_store_n(&sw->stalled, 0, __ATOMIC_RELAXED);
			QGW_LOGT(worker, WARNING, "worker %u (lcore %u) polls again", i, sw->lcore);
		}
		last[i] = hb;
	}
}

/*
 * Link state into the stats segment; logs every change (qgw_shm_set_link
 * counts it). A transparent gateway needs its ports promiscuous: a capture
 * tool that turned it off when it ended (dpdk-dumpcap without -p does) is
 * undone here within a second.
 */
static void
update_links(struct app *a)
{
	for (unsigned int p = 0; p < QGW_NB_PORTS; p++) {
		struct qgw_shm_port *sp = qgw_shm_port(a->shm, p);
		struct rte_eth_link link;

		if (!a->port_started[p] || rte_eth_link_get_nowait(a->port_id[p], &link) < 0)
			continue;
		if (sp->link_up != link.link_status && a->shm->hdr->state == QGW_SHM_RUNNING)
			QGW_LOGT(port, WARNING, "port %s: link %s", a->rt.cfg->port[p].name,
				 link.link_status ? "up" : "down");
		if (a->promisc[p] && rte_eth_promiscuous_get(a->port_id[p]) == 0) {
			int ret = rte_eth_promiscuous_enable(a->port_id[p]);

			QGW_LOGT(port, WARNING,
				 "port %s: promiscuous mode was turned off (by a capture tool? "
				 "dpdk-dumpcap needs -p); %s",
				 a->rt.cfg->port[p].name,
				 ret == 0 ? "turned it on again" : rte_strerror(-ret));
			if (ret != 0)
				a->promisc[p] = false;
		}
		qgw_shm_set_link(a->shm, p, link.link_status,
				 link.link_speed == RTE_ETH_SPEED_NUM_UNKNOWN ? 0 : link.link_speed,
				 link.link_duplex == RTE_ETH_LINK_FULL_DUPLEX);
	}
}

/* systemd's STATUS= line (and READY=1 the first time): what the gateway does now. */
static void
notify_status(struct app *a, bool ready)
{
	static char last[256];
	unsigned int stalled = 0;
	char st[256];

	for (unsigned int i = 0; i < a->nb_workers; i++)
		stalled += qgw_shm_worker(a->shm, i)->stalled;
	snprintf(st, sizeof(st), "forwarding %u flows (generation %" PRIu64 "); %s %s, %s %s; %u/%u workers %s",
		 a->rt.cfg->nb_flows, a->rt.generation, a->rt.cfg->port[0].name,
		 qgw_shm_port(a->shm, 0)->link_up ? "up" : "DOWN", a->rt.cfg->port[1].name,
		 qgw_shm_port(a->shm, 1)->link_up ? "up" : "DOWN", stalled ? stalled : a->nb_workers,
		 a->nb_workers, stalled ? "STALLED" : "polling");
	if (ready)
		qgw_notify_ready(st);
	else if (strcmp(st, last) != 0)
		qgw_notify_status("%s", st);
	snprintf(last, sizeof(last), "%s", st);
}

static void
warn_numa(const char *msg, void *arg)
{
	(void)arg;
	QGW_LOGT(port, WARNING, "%s", msg);
}

static int
app_start(struct app *a)
{
	struct qgw_numa_placement numa = {0};
	char msg[512];
	unsigned int lcore, i = 0;
	size_t sz;
	int ret;

	a->nb_workers = rte_lcore_count() - 1;
	if (a->nb_workers == 0) {
		QGW_LOGT(worker, ERR,
			 "no worker lcore: give -l two or more cores (the first one is "
			 "the control plane)");
		return -EINVAL;
	}
	/* Before the devices: a name held by a live gateway stops us here. */
	a->shm = qgw_shm_create(a->stats_name, a->stats_group, a->nb_workers, msg, sizeof(msg));
	if (a->shm == NULL) {
		QGW_LOGT(stats, ERR, "%s", msg);
		return -errno;
	}
	a->shm->hdr->tsc_hz = rte_get_tsc_hz();
	a->shm->hdr->start_tsc = rte_rdtsc();
	if (qgw_telemetry_init(a->shm) < 0)
		QGW_LOGT(stats, WARNING, "cannot register the /qinqgw telemetry commands");
	ret = qgw_ctl_open(&a->ctl, a->ctl_path, a->ctl_group, a->ctl_timeout, msg, sizeof(msg));
	if (ret < 0) {
		QGW_LOGT(ctl, ERR, "%s", msg);
		return ret;
	}

	ret = qgw_port_resolve(a->cfg, a->port_id, msg, sizeof(msg));
	if (ret < 0) {
		QGW_LOGT(port, ERR, "%s", msg);
		return ret;
	}
	for (unsigned int p = 0; p < QGW_NB_PORTS; p++) {
		ret = qgw_port_start(a->port_id[p], &a->cfg->port[p], a->nb_workers,
				     &numa.pool_socket[p], msg, sizeof(msg));
		if (ret < 0) {
			QGW_LOGT(port, ERR, "%s", msg);
			return ret;
		}
		a->port_started[p] = true;
		qgw_shm_heartbeat(a->shm); /* a device can take its time to start */
		a->promisc[p] = rte_eth_promiscuous_get(a->port_id[p]) == 1;
		numa.port_name[p] = a->cfg->port[p].name;
		numa.port_socket[p] = rte_eth_dev_socket_id(a->port_id[p]);
	}

	sz = rte_rcu_qsbr_get_memsize(a->nb_workers);
	a->rcu = rte_zmalloc("qgw_rcu", sz, RTE_CACHE_LINE_SIZE);
	a->workers = rte_zmalloc("qgw_workers", a->nb_workers * sizeof(*a->workers), 0);
	a->counters = rte_zmalloc("qgw_counters", a->nb_workers * sizeof(*a->counters), 0);
	if (a->rcu == NULL || a->workers == NULL || a->counters == NULL)
		return -ENOMEM;
	rte_rcu_qsbr_init(a->rcu, a->nb_workers);

	RTE_LCORE_FOREACH_WORKER(lcore) {
		struct qgw_worker *w = &a->workers[i];

		struct qgw_shm_worker *sw = qgw_shm_worker(a->shm, i);

		a->counters[i] = qgw_shm_counters(a->shm, i);
		sw->lcore = lcore;
		sw->socket = rte_lcore_to_socket_id(lcore);
		w->lcore_id = lcore;
		w->index = i;
		w->queue = i;
		memcpy(w->port_id, a->port_id, sizeof(w->port_id));
		w->table = &a->rt.table;
		w->rcu = a->rcu;
		w->quit = &quit;
		w->counters = a->counters[i];
		w->heartbeat = &sw->heartbeat;
		w->buckets = rte_zmalloc_socket("qgw_icmp_buckets",
						QGW_MAX_SLOTS * QGW_NB_PORTS * sizeof(*w->buckets),
						RTE_CACHE_LINE_SIZE, (int)sw->socket);
		if (w->buckets == NULL)
			return -ENOMEM;
		for (unsigned int p = 0; p < QGW_NB_PORTS; p++)
			w->events[p] = qgw_shm_events(a->shm, i, p);
		numa.worker_lcore[i] = lcore;
		numa.worker_socket[i] = (int)sw->socket;
		i++;
	}
	numa.nb_workers = a->nb_workers;
	qgw_numa_warnings(&numa, warn_numa, NULL);
	a->rt.rcu = a->rcu;
	a->rt.nb_workers = a->nb_workers;
	a->rt.counters = a->counters;
	a->rt.shm = a->shm;
	a->rt.workers = a->workers;
	a->rt.quit = &quit;
	memcpy(a->rt.port_id, a->port_id, sizeof(a->port_id));
	ret = qgw_runtime_init(&a->rt, a->cfg);
	if (ret < 0) {
		QGW_LOG(ERR, "cannot build the flow table: %s", strerror(-ret));
		return ret;
	}
	a->cfg = NULL; /* the runtime owns it */
	update_links(a);
	qgw_shm_set_state(a->shm, QGW_SHM_RUNNING);
	a->start_tsc = rte_rdtsc();
	a->launched = true;
	RTE_LCORE_FOREACH_WORKER(lcore) {
		ret = rte_eal_remote_launch(qgw_worker_main, &a->workers[--i], lcore);
		if (ret < 0) {
			QGW_LOGT(worker, ERR, "cannot launch worker on lcore %u: %s", lcore,
				 rte_strerror(-ret));
			quit = true;
			return ret;
		}
	}
	/* From now on, ending a capture waits for the workers (capture.c). */
	qgw_capture_sync(a->rcu);
	QGW_LOG(INFO, "forwarding between %s (%s) and %s (%s): %u flows, %u worker%s",
		a->rt.cfg->port[0].name, a->rt.cfg->port[0].device, a->rt.cfg->port[1].name,
		a->rt.cfg->port[1].device, a->rt.cfg->nb_flows, a->nb_workers,
		a->nb_workers == 1 ? "" : "s");
	return 0;
}

static void
app_stop(struct app *a)
{
	quit = true;
	rte_eal_mp_wait_lcore();
	qgw_capture_sync(NULL);
	for (unsigned int p = 0; p < QGW_NB_PORTS; p++)
		if (a->port_started[p])
			qgw_port_close(a->port_id[p]);

	if (a->launched) {
		struct qgw_worker_counters *sum = rte_zmalloc("qgw_sum", sizeof(*sum), 0);

		if (sum != NULL) {
			qgw_counters_sum(sum, (const struct qgw_worker_counters *const *)a->counters,
					 a->nb_workers, QGW_MAX_SLOTS);
			qgw_summary_print(stdout, a->rt.cfg, a->rt.slots, sum,
					  (double)(rte_rdtsc() - a->start_tsc) /
						  (double)rte_get_tsc_hz());
			fflush(stdout);
			rte_free(sum);
		}
	}
	qgw_ctl_close(&a->ctl);
	if (a->pdump)
		rte_pdump_uninit();
	if (a->rt.cfg != NULL) {
		qgw_runtime_fini(&a->rt);
		qgw_config_free(a->rt.cfg);
		a->rt.cfg = NULL;
	}
	if (a->shm != NULL) {
		qgw_shm_set_state(a->shm, QGW_SHM_STOPPED);
		qgw_telemetry_fini(); /* no telemetry callback in the segment any more */
		qgw_shm_close(a->shm);
	}
	rte_free(a->counters);
	for (unsigned int i = 0; a->workers != NULL && i < a->nb_workers; i++) {
		rte_free(a->workers[i].buckets);
		free(a->workers[i].held);
	}
	rte_free(a->workers);
	rte_free(a->rcu);
}

/* SIGHUP: the start-up config file again, through the same checks as an apply. */
static void
reload_config(struct app *a)
{
	struct qgw_errors errs = {0};
	struct qgw_config *cfg = qgw_config_load_file(a->config_path, &errs);
	char msg[512];

	if (cfg != NULL && qgw_runtime_check(&a->rt, cfg, &errs) != 0) {
		qgw_config_free(cfg);
		cfg = NULL;
	}
	if (cfg == NULL) {
		for (size_t i = 0; i < errs.nb; i++)
			QGW_LOGT(config, ERR, "SIGHUP: %s: %s", a->config_path, errs.msg[i]);
		QGW_LOGT(config, ERR, "SIGHUP: %s refused, generation %" PRIu64 " keeps running",
			 a->config_path, a->rt.generation);
		qgw_errors_clear(&errs);
		return;
	}
	if (qgw_runtime_apply(&a->rt, cfg, "SIGHUP", 0, msg, sizeof(msg)) != 0)
		qgw_config_free(cfg);
}

/* Options after "--"; returns 0, or EXIT_USAGE after printing why. */
static int
parse_app_args(int argc, char **argv, const char **config, struct app *a)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"stats-name", required_argument, NULL, 'n'},
		{"stats-group", required_argument, NULL, 'g'},
		{"ctl-socket", required_argument, NULL, 's'},
		{"ctl-group", required_argument, NULL, 'G'},
		{"ctl-timeout", required_argument, NULL, 'T'},
		{"fault-injection", no_argument, NULL, 'F'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			*config = optarg;
			break;
		case 'n':
			a->stats_name = optarg;
			break;
		case 'g':
			a->stats_group = optarg;
			break;
		case 's':
			a->ctl_path = optarg;
			break;
		case 'G':
			a->ctl_group = optarg;
			break;
		case 'T': {
			char *end;
			long t = strtol(optarg, &end, 10);

			if (*end != '\0' || end == optarg || t < 1 || t > 86400) {
				fprintf(stderr, "qinqgw: --ctl-timeout takes seconds, 1..86400\n");
				return EXIT_USAGE;
			}
			a->ctl_timeout = (unsigned int)t;
			break;
		}
		case 'F':
			a->rt.fault_injection = true;
			break;
		case 'h':
			usage(stdout, argv[0]);
			exit(EXIT_SUCCESS);
		default:
			fprintf(stderr, "qinqgw: unknown or incomplete option \"%s\"\n",
				argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "qinqgw: unexpected argument \"%s\"\n", argv[optind]);
		return EXIT_USAGE;
	}
	if (*config == NULL) {
		fprintf(stderr, "qinqgw: --config FILE is required after \"--\"\n");
		return EXIT_USAGE;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct app a = {0};
	const char *config = NULL;
	int sep, ret;

	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		usage(stdout, argv[0]);
		return EXIT_SUCCESS;
	}
	if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
		printf("qinqgw %s (%s)\n", QGW_VERSION, rte_version());
		return EXIT_SUCCESS;
	}
	/* Large control-plane buffers (a client's 8 MiB request, a big config)
	 * go back to the system when freed, so memory stays flat. */
	mallopt(M_MMAP_THRESHOLD, 256 << 10);
	if (argc >= 2 && strcmp(argv[1], "--check-config") == 0) {
		if (argc != 3) {
			fprintf(stderr, "qinqgw: --check-config takes exactly one FILE\n");
			return EXIT_USAGE;
		}
		return report_config(argv[2], NULL) ? EXIT_FAILURE : EXIT_SUCCESS;
	}

	for (sep = 1; sep < argc && strcmp(argv[sep], "--") != 0; sep++)
		;
	if (sep == argc) {
		fprintf(stderr, "qinqgw: missing \"--\" before the gateway's options\n");
		usage(stderr, argv[0]);
		return EXIT_USAGE;
	}
	argv[sep] = argv[0];
	a.stats_name = QGW_SHM_DEFAULT_NAME;
	a.ctl_path = QGW_CTL_DEFAULT_PATH;
	a.ctl.fd = -1;
	ret = parse_app_args(argc - sep, argv + sep, &config, &a);
	if (ret != 0)
		return ret;

	/* A bad config is refused before DPDK takes hugepages or devices. */
	if (report_config(config, &a.cfg) != 0)
		return EXIT_FAILURE;
	a.config_path = config;

	ret = rte_eal_init(sep, argv);
	if (ret < 0) {
		bool no_huge = false;

		for (int i = 1; i < sep; i++)
			no_huge |= strcmp(argv[i], "--no-huge") == 0;
		if (rte_errno == EACCES && !no_huge)
			fprintf(stderr,
				"qinqgw: cannot initialise DPDK: no usable hugepages (reserve "
				"some: echo 512 > "
				"/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages and mount "
				"hugetlbfs on /dev/hugepages; or --no-huge for tests)\n");
		else
			fprintf(stderr, "qinqgw: cannot initialise DPDK (EAL): %s\n",
				rte_strerror(rte_errno));
		qgw_config_free(a.cfg);
		return EXIT_FAILURE;
	}

	qgw_log_apply_args(sep, argv);
	qgw_notify_init();
	/*
	 * Capture by dpdk-dumpcap / dpdk-pdump (secondary processes: they need
	 * this gateway on hugepages). Costs nothing until a capture starts.
	 */
	if (rte_pdump_init() == 0)
		a.pdump = true;
	else
		QGW_LOGT(port, WARNING, "packet capture (dpdk-dumpcap) unavailable: %s",
			 rte_strerror(rte_errno));

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);

	ret = app_start(&a);
	if (ret == 0) {
		uint64_t next_links = rte_get_tsc_cycles() + rte_get_tsc_hz();
		uint64_t next_check = rte_get_tsc_cycles() + rte_get_tsc_hz() / 2;
		uint64_t beats[RTE_MAX_LCORE] = {0};
		uint8_t still_for[RTE_MAX_LCORE] = {0};

		notify_status(&a, true);
		while (!quit) {
			struct pollfd fds[1 + QGW_CTL_MAX_CLIENTS];
			unsigned int n = qgw_ctl_pollfds(&a.ctl, fds);
			uint64_t now, mono = qgw_mono_ns();

			/* Liveness: readers and systemd see the control plane go round. */
			qgw_shm_heartbeat(a.shm);
			qgw_notify_watchdog(mono);

			/* Every round: the control socket gets its bounded share
			 * (and its timeouts), never more; 0 ms while work is left. */
			if (poll(fds, n, qgw_ctl_poll_timeout(&a.ctl, 50)) < 0)
				for (unsigned int k = 0; k < n; k++)
					fds[k].revents = 0;
			qgw_ctl_serve(&a.ctl, fds, n, &a.rt);
			if (reload) {
				reload = 0;
				reload_config(&a);
			}
			qgw_runtime_tick(&a.rt);
			now = rte_get_tsc_cycles();
			if (now >= next_links) {
				update_links(&a);
				update_nic(&a);
				notify_status(&a, false);
				next_links = now + rte_get_tsc_hz();
			}
			if (now >= next_check) {
				check_workers(&a, beats, still_for);
				next_check = now + rte_get_tsc_hz() / 2;
			}
		}
		QGW_LOG(INFO, "stopping");
		qgw_notify_stopping();
	}
	app_stop(&a);
	qgw_config_free(a.cfg);
	rte_eal_cleanup();
	return ret == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
