/*
 * Unit tests of the operations helpers: the NUMA placement warnings
 * (qgw_numa_warnings(), with made-up socket ids, since a one-socket machine
 * with vdevs can never produce a mismatch) and the log types: level names as
 * EAL takes them, patterns, setting levels, and "--log-level=qinqgw:LEVEL"
 * reaching every qinqgw.* type. No EAL: log types exist from the
 * constructors on.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>

#include <rte_log.h>

#include "qgw_log.h"
#include "qgw_port.h"

/* An assertion whose failure report names the case and what differed. */
#define CHECK(cond, ...) check((cond) ? CU_TRUE : CU_FALSE, __LINE__, __func__, __VA_ARGS__)

static void __attribute__((format(printf, 4, 5)))
check(CU_BOOL ok, unsigned int line, const char *func, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	CU_assertImplementation(ok, line, msg, __FILE__, func, CU_FALSE);
}

/* ---------------------------------------------------------------- NUMA */

static void
test_numa_mismatch(void)
{
	static const struct {
		int dev, used;
		bool want;
	} cases[] = {
		{0, 0, false},	{1, 1, false},	{0, 1, true},	 {1, 0, true},	 {3, 2, true},
		{-1, 0, false}, {0, -1, false}, {-1, -1, false}, {-1, 1, false},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK(qgw_numa_mismatch(cases[i].dev, cases[i].used) == cases[i].want,
		      "device on socket %d, used from socket %d: mismatch %d, expected %d",
		      cases[i].dev, cases[i].used, !cases[i].want, cases[i].want);
}

struct collected {
	unsigned int n;
	char msg[16][320];
};

static void
collect(const char *msg, void *arg)
{
	struct collected *c = arg;

	if (c->n < 16)
		snprintf(c->msg[c->n], sizeof(c->msg[0]), "%s", msg);
	c->n++;
}

static struct qgw_numa_placement
placement(int s0, int s1, int pool0, int pool1, unsigned int nb, const int *wsock)
{
	struct qgw_numa_placement pl = {
		.port_name = {"twaren", "ccx"},
		.port_socket = {s0, s1},
		.pool_socket = {pool0, pool1},
		.nb_workers = nb,
	};

	for (unsigned int i = 0; i < nb; i++) {
		pl.worker_lcore[i] = 2 + 2 * i;
		pl.worker_socket[i] = wsock[i];
	}
	return pl;
}

static void
test_numa_quiet(void)
{
	static const int one[] = {0, 0, 0}, vdev[] = {0, 1, 0};
	struct collected c = {0};
	struct qgw_numa_placement pl;

	/* one socket: everything on 0 */
	pl = placement(0, 0, 0, 0, 3, one);
	CHECK(qgw_numa_warnings(&pl, collect, &c) == 0 && c.n == 0,
	      "one socket: %u warnings, first %s", c.n, c.msg[0]);
	/* vdevs (SOCKET_ID_ANY) polled from any socket, pools anywhere */
	c.n = 0;
	pl = placement(-1, -1, 0, 1, 3, vdev);
	CHECK(qgw_numa_warnings(&pl, collect, &c) == 0 && c.n == 0, "vdevs: %u warnings, first %s",
	      c.n, c.msg[0]);
	/* a pool whose memory socket is unknown */
	c.n = 0;
	pl = placement(1, 1, -1, -1, 0, one);
	CHECK(qgw_numa_warnings(&pl, collect, &c) == 0, "unknown pool socket: %u warnings", c.n);
}

static void
test_numa_warns(void)
{
	/* twaren on socket 0, ccx on socket 1; workers on sockets 0 and 1;
	 * ccx's pool fell back to socket 0 */
	static const int ws[] = {0, 1};
	struct collected c = {0};
	struct qgw_numa_placement pl = placement(0, 1, 0, 0, 2, ws);
	int n = qgw_numa_warnings(&pl, collect, &c);

	CHECK(n == 3 && c.n == 3, "%d warnings (%u calls), expected 3", n, c.n);
	if (c.n < 3)
		return;
	CHECK(strcmp(c.msg[0],
		     "NUMA: port ccx is on socket 1 but its mbuf pool could only be "
		     "placed on socket 0: every frame crosses sockets; reserve "
		     "hugepages on node 1 (/sys/devices/system/node/node1/hugepages/)") == 0,
	      "pool warning: %s", c.msg[0]);
	CHECK(strcmp(c.msg[1], "NUMA: worker 0 (lcore 2, socket 0) polls port ccx on socket 1: "
			       "every frame crosses sockets; give -l cores of socket 1") == 0,
	      "worker 0 warning: %s", c.msg[1]);
	CHECK(strcmp(c.msg[2],
		     "NUMA: worker 1 (lcore 4, socket 1) polls port twaren on "
		     "socket 0: every frame crosses sockets; give -l cores of socket 0") == 0,
	      "worker 1 warning: %s", c.msg[2]);

	/* both ports on socket 1, the only worker on socket 0: one per port */
	static const int w0[] = {0};

	c.n = 0;
	pl = placement(1, 1, 1, 1, 1, w0);
	CHECK(qgw_numa_warnings(&pl, collect, &c) == 2 && strstr(c.msg[0], "port twaren") &&
		      strstr(c.msg[1], "port ccx"),
	      "worker away from both ports: %u warnings: %s / %s", c.n, c.msg[0], c.msg[1]);
}

/* ---------------------------------------------------------------- logs */

static void
test_level_names(void)
{
	static const struct {
		const char *s;
		int want;
	} cases[] = {
		{"emergency", 1},    {"alert", 2},    {"critical", 3}, {"error", 4},
		{"warning", 5},	     {"notice", 6},   {"info", 7},     {"debug", 8},
		{"DEBUG", 8},	     {"Warning", 5},  {"warn", 5},     {"err", 4},
		{"crit", 3},	     {"e", 1},	      {"1", 1},	       {"8", 8},
		{"0", -EINVAL},	     {"9", -EINVAL},  {"", -EINVAL},   {"verbose", -EINVAL},
		{"debugx", -EINVAL}, {"8x", -EINVAL}, {"-1", -EINVAL}, {"info ", -EINVAL},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int got = qgw_log_parse_level(cases[i].s);

		CHECK(got == cases[i].want, "\"%s\": %d, expected %d", cases[i].s, got,
		      cases[i].want);
	}
	CHECK(qgw_log_parse_level(NULL) == -EINVAL, "NULL accepted");
	for (int l = 1; l <= 8; l++)
		CHECK(qgw_log_parse_level(qgw_log_level_name(l)) == l, "name of %d (%s) reads back",
		      l, qgw_log_level_name(l));
	CHECK(strcmp(qgw_log_level_name(0), "?") == 0 && strcmp(qgw_log_level_name(9), "?") == 0,
	      "levels 0 and 9 have no name");
}

static void
count_type(const char *name, int level, void *arg)
{
	char *list = arg;

	(void)level;
	strcat(list, name);
	strcat(list, " ");
}

static void
set_all(int level)
{
	const int types[] = {qgw_logtype,	 qgw_logtype_port,  qgw_logtype_ctl,
			     qgw_logtype_config, qgw_logtype_stats, qgw_logtype_worker};

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		rte_log_set_level((uint32_t)types[i], (uint32_t)level);
}

static void
test_log_types(void)
{
	char list[512] = "";
	int n = qgw_log_foreach(QGW_LOG_ALL, count_type, list);

	CHECK(n == 6 && strstr(list, "qinqgw ") && strstr(list, "qinqgw.port ") &&
		      strstr(list, "qinqgw.ctl ") && strstr(list, "qinqgw.config ") &&
		      strstr(list, "qinqgw.stats ") && strstr(list, "qinqgw.worker "),
	      "%d types: %s", n, list);
	CHECK(strcmp(qgw_log_pattern("qinqgw"), QGW_LOG_ALL) == 0, "\"qinqgw\" is every type");
	CHECK(strcmp(qgw_log_pattern("qinqgw.port"), "qinqgw.port") == 0, "a type stays itself");
	CHECK(qgw_log_foreach("lib.eal", NULL, NULL) == 1, "other DPDK types are listed too");

	set_all(RTE_LOG_INFO);
	CHECK(qgw_log_set("qinqgw.po*", RTE_LOG_DEBUG) == 1 &&
		      rte_log_get_level((uint32_t)qgw_logtype_port) == RTE_LOG_DEBUG &&
		      rte_log_get_level((uint32_t)qgw_logtype_ctl) == RTE_LOG_INFO,
	      "qinqgw.po* debug: port %d ctl %d", rte_log_get_level((uint32_t)qgw_logtype_port),
	      rte_log_get_level((uint32_t)qgw_logtype_ctl));
	CHECK(qgw_log_set("qinqgw", RTE_LOG_WARNING) == 6 &&
		      rte_log_get_level((uint32_t)qgw_logtype) == RTE_LOG_WARNING &&
		      rte_log_get_level((uint32_t)qgw_logtype_worker) == RTE_LOG_WARNING &&
		      rte_log_get_level((uint32_t)qgw_logtype_port) == RTE_LOG_WARNING,
	      "qinqgw warning sets all six");
	CHECK(qgw_log_set("qinqgw.*", RTE_LOG_ERR) == 5 &&
		      rte_log_get_level((uint32_t)qgw_logtype) == RTE_LOG_WARNING,
	      "qinqgw.* leaves the type qinqgw itself alone");
	CHECK(qgw_log_set("nothing.here*", RTE_LOG_DEBUG) == 0, "no match: 0");
	CHECK(qgw_log_set("qinqgw", 9) == -EINVAL && qgw_log_set("qinqgw", 0) == -EINVAL,
	      "bad level refused");
	set_all(RTE_LOG_INFO);
}

static void
test_apply_args(void)
{
	char a0[] = "qinqgw", a1[] = "--log-level=qinqgw:debug", a2[] = "--log-level",
	     a3[] = "qinqgw.port:error", a4[] = "-l", a5[] = "0-1", a6[] = "--log-level=notice";
	char *argv[] = {a0, a1, a2, a3, a4, a5, a6};
	char b1[] = "--log-level=qinqgw.ctl:debug";
	char *argv2[] = {a0, b1};

	set_all(RTE_LOG_INFO);
	qgw_log_apply_args(7, argv);
	CHECK(rte_log_get_level((uint32_t)qgw_logtype) == RTE_LOG_DEBUG &&
		      rte_log_get_level((uint32_t)qgw_logtype_ctl) == RTE_LOG_DEBUG &&
		      rte_log_get_level((uint32_t)qgw_logtype_worker) == RTE_LOG_DEBUG,
	      "qinqgw:debug reaches every type: qinqgw %d ctl %d worker %d",
	      rte_log_get_level((uint32_t)qgw_logtype),
	      rte_log_get_level((uint32_t)qgw_logtype_ctl),
	      rte_log_get_level((uint32_t)qgw_logtype_worker));
	CHECK(rte_log_get_level((uint32_t)qgw_logtype_port) == RTE_LOG_ERR,
	      "a later qinqgw.port:error wins: %d", rte_log_get_level((uint32_t)qgw_logtype_port));

	/* without "qinqgw" alone, EAL's own handling stands: nothing replayed */
	set_all(RTE_LOG_INFO);
	qgw_log_apply_args(2, argv2);
	CHECK(rte_log_get_level((uint32_t)qgw_logtype_ctl) == RTE_LOG_INFO,
	      "nothing replayed without qinqgw:LEVEL");
	set_all(RTE_LOG_INFO);
}

int
main(void)
{
	static const struct {
		const char *name;
		CU_TestFunc fn;
	} tests[] = {
		{"numa mismatch", test_numa_mismatch}, {"numa quiet placements", test_numa_quiet},
		{"numa warnings", test_numa_warns},    {"log level names", test_level_names},
		{"log types", test_log_types},	       {"log-level options", test_apply_args},
	};
	CU_pSuite suite;
	unsigned int failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return CU_get_error();
	suite = CU_add_suite("ops", NULL, NULL);
	if (suite == NULL)
		goto error;
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		if (CU_add_test(suite, tests[i].name, tests[i].fn) == NULL)
			goto error;
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return failed ? 1 : 0;

error:
	CU_cleanup_registry();
	return CU_get_error();
}
