/*
 * Unit tests of the stats segment reader (lib/stats/shm_reader.c) against
 * damaged segments. The reader trusts nothing in the segment: each damage
 * below must give exactly the error qgw_shm.h promises (-QGW_SHM_ECORRUPT,
 * -QGW_SHM_EVERSION, -QGW_SHM_ESHRUNK, -EAGAIN) or be accepted (0) when the
 * layout rules still hold, and nothing may crash or read outside the
 * segment (run under AddressSanitizer by test/sanitize.sh).
 *
 * Segments are real ones, made by the writer (qgw_shm_create(), a published
 * config, counters in every worker block), then damaged:
 *   - in a copy (qgw_shm_open_memory()): counts past the reader's limits or
 *     the file, offsets past the end, inside the header or misaligned,
 *     counters_off + (nb_workers - 1) * counters_stride wrapping 2^64,
 *     families whose elements or strides overflow or leave the counter
 *     block, descriptors outside their element, drop_off overflowing,
 *     event rings past the end, a directory stuck "in progress";
 *   - in place, under an open view (qgw_shm_open_view()): nb_workers
 *     growing and shrinking between readings (new workers read, values
 *     exact, no array overflowed), nb_slots shrinking and growing back, the
 *     file truncated (-QGW_SHM_ESHRUNK from qgw_shm_sample() and
 *     qgw_shm_refresh()) or grown, a refresh that fails and the readings
 *     after it.
 * What could crash runs in a child process, so that a crash is a failed
 * check with its signal, not the end of the test program. No EAL.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>

#include "qgw_config.h"
#include "qgw_counters.h"
#include "qgw_drop.h"
#include "qgw_shm.h"
#include "views.h"

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

static const char config_json[] =
	"{\"version\": 1,"
	" \"ports\": {\"west\": {\"device\": \"net_pcap0\", \"max_frame\": 1518},"
	"             \"east\": {\"device\": \"net_pcap1\", \"max_frame\": 1518}},"
	" \"flows\": ["
	"  {\"name\": \"f1\", \"west\": [{\"tpid\": \"0x88a8\", \"vid\": 100}],"
	"   \"east\": [{\"tpid\": \"0x8100\", \"vid\": 1001}]},"
	"  {\"name\": \"f2\", \"west\": [{\"tpid\": \"0x88a8\", \"vid\": 200}],"
	"   \"east\": [{\"tpid\": \"0x8100\", \"vid\": 1002}]}]}";

#define NB_FLOWS 2

static const char *
err_name(int ret)
{
	static char buf[32];

	switch (-ret) {
	case 0:
		return "0";
	case QGW_SHM_ECORRUPT:
		return "-QGW_SHM_ECORRUPT";
	case QGW_SHM_EVERSION:
		return "-QGW_SHM_EVERSION";
	case QGW_SHM_ESHRUNK:
		return "-QGW_SHM_ESHRUNK";
	case EAGAIN:
		return "-EAGAIN";
	case ENOMEM:
		return "-ENOMEM";
	}
	snprintf(buf, sizeof(buf), "%d", ret);
	return buf;
}

/* ---- real segments ---------------------------------------------------------- */

/*
 * Values the workers "counted": worker w (from 1 here) has w * 1000 + p
 * frames received on port p, w * 100 busy cycles, w drops of every reason
 * on every port and w * 10 + slot frames in each active flow direction.
 */
static uint64_t
rx_of(unsigned int w, unsigned int p)
{
	return (uint64_t)(w + 1) * 1000 + p;
}

static void
fill(struct qgw_shm *s, unsigned int nb_workers)
{
	for (unsigned int w = 0; w < nb_workers; w++) {
		struct qgw_worker_counters *c = qgw_shm_counters(s, w);

		qgw_shm_worker(s, w)->lcore = 10 + w;
		c->busy_cycles = 100 * (w + 1);
		c->idle_cycles = 900 * (w + 1);
		for (unsigned int p = 0; p < QGW_NB_PORTS; p++) {
			c->port[p].rx_pkts = rx_of(w, p);
			c->port[p].tx_pkts = rx_of(w, p) - 1;
			for (unsigned int r = 0; r < QGW_DROP__MAX; r++)
				c->port[p].drop[r] = w + 1;
			for (unsigned int sl = 0; sl < NB_FLOWS; sl++)
				c->flow[sl][p].pkts = (w + 1) * 10 + sl;
		}
	}
}

static unsigned int seg_seq;

/* A real segment of nb_workers workers, published config, counters filled. */
static struct qgw_shm *
segment(char *name, size_t len, unsigned int nb_workers)
{
	struct qgw_errors errs = {0};
	struct qgw_config *cfg = qgw_config_load_string(config_json, &errs);
	struct qgw_shm *s;
	char msg[512];

	CHECK(cfg != NULL, "test config: %s", errs.nb ? errs.msg[0] : "?");
	qgw_errors_clear(&errs);
	if (cfg == NULL)
		return NULL;
	snprintf(name, len, "qgw_unit_seg_%d_%u", (int)getpid(), seg_seq++);
	s = qgw_shm_create(name, NULL, nb_workers, msg, sizeof(msg));
	CHECK(s != NULL, "qgw_shm_create: %s", msg);
	if (s != NULL) {
		qgw_shm_publish_config(s, cfg, NULL, NULL, 1);
		qgw_shm_set_state(s, QGW_SHM_RUNNING);
		fill(s, nb_workers);
	}
	qgw_config_free(cfg);
	return s;
}

