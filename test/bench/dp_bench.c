/*
 * dp_bench: the data path alone, without a PMD.
 *
 * Builds a table with thousands of flows spread over S-VIDs, prepares bursts
 * of 32 mbufs with a realistic mix, and calls qgw_dp_burst() on them again
 * and again, timing each call with the TSC. Between calls the frames are put
 * back as they were received (outside the timed region). Reports cycles per
 * packet (median, p5, p95 over the runs) for each mix. Run it under
 * `valgrind --tool=callgrind --toggle-collect=qgw_dp_burst` for
 * instructions per packet (stable on noisy machines). Figures, never a
 * pass/fail.
 *
 * Usage: dp_bench [--mix NAME] [--runs N] [--bursts N] [--json] [--no-mss] [--tcp] [--flows N]
 *   --no-mss: the 1:1 flows without TCP MSS clamping (the default clamps)
 *   --tcp: the frames are IPv4 TCP ACKs (not SYNs) instead of IPv4 UDP
 *   --flows N: N flows (4..4000, default 4000; 16 x 32 distinct frames hit them)
 *   mixes: translate (1:1), push (0:1), pop (1:0), 2to2, mixed (all + drops)
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>

#include "qgw_config.h"
#include "qgw_datapath.h"
#include "qgw_table.h"

#define MAX_FLOWS 4000
#define POOL 512
#define FRAME_LEN 64

struct mix {
	const char *name;
	const char *help;
};

static const struct mix mixes[] = {
	{"translate", "1:1 translate 0x88a8/v -> 0x8100/v+, C-tag inside"},
	{"push", "untagged-side catch-all pushes one tag (0:1)"},
	{"pop", "one tag popped (1:0)"},
	{"2to2", "two tags replaced by two"},
	{"mixed", "1:1, push, pop, 2:2 and 1/16 unknown VIDs (no_flow drops)"},
};

static int tcp;			 /* --tcp */
static unsigned int nb_flows = MAX_FLOWS; /* --flows */

static char *
make_config(int mss)
{
	size_t cap = 256 + (size_t)nb_flows * 256, n;
	char *doc = malloc(cap);

	n = snprintf(doc, cap, "{\"ports\": {\"a\": {\"device\": \"x\", \"max_frame\": 1526}, "
			       "\"b\": {\"device\": \"y\", \"max_frame\": 1526}}, \"flows\": [");
	/* 1:1 on VIDs 1..nb_flows-3 of port a; one 2:2, one catch-all push, one pop */
	for (unsigned int f = 0; f < nb_flows - 3; f++)
		n += snprintf(doc + n, cap - n,
			      "{\"name\": \"t%u\", \"mss_clamp\": %s, \"a\": [{\"tpid\": \"0x88a8\", "
			      "\"vid\": %u}], \"b\": [{\"tpid\": \"0x8100\", \"vid\": %u}]},",
			      f, mss ? "true" : "false", 1 + f % 4000, 1 + (f + 7) % 4000);
	n += snprintf(doc + n, cap - n,
		      "{\"name\": \"two\", \"a\": [{\"tpid\": \"0x9100\", \"vid\": 10}, {\"tpid\": "
		      "\"0x8100\", \"vid\": 20}], \"b\": [{\"tpid\": \"0x9200\", \"vid\": 30}, "
		      "{\"tpid\": \"0x8100\", \"vid\": 40}]},");
	n += snprintf(doc + n, cap - n,
		      "{\"name\": \"push\", \"a\": [], \"b\": [{\"tpid\": \"0x88a8\", \"vid\": 4001}]},");
	n += snprintf(doc + n, cap - n,
		      "{\"name\": \"pop\", \"a\": [{\"tpid\": \"0x9300\", \"vid\": 50}], \"b\": []}]}");
	return doc;
}

