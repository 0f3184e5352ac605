/*
 * Unit tests of liveness: qgw_process_alive() on real processes (this one, a
 * child that runs, is stopped by SIGSTOP, continued, killed and left a
 * zombie, reaped; a pid whose start time does not match), and the state
 * qgw_shm_liveness() derives from a real segment (qgw_shm_create()) as its
 * heartbeat, pid and state field change. No EAL.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>

#include "qgw_shm.h"

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

static void
sleep_ms(unsigned int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

/* The state letter the kernel shows for pid, waiting up to 1 s for `want`. */
static char
wait_state(pid_t pid, char want)
{
	char path[64], buf[512], *p, st = '?';

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	for (int i = 0; i < 100; i++) {
		FILE *f = fopen(path, "r");

		if (f == NULL)
			return 0;
		if (fgets(buf, sizeof(buf), f) != NULL && (p = strrchr(buf, ')')) != NULL)
			st = p[2];
		fclose(f);
		if (st == want)
			break;
		sleep_ms(10);
	}
	return st;
}

static void
test_process_alive(void)
{
	uint64_t me = qgw_process_start();
	pid_t child;
	int status;

	CHECK(me != 0, "no start time for this process");
	CHECK(qgw_process_alive((uint32_t)getpid(), me) == 1, "this process: not alive");
	CHECK(qgw_process_alive((uint32_t)getpid(), 0) == 1, "this process, no start time");
	CHECK(qgw_process_alive((uint32_t)getpid(), me + 1) == 0,
	      "a start time that is not this process's: taken as alive (pid reuse)");
	CHECK(qgw_process_alive(0, 0) == 0, "pid 0 alive");
	CHECK(qgw_process_alive(4194305, 0) == 0, "pid over PID_MAX_LIMIT alive");
	CHECK(qgw_process_alive(UINT32_MAX, 0) == 0, "pid 2^32-1 alive");

	child = fork();
	if (child == 0) {
		for (;;)
			pause();
	}
	CHECK(child > 0, "fork: %s", strerror(errno));
	if (child <= 0)
		return;
	wait_state(child, 'S');
	CHECK(qgw_process_alive((uint32_t)child, 0) == 1, "running child not alive");
	kill(child, SIGSTOP);
	waitpid(child, &status, WUNTRACED);
	CHECK(wait_state(child, 'T') == 'T', "child not stopped");
	CHECK(qgw_process_alive((uint32_t)child, 0) == 2, "stopped child: %d, expected 2",
	      qgw_process_alive((uint32_t)child, 0));
	kill(child, SIGCONT);
	wait_state(child, 'S');
	CHECK(qgw_process_alive((uint32_t)child, 0) == 1, "continued child: %d, expected 1",
	      qgw_process_alive((uint32_t)child, 0));
	kill(child, SIGKILL);
	CHECK(wait_state(child, 'Z') == 'Z', "killed child is no zombie");
	CHECK(qgw_process_alive((uint32_t)child, 0) == 0, "zombie taken as alive");
	waitpid(child, &status, 0);
	CHECK(qgw_process_alive((uint32_t)child, 0) == 0, "reaped child taken as alive");
}

/* A real segment of this process, for the state derivation. */
static struct qgw_shm *
segment(const char *name)
{
	char msg[512];
	struct qgw_shm *s = qgw_shm_create(name, NULL, 1, msg, sizeof(msg));

	CHECK(s != NULL, "qgw_shm_create: %s", msg);
	return s;
}

static enum qgw_live
state_of(const char *name, double *age)
{
	struct qgw_shm_view v;
	struct qgw_liveness l = {.state = (enum qgw_live)-1};
	int ret = qgw_shm_open_view(name, &v);

	CHECK(ret == 0, "open view: %s", qgw_shm_strerror(ret));
	if (ret < 0)
		return (enum qgw_live)-1;
	qgw_shm_liveness(&v, &l);
	qgw_shm_close_view(&v);
	if (age != NULL)
		*age = l.heartbeat_age;
	return l.state;
}

static void
test_states(void)
{
	char name[64];
	struct qgw_shm *s;
	enum qgw_live st;
	double age = -1;
	pid_t child;
	int status;

	snprintf(name, sizeof(name), "qgw_unit_live_%d", (int)getpid());
	s = segment(name);
	if (s == NULL)
		return;
	st = state_of(name, &age);
	CHECK(st == QGW_LIVE_STARTING, "new segment: %s, expected starting", qgw_live_name(st));
	CHECK(age >= 0 && age < 1, "fresh heartbeat %.3f s old", age);
	qgw_shm_set_state(s, QGW_SHM_RUNNING);
	st = state_of(name, NULL);
	CHECK(st == QGW_LIVE_RUNNING, "running: %s", qgw_live_name(st));

	/* a heartbeat 2.5 s old: stalled, with its age */
	s->hdr->heartbeat = qgw_mono_ns() - 2500000000ull;
	st = state_of(name, &age);
	CHECK(st == QGW_LIVE_STALLED, "heartbeat 2.5 s old: %s, expected stalled",
	      qgw_live_name(st));
	CHECK(age > 2.4 && age < 3.5, "heartbeat age %.3f, expected about 2.5", age);
	/* just under the limit: still running */
	s->hdr->heartbeat = qgw_mono_ns() - 1500000000ull;
	st = state_of(name, NULL);
	CHECK(st == QGW_LIVE_RUNNING, "heartbeat 1.5 s old: %s, expected running",
	      qgw_live_name(st));
	/* a heartbeat from the future is not fresh */
	s->hdr->heartbeat = qgw_mono_ns() + 60000000000ull;
	st = state_of(name, NULL);
	CHECK(st == QGW_LIVE_STALLED, "heartbeat 60 s in the future: %s, expected stalled",
	      qgw_live_name(st));
	qgw_shm_heartbeat(s);

	/* the writer's process gone: dead, whatever the state field says */
	child = fork();
	if (child == 0)
		_exit(0);
	waitpid(child, &status, 0);
	s->hdr->pid = (uint32_t)child;
	s->hdr->pid_start = 0;
	st = state_of(name, NULL);
	CHECK(st == QGW_LIVE_DEAD, "pid of an exited process, heartbeat fresh: %s, expected dead",
	      qgw_live_name(st));
	/* our pid with another process's start time: pid reused, dead */
	s->hdr->pid = (uint32_t)getpid();
	s->hdr->pid_start = qgw_process_start() + 12345;
	st = state_of(name, NULL);
	CHECK(st == QGW_LIVE_DEAD, "pid reused (start time differs): %s, expected dead",
	      qgw_live_name(st));
	s->hdr->pid_start = qgw_process_start();
	/* a clean stop: stopped, even once the process is gone */
	qgw_shm_set_state(s, QGW_SHM_STOPPED);
	s->hdr->pid = (uint32_t)child;
	st = state_of(name, NULL);
	CHECK(st == QGW_LIVE_STOPPED, "clean stop: %s, expected stopped", qgw_live_name(st));
	qgw_shm_close(s);
	shm_unlink(name);
}

int
main(void)
{
	static const struct {
		const char *name;
		CU_TestFunc fn;
	} tests[] = {
		{"process alive, stopped, zombie, reused", test_process_alive},
		{"states from heartbeat, pid and state field", test_states},
	};
	CU_pSuite suite;
	unsigned int failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return CU_get_error();
	suite = CU_add_suite("liveness", NULL, NULL);
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