static void
drop_segment(struct qgw_shm *s, const char *name)
{
	char path[80];

	qgw_shm_close(s);
	snprintf(path, sizeof(path), "/%s", name);
	shm_unlink(path);
}

/* A directory change as the writer makes it: in_progress, change, epoch + 1. */
#define DIR_CHANGE(h, ...)                                                                         \
	do {                                                                                       \
		__atomic_store_n(&(h)->in_progress, 1, __ATOMIC_RELEASE);                          \
		__VA_ARGS__;                                                                       \
		__atomic_store_n(&(h)->epoch, (h)->epoch + 1, __ATOMIC_RELEASE);                   \
		__atomic_store_n(&(h)->in_progress, 0, __ATOMIC_RELEASE);                          \
	} while (0)

/* ---- a reading and what it must hold -------------------------------------------- */

/* The sample of a view holds nb_workers workers of fill()'s values. */
static void
check_values(const char *what, const struct qgw_shm_view *v, const struct qgw_sample *s,
	     unsigned int nb_workers)
{
	int rx = qgw_shm_find(v, QGW_FAM_PORT, "rx_packets");
	int busy = qgw_shm_find(v, QGW_FAM_WORKER, "busy_cycles");
	int pkts = qgw_shm_find(v, QGW_FAM_FLOW, "packets");
	uint64_t sum_w = (uint64_t)nb_workers * (nb_workers + 1) / 2; /* 1 + 2 + ... */

	CHECK(rx >= 0 && busy >= 0 && pkts >= 0, "%s: counters missing from the directory", what);
	if (rx < 0 || busy < 0 || pkts < 0)
		return;
	CHECK(v->hdr.nb_workers == nb_workers && s->nb_elems[QGW_FAM_WORKER] == nb_workers,
	      "%s: %u workers in the view, %u in the sample, expected %u", what,
	      v->hdr.nb_workers, s->nb_elems[QGW_FAM_WORKER], nb_workers);
	if (s->nb_elems[QGW_FAM_WORKER] != nb_workers)
		return;
	for (unsigned int w = 0; w < nb_workers; w++) {
		const uint64_t *wv = qgw_sample_elem(s, QGW_FAM_WORKER, w);

		CHECK(wv != NULL && wv[busy] == 100 * (w + 1), "%s: worker %u busy_cycles %llu", what,
		      w, wv ? (unsigned long long)wv[busy] : 0ull);
		CHECK(s->worker_rx[w] == rx_of(w, 0) + rx_of(w, 1),
		      "%s: worker %u rx %llu, expected %llu", what, w,
		      (unsigned long long)s->worker_rx[w],
		      (unsigned long long)(rx_of(w, 0) + rx_of(w, 1)));
		CHECK(v->workers[w].lcore == 10 + w, "%s: worker %u lcore %u", what, w,
		      v->workers[w].lcore);
	}
	for (unsigned int p = 0; p < QGW_NB_PORTS; p++) {
		const uint64_t *pv = qgw_sample_elem(s, QGW_FAM_PORT, p);
		uint64_t want = 1000 * sum_w + (uint64_t)nb_workers * p;

		CHECK(pv != NULL && pv[rx] == want, "%s: port %u rx_packets %llu, expected %llu",
		      what, p, pv ? (unsigned long long)pv[rx] : 0ull, (unsigned long long)want);
		for (unsigned int r = 0; pv != NULL && r < v->hdr.nb_drops; r++)
			CHECK(pv[v->hdr.fam[QGW_FAM_PORT].nb + r] == sum_w,
			      "%s: port %u drop %u: %llu, expected %llu", what, p, r,
			      (unsigned long long)pv[v->hdr.fam[QGW_FAM_PORT].nb + r],
			      (unsigned long long)sum_w);
		for (uint32_t sl = 0; sl < NB_FLOWS && sl < v->hdr.nb_slots; sl++) {
			const uint64_t *fv = qgw_sample_elem(s, QGW_FAM_FLOW, sl * QGW_NB_PORTS + p);

			want = 10 * sum_w + (uint64_t)nb_workers * sl;
			CHECK(fv != NULL && fv[pkts] == want,
			      "%s: flow slot %u port %u packets %llu, expected %llu", what, sl, p,
			      fv ? (unsigned long long)fv[pkts] : 0ull, (unsigned long long)want);
		}
	}
}

/* Every view of qinqgw-stats, into /dev/null. */
static void
print_views(const struct qgw_shm_view *v, const struct qgw_sample *cur,
	    const struct qgw_sample *prev)
{
	FILE *null = fopen("/dev/null", "w");
	struct qgw_stats_opts o = {.name = "unit"};
	struct qgw_reading r = {.v = v, .cur = cur, .prev = prev, .now = 1e9};

	if (null == NULL)
		return;
	qgw_shm_liveness(v, &r.live);
	qgw_view_table(null, &o, &r);
	r.prev = NULL;
	qgw_view_table(null, &o, &r);
	qgw_view_all(null, &o, &r);
	qgw_view_oversize(null, &o, &r);
	o.fmt = QGW_FMT_JSON;
	qgw_view_json(null, &o, &r);
	qgw_view_oversize(null, &o, &r);
	o.fmt = QGW_FMT_PROM;
	qgw_view_prom(null, &o, &r);
	fclose(null);
}

/*
 * Run fn(arg) in a child: 0 when it exited 0, else a failed check naming the
 * signal or status. A crash (or a sanitizer report) is a failure of `what`.
 */