/* Frame i of a mix, received on port a. */
static unsigned int
make_frame(const char *mix, unsigned int i, uint8_t *b)
{
	static const uint8_t macs[12] = {2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1};
	unsigned int n = 12, kind = 0, ip;
	uint16_t vid = 1 + (i * 2654435761u >> 8) % (nb_flows - 3);

	memcpy(b, macs, 12);
	if (strcmp(mix, "push") == 0)
		kind = 1;
	else if (strcmp(mix, "pop") == 0)
		kind = 2;
	else if (strcmp(mix, "2to2") == 0)
		kind = 3;
	else if (strcmp(mix, "mixed") == 0)
		kind = (i % 16 == 15) ? 4 : i % 4;

#define TAGB(tpid, v)                                                                              \
	do {                                                                                       \
		b[n] = (tpid) >> 8;                                                                \
		b[n + 1] = (tpid)&0xff;                                                            \
		b[n + 2] = (v) >> 8;                                                               \
		b[n + 3] = (v)&0xff;                                                               \
		n += 4;                                                                            \
	} while (0)
	switch (kind) {
	case 0:
		TAGB(0x88a8, vid);
		TAGB(0x8100, 200);
		break;
	case 1:
		break;
	case 2:
		TAGB(0x9300, 50);
		break;
	case 3:
		TAGB(0x9100, 10);
		TAGB(0x8100, 20);
		break;
	default:
		TAGB(0x88a8, 4090 + i % 4); /* no flow */
		break;
	}
	b[n++] = 0x08; /* IPv4, UDP: not a TCP SYN */
	b[n++] = 0x00;
	ip = n;
	b[n++] = 0x45;
	while (n < FRAME_LEN)
		b[n++] = (uint8_t)i;
	b[ip + 9] = 17;
	if (tcp) {
		b[ip + 9] = 6;
		b[ip + 20 + 12] = 0x50; /* no options */
		b[ip + 20 + 13] = 0x10; /* ACK */
	}
	return n;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void
run_mix(struct rte_mempool *mp, const struct qgw_table *t, const char *mix, unsigned int runs,
	unsigned int bursts, int json, struct qgw_dp_ctx *ctx)
{
	enum { NB = QGW_BURST, SETS = 16 };
	static uint8_t orig[SETS][NB][128];
	static unsigned int len[SETS][NB];
	struct rte_mbuf *m[SETS][NB];
	uint64_t *per = calloc(runs, sizeof(*per));
	struct qgw_dp_out out, back;

	for (unsigned int s = 0; s < SETS; s++)
		for (unsigned int i = 0; i < NB; i++) {
			len[s][i] = make_frame(mix, s * NB + i, orig[s][i]);
			m[s][i] = rte_pktmbuf_alloc(mp);
		}

	for (unsigned int r = 0; r < runs; r++) {
		uint64_t cycles = 0, pkts = 0;

		for (unsigned int k = 0; k < bursts; k++) {
			unsigned int s = k % SETS;
			uint64_t t0, t1;

			/* Put the frames back as received: not timed. */
			for (unsigned int i = 0; i < NB; i++) {
				struct rte_mbuf *x = m[s][i];

				rte_pktmbuf_reset(x);
				memcpy(rte_pktmbuf_append(x, (uint16_t)len[s][i]), orig[s][i],
				       len[s][i]);
				rte_mbuf_refcnt_set(x, 2); /* drops free once: keep ours */
			}
			t0 = rte_rdtsc_precise();
			qgw_dp_burst(t, 0, m[s], NB, &out, &back, ctx);
			t1 = rte_rdtsc_precise();
			cycles += t1 - t0;
			pkts += NB;
			/* forwarded ones kept their refcount 2: bring them back to 1 */
			for (unsigned int i = 0; i < NB; i++)
				rte_mbuf_refcnt_set(m[s][i], 1);
		}
		per[r] = cycles * 1000 / pkts; /* milli-cycles per packet */
	}
	qsort(per, runs, sizeof(*per), cmp_u64);
	if (json)
		printf("{\"mix\": \"%s\", \"tcp\": %s, \"runs\": %u, \"packets_per_run\": %u, \"cycles_per_packet\": "
		       "{\"median\": %.2f, \"p5\": %.2f, \"p95\": %.2f}}\n",
		       mix, tcp ? "true" : "false", runs, bursts * NB, per[runs / 2] / 1000.0, per[runs * 5 / 100] / 1000.0,
		       per[runs * 95 / 100] / 1000.0);
	else
		printf("%-10s cycles/packet median %6.2f  p5 %6.2f  p95 %6.2f  (%u runs x %u packets)\n",
		       mix, per[runs / 2] / 1000.0, per[runs * 5 / 100] / 1000.0,
		       per[runs * 95 / 100] / 1000.0, runs, bursts * NB);
	for (unsigned int s = 0; s < SETS; s++)
		for (unsigned int i = 0; i < NB; i++)
			rte_pktmbuf_free(m[s][i]);
	free(per);
}

int
main(int argc, char **argv)
{
	char *eal[] = {argv[0], "--no-huge", "--no-pci", "--no-shconf", "-m", "256",
		       "--log-level=*:error", "-l", "0"};
	static const struct option opts[] = {
		{"mix", required_argument, NULL, 'm'},	 {"runs", required_argument, NULL, 'r'},
		{"bursts", required_argument, NULL, 'b'}, {"json", no_argument, NULL, 'j'},
		{"no-mss", no_argument, NULL, 'n'},	 {"tcp", no_argument, NULL, 't'},
		{"flows", required_argument, NULL, 'f'},
		{NULL, 0, NULL, 0},
	};
	const char *only = NULL;
	unsigned int runs = 21, bursts = 20000;
	int json = 0, mss = 1, c;
	struct qgw_errors errs = {0};
	struct qgw_config *cfg;
	struct qgw_table *t;
	struct rte_mempool *mp;
	char *doc;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'm')
			only = optarg;
		else if (c == 'r')
			runs = (unsigned int)atoi(optarg);
		else if (c == 'b')
			bursts = (unsigned int)atoi(optarg);
		else if (c == 'j')
			json = 1;
		else if (c == 'n')
			mss = 0;
		else if (c == 't')
			tcp = 1;
		else if (c == 'f')
			nb_flows = (unsigned int)atoi(optarg);
		else
			return 2;
	}
	if (runs < 1 || bursts < 1 || nb_flows < 4 || nb_flows > MAX_FLOWS)
		return 2;
	if (rte_eal_init(RTE_DIM(eal), eal) < 0)
		return 1;
	doc = make_config(mss);
	cfg = qgw_config_load_string(doc, &errs);
	free(doc);
	if (cfg == NULL) {
		for (size_t i = 0; i < errs.nb; i++)
			fprintf(stderr, "%s\n", errs.msg[i]);
		return 1;
	}
	t = qgw_table_build(cfg, NULL, 1, SOCKET_ID_ANY);
	mp = rte_pktmbuf_pool_create("bench", POOL * 4, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				     SOCKET_ID_ANY);
	struct qgw_worker_counters *cnt = rte_zmalloc(NULL, sizeof(*cnt), 64);
	struct qgw_icmp_bucket *bk = rte_zmalloc(NULL, sizeof(*bk) * QGW_MAX_FLOWS * 2, 64);
	struct qgw_dp_ctx ctx = {.c = cnt, .bucket = bk};

	if (t == NULL || mp == NULL || cnt == NULL || bk == NULL)
		return 1;
	for (unsigned int i = 0; i < RTE_DIM(mixes); i++)
		if (only == NULL || strcmp(only, mixes[i].name) == 0)
			run_mix(mp, t, mixes[i].name, runs, bursts, json, &ctx);
	qgw_table_free(t);
	qgw_config_free(cfg);
	rte_eal_cleanup();
	return 0;
}
