/*
 * stats_hammer: a stats-segment reader that reads as fast as it can for a
 * while and checks what it sees. Used by the func suite (test_stats.py) while
 * the gateway forwards, and by the reader-impact benchmark.
 *
 * Every read loads every 64-bit word of every worker's counter block (relaxed
 * loads, like qinqgw-stats) and checks that none is smaller than at the
 * previous read: a torn or decreasing counter is a violation. It also takes a
 * directory snapshot each time (epoch protocol).
 *
 * Usage: stats_hammer NAME SECONDS
 * Prints "reads N violations V rx_first A rx_last B" and exits 0 when no
 * violation was seen and the counters moved, 1 otherwise, 2 on bad usage.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "qgw_shm.h"

static double
mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	struct qgw_shm_view v;
	uint64_t *prev, reads = 0, violations = 0, rx_first = 0, rx_last = 0;
	size_t words = sizeof(struct qgw_worker_counters) / sizeof(uint64_t);
	double end;
	int ret;

	if (argc != 3) {
		fprintf(stderr, "usage: stats_hammer NAME SECONDS\n");
		return 2;
	}
	ret = qgw_shm_open_view(argv[1], &v);
	if (ret < 0) {
		fprintf(stderr, "stats_hammer: %s\n", qgw_shm_strerror(ret));
		return 1;
	}
	prev = calloc(v.hdr.nb_workers * words, sizeof(*prev));
	if (prev == NULL)
		return 1;
	end = mono() + atof(argv[2]);

	while (mono() < end) {
		uint64_t rx = 0;

		if (qgw_shm_refresh(&v) < 0) {
			violations++;
			break;
		}
		for (uint32_t w = 0; w < v.hdr.nb_workers; w++) {
			const uint64_t *blk = (const uint64_t *)((const char *)v.base +
								 v.hdr.counters_off +
								 w * v.hdr.counters_stride);
			uint64_t *p = prev + w * words;

			for (size_t i = 0; i < words; i++) {
				uint64_t x = __atomic_load_n(&blk[i], __ATOMIC_RELAXED);

				if (x < p[i]) {
					if (violations < 10)
						fprintf(stderr,
							"worker %u word %zu went from %" PRIu64
							" to %" PRIu64 "\n",
							w, i, p[i], x);
					violations++;
				}
				p[i] = x;
			}
			for (unsigned int port = 0; port < QGW_NB_PORTS; port++)
				rx += ((const struct qgw_worker_counters *)blk)->port[port].rx_pkts;
		}
		if (reads == 0)
			rx_first = rx;
		rx_last = rx;
		reads++;
	}
	printf("reads %" PRIu64 " violations %" PRIu64 " rx_first %" PRIu64 " rx_last %" PRIu64
	       "\n",
	       reads, violations, rx_first, rx_last);
	free(prev);
	qgw_shm_close_view(&v);
	return violations == 0 && rx_last > rx_first ? 0 : 1;
}