static bool
in_child(const char *what, int (*fn)(void *), void *arg)
{
	pid_t pid;
	int status;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0)
		_exit(fn(arg) == 0 ? 0 : 1);
	CHECK(pid > 0, "fork: %s", strerror(errno));
	if (pid < 0)
		return false;
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: %s %d%s", what,
	      WIFSIGNALED(status) ? "killed by signal" : "exit status",
	      WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status),
	      WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV ? " (SIGSEGV)"
	      : WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS ? " (SIGBUS)"
	      : !WIFSIGNALED(status) ? " (its messages or sanitizer report say why)"
				     : "");
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* ---- damaged copies ------------------------------------------------------------- */

struct damaged {
	const struct qgw_shm *orig; /* the real segment */
	char *buf;		     /* its copy, 64-byte aligned, exactly size bytes */
	size_t size;
	struct qgw_shm_header *h;
	uint32_t nb_workers;
};

static void
reset(struct damaged *d)
{
	memcpy(d->buf, d->orig->base, d->size);
}

/* The copy read as a whole: views printed in a child for what is accepted. */
static int
read_copy(void *arg)
{
	struct damaged *d = arg;
	struct qgw_shm_view v;
	struct qgw_sample a = {0}, b = {0};
	int ret = qgw_shm_open_memory(d->buf, d->size, &v);

	if (ret < 0)
		return 1;
	if (qgw_shm_sample(&v, &a) == 0 && qgw_shm_sample(&v, &b) == 0)
		print_views(&v, &b, &a);
	else
		ret = 1;
	qgw_sample_free(&a);
	qgw_sample_free(&b);
	qgw_shm_close_view(&v);
	return ret;
}

static void
expect(struct damaged *d, const char *what, int want)
{
	struct qgw_shm_view v;
	int ret = qgw_shm_open_memory(d->buf, d->size, &v);

	CHECK(ret == want, "%s: %s (%s), expected %s", what, err_name(ret), qgw_shm_strerror(ret),
	      err_name(want));
	if (ret == 0) {
		char title[256];

		qgw_shm_close_view(&v);
		snprintf(title, sizeof(title), "%s: accepted, then sampled and printed", what);
		in_child(title, read_copy, d);
	}
}

/* Apply one damage to a fresh copy and check the reader's answer. */
#define CASE(d, want, what, ...)                                                                   \
	do {                                                                                       \
		struct qgw_shm_header *h = (d)->h;                                                 \
		reset(d);                                                                          \
		__VA_ARGS__;                                                                       \
		(void)h;                                                                           \
		expect(d, what, want);                                                             \
	} while (0)

#define EC (-QGW_SHM_ECORRUPT)
#define EV (-QGW_SHM_EVERSION)

static void
damaged_header(struct damaged *d)
{
	uint64_t size = d->size;

	CASE(d, 0, "the real segment, undamaged");
	CASE(d, EC, "bad magic", h->magic[7] = 'X');
	CASE(d, EV, "layout version 3", h->version = 3);
	CASE(d, EV, "layout version 5", h->version = QGW_SHM_VERSION + 1);
	CASE(d, EV, "header_size + 64", h->header_size += 64);
	CASE(d, EV, "header_size 0", h->header_size = 0);
	CASE(d, EC, "size field one byte more than the segment", h->size = size + 1);
	CASE(d, EC, "size field 2^64-1", h->size = UINT64_MAX);
	CASE(d, EC, "state 3", h->state = 3);
	CASE(d, EC, "state 2^32-1", h->state = UINT32_MAX);
	CASE(d, EC, "nb_ports 1", h->nb_ports = 1);
	CASE(d, EC, "nb_ports 3", h->nb_ports = 3);
	CASE(d, EC, "nb_ports 2^32-1", h->nb_ports = UINT32_MAX);
	CASE(d, -EAGAIN, "directory in progress for ever", h->in_progress = 1);

	/* huge counts */
	CASE(d, EC, "nb_workers 2^32-1", h->nb_workers = UINT32_MAX);
	CASE(d, EC, "nb_workers 1025 (over the reader's limit)", h->nb_workers = 1025);
	CASE(d, EC, "nb_workers 1024 (the limit, past the end of the file)",
	     h->nb_workers = 1024);
	CASE(d, EC, "nb_workers one more than the file holds", h->nb_workers = d->nb_workers + 1);
	CASE(d, 0, "nb_workers one less (a valid layout)", h->nb_workers = d->nb_workers - 1);
	CASE(d, 0, "nb_workers 0", h->nb_workers = 0);
	CASE(d, EC, "nb_slots 2^32-1", h->nb_slots = UINT32_MAX);
	CASE(d, EC, "nb_slots 2^20 + 1", h->nb_slots = (1u << 20) + 1);
	CASE(d, EC, "nb_slots one more than a counter block holds",
	     h->nb_slots = QGW_MAX_SLOTS + 1;
	     h->fam[QGW_FAM_FLOW].nb_elems = h->nb_slots * QGW_NB_PORTS);
	CASE(d, 0, "nb_slots 1 (a valid layout)",
	     h->nb_slots = 1;
	     h->fam[QGW_FAM_FLOW].nb_elems = QGW_NB_PORTS);
	CASE(d, 0, "nb_slots 0 (a valid layout)",
	     h->nb_slots = 0;
	     h->fam[QGW_FAM_FLOW].nb_elems = 0);
	CASE(d, EC, "nb_slots and the flow family's nb_elems disagree", h->nb_slots = 100);
	CASE(d, EC, "nb_drops 2^32-1", h->nb_drops = UINT32_MAX);
	CASE(d, EC, "nb_drops 65 (over the limit)", h->nb_drops = 65);
	CASE(d, EC, "nb_drops 64 (drop arrays past their elements)", h->nb_drops = 64);
	CASE(d, 0, "nb_drops 0", h->nb_drops = 0);
	CASE(d, EC, "nb_desc 2^32-1", h->nb_desc = UINT32_MAX);
	CASE(d, EC, "nb_desc 257 (over the limit)", h->nb_desc = QGW_SHM_MAX_COUNTERS + 1);
	CASE(d, EC, "nb_desc 0 while the families name descriptors", h->nb_desc = 0);
	CASE(d, EC, "nb_desc 256 (past the end of the file)",
	     h->desc_off = size - 64 * sizeof(struct qgw_shm_counter);
	     h->nb_desc = QGW_SHM_MAX_COUNTERS);
}

