/*
 * What the fuzz targets share: EAL start-up for a fuzzer process, and a
 * failure macro that aborts, so that libFuzzer saves the input as a crash.
 */
#ifndef QGW_FUZZ_COMMON_H
#define QGW_FUZZ_COMMON_H

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>

#include <rte_common.h>
#include <rte_eal.h>

/* A broken invariant: say which, and crash so the input is kept. */
#define FUZZ_FAIL(...)                                                                             \
	do {                                                                                       \
		fprintf(stderr, "\nfuzz: %s:%d: ", __FILE__, __LINE__);                            \
		fprintf(stderr, __VA_ARGS__);                                                      \
		fprintf(stderr, "\n");                                                             \
		abort();                                                                           \
	} while (0)

#define FUZZ_CHECK(cond, ...)                                                                      \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "\nfuzz: %s:%d: %s: ", __FILE__, __LINE__, #cond);         \
			fprintf(stderr, __VA_ARGS__);                                              \
			fprintf(stderr, "\n");                                                     \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/*
 * Start EAL as the unit tests do: no hugepages, no shared config, no PCI, no
 * telemetry socket, one lcore. EAL pins the calling thread to that lcore's
 * CPU; the fuzzer gets its original CPU set back, so that two fuzzers (or a
 * fuzzer and the unit tests) run side by side instead of sharing CPU 0.
 */
static inline void
qgw_fuzz_eal_init(const char *prog)
{
	char *eal_args[] = {(char *)prog,
			    "--no-huge",
			    "--no-pci",
			    "--no-shconf",
			    "--no-telemetry",
			    "-m",
			    "128",
			    "--log-level=*:error",
			    "-l",
			    "0"};
	cpu_set_t cpus;
	int have_cpus = sched_getaffinity(0, sizeof(cpus), &cpus) == 0;

	if (rte_eal_init(RTE_DIM(eal_args), eal_args) < 0) {
		fprintf(stderr, "fuzz: cannot initialise EAL\n");
		exit(1);
	}
	if (have_cpus)
		sched_setaffinity(0, sizeof(cpus), &cpus);
}

#endif /* QGW_FUZZ_COMMON_H */