static void
damaged_offsets(struct damaged *d)
{
	uint64_t size = d->size, stride = d->orig->hdr->counters_stride;

	/* counter blocks: counters_off + (nb_workers - 1) * counters_stride */
	CASE(d, EC, "counters_stride 2^64-64: the second block wraps to counters_off - 64",
	     h->counters_stride = UINT64_MAX - 63);
	CASE(d, EC, "counters_stride 2^63: nb_workers * stride is 2^64, wraps to 0",
	     h->counters_stride = 1ull << 63);
	CASE(d, EC, "nb_workers 1024 * counters_stride 2^54 = 2^64, wraps to 0",
	     h->nb_workers = 1024;
	     h->counters_stride = 1ull << 54);
	CASE(d, EC, "counters_off 2^64-64 (off + blocks wraps)", h->counters_off = UINT64_MAX - 63);
	CASE(d, EC, "counters_off past the end", h->counters_off = size);
	CASE(d, EC, "counters_off one block before the end, two blocks",
	     h->counters_off = size - stride);
	CASE(d, EC, "counters_stride 0 (no room for the families)", h->counters_stride = 0);
	CASE(d, EC, "counters_stride 8 less than the families need", h->counters_stride -= 8);
	CASE(d, EC, "counters_stride not a multiple of 8", h->counters_stride += 4);
	CASE(d, EC, "counters_off not a multiple of 8", h->counters_off += 4);
	CASE(d, EC, "counters_off inside the header", h->counters_off = 64);

	/* directory tables */
	CASE(d, EC, "ports_off past the end", h->ports_off = size);
	CASE(d, EC, "ports_off 2^64-8 (wraps)", h->ports_off = UINT64_MAX - 7);
	CASE(d, EC, "ports_off 0 (inside the header)", h->ports_off = 0);
	CASE(d, EC, "ports_off misaligned", h->ports_off += 4);
	CASE(d, EC, "drops_off: the last drop 8 bytes past the end",
	     h->drops_off = size - h->nb_drops * sizeof(struct qgw_shm_drop) + 8);
	CASE(d, EC, "drops_off misaligned", h->drops_off += 1);
	CASE(d, EC, "workers_off past the end", h->workers_off = size);
	CASE(d, EC, "workers_off misaligned", h->workers_off += 4);
	CASE(d, EC, "flows_off: the last slot 8 bytes past the end",
	     h->flows_off = size - (uint64_t)h->nb_slots * sizeof(struct qgw_shm_flow) + 8);
	CASE(d, EC, "flows_off 2^64-8", h->flows_off = UINT64_MAX - 7);
	CASE(d, EC, "desc_off past the end", h->desc_off = size);
	CASE(d, EC, "desc_off 2^63", h->desc_off = 1ull << 63);
	CASE(d, EC, "desc_off misaligned", h->desc_off += 4);
	CASE(d, EC, "desc_off inside the header", h->desc_off = 8);

	/* event rings: [nb_workers][nb_ports] */
	CASE(d, EC, "events_off: the last ring 64 bytes past the end", h->events_off += 64);
	CASE(d, EC, "events_off past the end", h->events_off = size);
	CASE(d, EC, "events_off 2^64-64 (wraps)", h->events_off = UINT64_MAX - 63);
	CASE(d, EC, "events_off 8-aligned, not 64-aligned", h->events_off -= 8);
	CASE(d, EC, "events_off inside the header", h->events_off = 0);
	CASE(d, 0, "no worker, events_off at the very end (no ring to read)",
	     h->nb_workers = 0;
	     h->events_off = size);
}

static void
damaged_families(struct damaged *d)
{
	uint64_t size = d->size;
	uint32_t port_size = d->orig->hdr->fam[QGW_FAM_PORT].size;
	uint32_t drops = d->orig->hdr->nb_drops;

	CASE(d, EC, "flow family first 2^32-1 (first + nb wraps 32 bits)",
	     h->fam[QGW_FAM_FLOW].first = UINT32_MAX);
	CASE(d, EC, "port family nb one more than nb_desc", h->fam[QGW_FAM_PORT].nb = h->nb_desc + 1);
	CASE(d, EC, "port family nb 2^32-1", h->fam[QGW_FAM_PORT].nb = UINT32_MAX);
	CASE(d, EC, "port family element size 2^20 + 8", h->fam[QGW_FAM_PORT].size = (1u << 20) + 8);
	CASE(d, EC, "port family nb_elems 3", h->fam[QGW_FAM_PORT].nb_elems = 3);
	CASE(d, EC, "flow family nb_elems one less", h->fam[QGW_FAM_FLOW].nb_elems--);
	CASE(d, EC, "worker family nb_elems 2", h->fam[QGW_FAM_WORKER].nb_elems = 2);
	CASE(d, EC, "nic family nb_elems 1", h->fam[QGW_FAM_NIC].nb_elems = 1);
	CASE(d, EC, "flow family stride 2^63: (elements - 1) * stride overflows",
	     h->fam[QGW_FAM_FLOW].stride = 1ull << 63);
	CASE(d, EC, "flow family stride 2^51: (elements - 1) * stride over 2^64",
	     h->fam[QGW_FAM_FLOW].stride = 1ull << 51);
	CASE(d, EC, "flow family: the last element 8 bytes past the counter block",
	     h->fam[QGW_FAM_FLOW].off += h->counters_stride - (h->fam[QGW_FAM_FLOW].off +
		     (uint64_t)(h->fam[QGW_FAM_FLOW].nb_elems - 1) * h->fam[QGW_FAM_FLOW].stride +
		     h->fam[QGW_FAM_FLOW].size) + 8);
	CASE(d, EC, "flow family off 2^64-8", h->fam[QGW_FAM_FLOW].off = UINT64_MAX - 7);
	CASE(d, EC, "port family off misaligned", h->fam[QGW_FAM_PORT].off += 4);
	CASE(d, EC, "port family stride misaligned", h->fam[QGW_FAM_PORT].stride += 4);
	CASE(d, EC, "worker family element larger than the counter block",
	     h->fam[QGW_FAM_WORKER].size = (uint32_t)h->counters_stride + 8);
	CASE(d, EC, "nic family off past the end", h->fam[QGW_FAM_NIC].off = size);
	CASE(d, EC, "nic family off inside the header", h->fam[QGW_FAM_NIC].off = 64);
	CASE(d, EC, "nic family stride 2^63", h->fam[QGW_FAM_NIC].stride = 1ull << 63);
	CASE(d, 0, "port family stride 0 (both ports on one element: valid)",
	     h->fam[QGW_FAM_PORT].stride = 0);

	/* drop counters of an element */
	CASE(d, EC, "port drop_off 2^32-8: drop_off + nb_drops * 8 wraps 32 bits",
	     h->fam[QGW_FAM_PORT].drop_off = UINT32_MAX - 7);
	CASE(d, EC, "port drop_off: the last drop 8 bytes past the element",
	     h->fam[QGW_FAM_PORT].drop_off = port_size - drops * 8 + 8);
	CASE(d, 0, "port drop_off: the last drop in the last 8 bytes of the element",
	     h->fam[QGW_FAM_PORT].drop_off = port_size - drops * 8);
	CASE(d, EC, "port drop_off misaligned", h->fam[QGW_FAM_PORT].drop_off += 4);
	CASE(d, EC, "nic drop_off 0 (drops larger than a NIC element)",
	     h->fam[QGW_FAM_NIC].drop_off = 0);
	CASE(d, 0, "worker drop_off 0 (drops fit in the element)",
	     h->fam[QGW_FAM_WORKER].drop_off = 0);
	/* ports and flow directions always count their drops by reason */
	CASE(d, EC, "port family without drop counters (drop_off none)",
	     h->fam[QGW_FAM_PORT].drop_off = UINT32_MAX);
	CASE(d, EC, "flow family without drop counters (drop_off none), 2 slots",
	     h->fam[QGW_FAM_FLOW].drop_off = UINT32_MAX;
	     h->nb_slots = NB_FLOWS;
	     h->fam[QGW_FAM_FLOW].nb_elems = NB_FLOWS * QGW_NB_PORTS);
}

static void
damaged_descriptors(struct damaged *d)
{
	const struct qgw_shm_header *oh = d->orig->hdr;
	uint32_t port0 = oh->fam[QGW_FAM_PORT].first, flow0 = oh->fam[QGW_FAM_FLOW].first;
	uint32_t port_size = oh->fam[QGW_FAM_PORT].size;
#define DESC(i) ((struct qgw_shm_counter *)(d->buf + h->desc_off) + (i))

	CASE(d, EC, "descriptor offset = element size (just outside)",
	     DESC(port0)->offset = port_size);
	CASE(d, 0, "descriptor offset = element size - 8 (the last counter)",
	     DESC(port0)->offset = port_size - 8);
	CASE(d, EC, "descriptor offset 2^32-8", DESC(port0)->offset = UINT32_MAX - 7);
	CASE(d, EC, "descriptor offset misaligned", DESC(flow0)->offset += 4);
	CASE(d, EC, "descriptor kind 0", DESC(flow0)->kind = 0);
	CASE(d, EC, "descriptor kind 4", DESC(flow0)->kind = QGW_KIND_GAUGE + 1);
	CASE(d, 0, "descriptor reading a drop counter (inside its element)",
	     DESC(flow0)->offset = oh->fam[QGW_FAM_FLOW].drop_off);
	CASE(d, 0, "names and help without NUL",
	     memset(DESC(port0)->name, 'n', sizeof(DESC(port0)->name));
	     memset(DESC(port0)->prom, 'p', sizeof(DESC(port0)->prom));
	     memset(DESC(port0)->label, 'l', sizeof(DESC(port0)->label));
	     memset(DESC(port0)->help, 'h', sizeof(DESC(port0)->help));
	     memset(h->version_str, 'v', sizeof(h->version_str));
	     memset(((struct qgw_shm_port *)(d->buf + h->ports_off))->name, 'P',
		    sizeof(((struct qgw_shm_port *)0)->name));
	     memset(((struct qgw_shm_flow *)(d->buf + h->flows_off))->name, 'F',
		    sizeof(((struct qgw_shm_flow *)0)->name)));
#undef DESC
}

/* The view's copies of strings are terminated, whatever the segment holds. */
static void
terminated_strings(struct damaged *d)
{
	struct qgw_shm_port *port;
	struct qgw_shm_flow *flow;
	struct qgw_shm_drop *drop;
	struct qgw_shm_view v;
	int ret;

	reset(d);
	port = (struct qgw_shm_port *)(d->buf + d->h->ports_off);
	flow = (struct qgw_shm_flow *)(d->buf + d->h->flows_off);
	drop = (struct qgw_shm_drop *)(d->buf + d->h->drops_off);
	memset(port[1].name, 'P', sizeof(port[1].name));
	memset(port[1].device, 'D', sizeof(port[1].device));
	memset(flow[0].name, 'F', sizeof(flow[0].name));
	memset(flow[0].stack, 'S', sizeof(flow[0].stack));
	memset(drop[0].name, 'R', sizeof(drop[0].name));
	ret = qgw_shm_open_memory(d->buf, d->size, &v);
	CHECK(ret == 0, "unterminated names: %s", err_name(ret));
	if (ret < 0)
		return;
	CHECK(strlen(v.ports[1].name) == sizeof(port[1].name) - 1 &&
		      strlen(v.ports[1].device) == sizeof(port[1].device) - 1 &&
		      strlen(v.flows[0].name) == sizeof(flow[0].name) - 1 &&
		      strlen(v.flows[0].stack[0]) == QGW_SHM_STACK_MAX - 1 &&
		      strlen(v.flows[0].stack[1]) == QGW_SHM_STACK_MAX - 1 &&
		      strlen(v.drops[0].name) == sizeof(drop[0].name) - 1,
	      "the view's copies of unterminated names are not cut at their last byte");
	qgw_shm_close_view(&v);
}

static void
bad_memory(struct damaged *d)
{
	struct qgw_shm_view v;
	char *big = NULL;
	int ret;

	reset(d);
	ret = qgw_shm_open_memory(NULL, d->size, &v);
	CHECK(ret == EC, "NULL base: %s", err_name(ret));
	ret = qgw_shm_open_memory(d->buf, sizeof(struct qgw_shm_header) - 1, &v);
	CHECK(ret == EC, "fewer bytes than a header: %s", err_name(ret));
	ret = qgw_shm_open_memory(d->buf, 0, &v);
	CHECK(ret == EC, "0 bytes: %s", err_name(ret));
	ret = qgw_shm_open_memory(d->buf, d->size - 64, &v);
	CHECK(ret == EC, "a segment 64 bytes shorter than its size field: %s", err_name(ret));
	if (posix_memalign((void **)&big, 64, d->size + 64) != 0)
		return;
	memcpy(big + 8, d->buf, d->size);
	ret = qgw_shm_open_memory(big + 8, d->size, &v);
	CHECK(ret == EC, "base not 64-byte aligned: %s", err_name(ret));
	free(big);
}

static void
test_damaged_copies(void)
{
	struct damaged d = {0};
	char name[64];
	struct qgw_shm *s = segment(name, sizeof(name), 2);

	if (s == NULL)
		return;
	d.orig = s;
	d.size = s->size;
	d.nb_workers = 2;
	if (posix_memalign((void **)&d.buf, 64, d.size) != 0) {
		drop_segment(s, name);
		return;
	}
	d.h = (struct qgw_shm_header *)d.buf;
	damaged_header(&d);
	damaged_offsets(&d);
	damaged_families(&d);
	damaged_descriptors(&d);
	terminated_strings(&d);
	bad_memory(&d);
	free(d.buf);
	drop_segment(s, name);
}

/* ---- changes under an open view --------------------------------------------------- */

/* nb_workers grows (in the file's room) and shrinks between readings. */
static void
test_workers_change(void)
{
	struct qgw_sample one = {0}, cur = {0};
	struct qgw_shm_view v;
	char name[64];
	struct qgw_shm *s = segment(name, sizeof(name), 4);
	struct qgw_shm_header *h;
	int ret;

	if (s == NULL)
		return;
	h = s->hdr;
	/* the file has room for 4 workers; the gateway says 1 */
	DIR_CHANGE(h, h->nb_workers = 1);
	ret = qgw_shm_open_view(name, &v);
	CHECK(ret == 0, "open: %s", err_name(ret));
	if (ret < 0) {
		drop_segment(s, name);
		return;
	}
	ret = qgw_shm_sample(&v, &one);
	CHECK(ret == 0, "1 worker: %s", err_name(ret));
	check_values("1 worker", &v, &one, 1);

	/* 1 -> 3, epoch bumped: the next reading notices and reads all 3 */
	DIR_CHANGE(h, h->nb_workers = 3);
	ret = qgw_shm_sample(&v, &cur);
	CHECK(ret == 0, "grown to 3 workers: %s", err_name(ret));
	if (ret == 0) {
		check_values("grown to 3 workers (epoch bumped)", &v, &cur, 3);
		/* rates between a 1-worker and a 3-worker reading */
		print_views(&v, &cur, &one);
	}

	/* 3 -> 4 without epoch: the snapshot stays at 3 until a refresh */
	h->nb_workers = 4;
	ret = qgw_shm_sample(&v, &cur);
	CHECK(ret == 0, "4 workers, no epoch: %s", err_name(ret));
	if (ret == 0)
		check_values("4 workers written without epoch: the snapshot's 3", &v, &cur, 3);
	ret = qgw_shm_refresh(&v);
	CHECK(ret == 0, "refresh: %s", err_name(ret));
	ret = qgw_shm_sample(&v, &cur);
	CHECK(ret == 0, "4 workers after a refresh: %s", err_name(ret));
	if (ret == 0)
		check_values("grown to 4 workers (refresh)", &v, &cur, 4);

	/* the same sample arrays reused for fewer workers */
	DIR_CHANGE(h, h->nb_workers = 2);
	ret = qgw_shm_sample(&v, &cur);
	CHECK(ret == 0, "shrunk to 2 workers: %s", err_name(ret));
	if (ret == 0) {
		check_values("shrunk to 2 workers", &v, &cur, 2);
		print_views(&v, &cur, &one);
	}
	DIR_CHANGE(h, h->nb_workers = 0);
	ret = qgw_shm_sample(&v, &cur);
	CHECK(ret == 0 && cur.nb_elems[QGW_FAM_WORKER] == 0, "shrunk to 0 workers: %s, %u",
	      err_name(ret), cur.nb_elems[QGW_FAM_WORKER]);

	/* more workers than the file has room for: refused, not read */
	DIR_CHANGE(h, h->nb_workers = 5);
	ret = qgw_shm_sample(&v, &cur);
	CHECK(ret == EC, "5 workers in a 4-worker file: %s, expected %s", err_name(ret),
	      err_name(EC));
	DIR_CHANGE(h, h->nb_workers = 4);
	ret = qgw_shm_refresh(&v);
	CHECK(ret == 0, "back to 4 workers: refresh %s", err_name(ret));

	/* slots: fewer, then all of them again */
	DIR_CHANGE(h, h->nb_slots = 2; h->fam[QGW_FAM_FLOW].nb_elems = 2 * QGW_NB_PORTS);
	ret = qgw_shm_sample(&v, &cur);
	CHECK(ret == 0 && cur.nb_elems[QGW_FAM_FLOW] == 2 * QGW_NB_PORTS, "2 slots: %s, %u",
	      err_name(ret), cur.nb_elems[QGW_FAM_FLOW]);
	DIR_CHANGE(h, h->nb_slots = QGW_MAX_SLOTS;
		   h->fam[QGW_FAM_FLOW].nb_elems = QGW_MAX_SLOTS * QGW_NB_PORTS);
	ret = qgw_shm_sample(&v, &cur);
	CHECK(ret == 0 && cur.nb_elems[QGW_FAM_FLOW] == QGW_MAX_SLOTS * QGW_NB_PORTS,
	      "all slots again: %s, %u", err_name(ret), cur.nb_elems[QGW_FAM_FLOW]);
	if (ret == 0) {
		check_values("all slots again", &v, &cur, 4);
		print_views(&v, &cur, &one);
	}

	qgw_sample_free(&one);
	qgw_sample_free(&cur);
	qgw_shm_close_view(&v);
	drop_segment(s, name);
}

static int
truncate_to(const char *name, off_t len)
{
	char path[96];
	int fd, ret;

	snprintf(path, sizeof(path), "/dev/shm/%s", name);
	fd = open(path, O_RDWR);
	if (fd < 0)
		return -errno;
	ret = ftruncate(fd, len) < 0 ? -errno : 0;
	close(fd);
	return ret;
}

/* The file shrinks under an open view: -QGW_SHM_ESHRUNK, never a SIGBUS. */
struct shrink {
	const char *name;
	size_t size;
	void *data; /* the segment's bytes, to write it whole again */
};

static int
restore(const struct shrink *sh)
{
	char path[96];
	int fd, ret = 0;

	snprintf(path, sizeof(path), "/dev/shm/%s", sh->name);
	fd = open(path, O_RDWR);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)sh->size) < 0 || pwrite(fd, sh->data, sh->size, 0) != (ssize_t)sh->size)
		ret = -EIO;
	close(fd);
	return ret;
}

static int
shrink_child(void *arg)
{
	const struct shrink *sh = arg;
	struct qgw_sample smp = {0};
	struct qgw_shm_view v;
	int bad = 0, ret;
	const off_t lens[] = {(off_t)sh->size - 4096, (off_t)sizeof(struct qgw_shm_header), 0};

	for (unsigned int i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		if (restore(sh) < 0 || qgw_shm_open_view(sh->name, &v) < 0) {
			fprintf(stderr, "shrink: cannot open the segment\n");
			return 1;
		}
		if (qgw_shm_sample(&v, &smp) != 0)
			bad++;
		truncate_to(sh->name, lens[i]);
		ret = qgw_shm_sample(&v, &smp);
		if (ret != -QGW_SHM_ESHRUNK) {
			fprintf(stderr, "truncated to %lld: qgw_shm_sample %s, expected %s\n",
				(long long)lens[i], err_name(ret), err_name(-QGW_SHM_ESHRUNK));
			bad++;
		}
		ret = qgw_shm_refresh(&v);
		if (ret != -QGW_SHM_ESHRUNK) {
			fprintf(stderr, "truncated to %lld: qgw_shm_refresh %s, expected %s\n",
				(long long)lens[i], err_name(ret), err_name(-QGW_SHM_ESHRUNK));
			bad++;
		}
		qgw_shm_close_view(&v);
	}
	qgw_sample_free(&smp);
	return bad;
}

static void
test_file_shrinks(void)
{
	struct qgw_sample smp = {0};
	struct qgw_shm_view v;
	char name[64];
	struct qgw_shm *s = segment(name, sizeof(name), 1);
	struct shrink sh = {.name = name};
	char path[96];
	int ret;

	if (s == NULL)
		return;
	sh.size = s->size;
	sh.data = malloc(s->size);
	if (sh.data == NULL) {
		drop_segment(s, name);
		return;
	}
	memcpy(sh.data, s->base, s->size);
	/* the writer's mapping goes first: only the reader touches the file then */
	qgw_shm_close(s);
	in_child("file truncated under an open view", shrink_child, &sh);

	/* truncated by 4 KiB and grown back: the tail reads as zeros, valid */
	CHECK(restore(&sh) == 0, "cannot write the segment again");
	ret = qgw_shm_open_view(name, &v);
	CHECK(ret == 0, "open: %s", err_name(ret));
	if (ret == 0) {
		truncate_to(name, (off_t)sh.size - 4096);
		ret = qgw_shm_sample(&v, &smp);
		CHECK(ret == -QGW_SHM_ESHRUNK, "shrunk by 4 KiB: %s", err_name(ret));
		truncate_to(name, (off_t)sh.size);
		ret = qgw_shm_sample(&v, &smp);
		CHECK(ret == 0, "grown back to its size: %s, expected 0", err_name(ret));
		/* a file larger than the mapping: the mapping is still whole */
		truncate_to(name, (off_t)sh.size + 65536);
		ret = qgw_shm_sample(&v, &smp);
		CHECK(ret == 0, "file grown past the mapping: %s, expected 0", err_name(ret));
		qgw_shm_close_view(&v);
		/* opened again: the size field no longer matches the file */
		ret = qgw_shm_open_view(name, &v);
		CHECK(ret == EC, "opened at its new size: %s, expected %s", err_name(ret),
		      err_name(EC));
		if (ret == 0)
			qgw_shm_close_view(&v);
	}
	/* shorter than a header */
	truncate_to(name, 100);
	ret = qgw_shm_open_view(name, &v);
	CHECK(ret == EC, "a 100-byte file: %s, expected %s", err_name(ret), err_name(EC));
	truncate_to(name, 0);
	ret = qgw_shm_open_view(name, &v);
	CHECK(ret == EC, "an empty file: %s, expected %s", err_name(ret), err_name(EC));
	qgw_sample_free(&smp);
	free(sh.data);
	snprintf(path, sizeof(path), "/%s", name);
	shm_unlink(path);
}

/*
 * A refresh fails (the header was damaged in place): the readings after it
 * must not follow the damaged header, and must work again once it is whole.
 */
struct failed_refresh {
	const char *name;
	struct qgw_shm_header *h; /* the writer's mapping, shared with the child */
};

static int
failed_refresh_child(void *arg)
{
	const struct failed_refresh *fr = arg;
	uint64_t off = fr->h->counters_off;
	struct qgw_sample smp = {0};
	struct qgw_shm_view v;
	int ret, bad = 0;

	if (qgw_shm_open_view(fr->name, &v) < 0 || qgw_shm_sample(&v, &smp) < 0)
		return 1;
	DIR_CHANGE(fr->h, fr->h->counters_off = 1ull << 40);
	ret = qgw_shm_refresh(&v);
	if (ret != -QGW_SHM_ECORRUPT) {
		fprintf(stderr, "refresh of a damaged header: %s\n", err_name(ret));
		bad++;
	}
	fflush(stderr);
	ret = qgw_shm_sample(&v, &smp); /* must not read at counters_off 2^40 */
	if (ret != -QGW_SHM_ECORRUPT) {
		fprintf(stderr, "reading after a failed refresh: %s, expected %s\n", err_name(ret),
			err_name(-QGW_SHM_ECORRUPT));
		bad++;
	}
	DIR_CHANGE(fr->h, fr->h->counters_off = off);
	ret = qgw_shm_sample(&v, &smp);
	if (ret != 0) {
		fprintf(stderr, "reading once the header is whole again: %s\n", err_name(ret));
		bad++;
	}
	qgw_sample_free(&smp);
	qgw_shm_close_view(&v);
	return bad;
}

static void
test_failed_refresh(void)
{
	char name[64];
	struct qgw_shm *s = segment(name, sizeof(name), 1);
	struct failed_refresh fr = {.name = name};
	uint64_t off;

	if (s == NULL)
		return;
	fr.h = s->hdr;
	off = s->hdr->counters_off;
	in_child("qgw_shm_sample() after a failed qgw_shm_refresh()", failed_refresh_child, &fr);
	DIR_CHANGE(s->hdr, s->hdr->counters_off = off); /* if the child died before */
	drop_segment(s, name);
}

int
main(void)
{
	static const struct {
		const char *name;
		CU_TestFunc fn;
	} tests[] = {
		{"damaged copies: header, offsets, families, descriptors", test_damaged_copies},
		{"nb_workers and nb_slots change under an open view", test_workers_change},
		{"the file shrinks under an open view", test_file_shrinks},
		{"readings after a failed refresh", test_failed_refresh},
	};
	CU_pSuite suite;
	unsigned int failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return CU_get_error();
	suite = CU_add_suite("segment", NULL, NULL);
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
