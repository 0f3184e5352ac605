/*
 * libFuzzer target: arbitrary bytes as a stats segment, read the way
 * qinqgw-stats and telemetry read one.
 *
 * The input is copied into a buffer of exactly its size, 64-byte aligned as
 * a mapping is, so AddressSanitizer sees any read past the end of the
 * segment. Its in_progress field is cleared: a directory marked as changing
 * makes the reader retry for 0.1 s and give up with -EAGAIN (test_segment
 * checks that), and libFuzzer, which keeps such an input for that new
 * coverage, would then spend most of its time in the mutations of it. Then,
 * as qinqgw-stats does: qgw_shm_open_memory(), two readings
 * (qgw_shm_sample(), the second with the first as prev), qgw_shm_liveness()
 * and every view into a FILE on /dev/null: the table, --all, --json,
 * --prometheus and the oversize forensics as table and JSON, all of them
 * again with --port and --flow filters, and the table with rates.
 *
 * The reader trusts nothing in the segment, so whatever the bytes:
 *   - no access outside the segment or the reader's and views' own arrays,
 *     no undefined behaviour, no leak (the sanitizers);
 *   - qgw_shm_open_memory() returns 0, -QGW_SHM_ECORRUPT or
 *     -QGW_SHM_EVERSION, and the same again for the same bytes;
 *   - an accepted segment has two ports, its counts within the reader's
 *     limits, NUL-terminated strings in the view's copies, every
 *     descriptor inside its family's element; a sample has an element per
 *     port, flow slot and direction, worker, and the width of its family's
 *     counters and drops;
 *   - the segment does not change, so both readings are identical.
 * The seed corpus (corpus/segment) is made of real segments, laid out by
 * the writer: see gen_segment_seeds.c.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fuzz_common.h"
#include "qgw_shm.h"
#include "views.h"

static FILE *devnull;

static void
check_view(const struct qgw_shm_view *v)
{
	const struct qgw_shm_header *h = &v->hdr;

	FUZZ_CHECK(h->nb_ports == QGW_NB_PORTS, "%u ports accepted", h->nb_ports);
	FUZZ_CHECK(h->nb_desc <= QGW_SHM_MAX_COUNTERS, "%u descriptors accepted", h->nb_desc);
	FUZZ_CHECK(h->state <= QGW_SHM_STOPPED, "state %u accepted", h->state);
	FUZZ_CHECK(h->size == v->size, "size %llu accepted for %zu bytes",
		   (unsigned long long)h->size, v->size);
	FUZZ_CHECK(strnlen(h->version_str, sizeof(h->version_str)) < sizeof(h->version_str),
		   "version string not terminated");
	for (unsigned int p = 0; p < h->nb_ports; p++)
		FUZZ_CHECK(strnlen(v->ports[p].name, sizeof(v->ports[p].name)) <
				   sizeof(v->ports[p].name),
			   "port %u name not terminated", p);
	for (uint32_t s = 0; s < h->nb_slots; s++)
		FUZZ_CHECK(strnlen(v->flows[s].name, sizeof(v->flows[s].name)) <
				   sizeof(v->flows[s].name),
			   "flow %u name not terminated", s);
	for (unsigned int f = 0; f < QGW_FAM__MAX; f++) {
		const struct qgw_shm_family *fam = &h->fam[f];

		FUZZ_CHECK((uint64_t)fam->first + fam->nb <= h->nb_desc,
			   "family %u: descriptors %u+%u of %u", f, fam->first, fam->nb, h->nb_desc);
		for (uint32_t j = 0; j < fam->nb; j++) {
			const struct qgw_shm_counter *d = qgw_shm_desc(v, f, j);

			FUZZ_CHECK(d != NULL && d->offset % 8 == 0 && (uint64_t)d->offset + 8 <= fam->size,
				   "family %u counter %u outside its element", f, j);
			FUZZ_CHECK(strnlen(d->name, sizeof(d->name)) < sizeof(d->name) &&
					   strnlen(d->prom, sizeof(d->prom)) < sizeof(d->prom),
				   "family %u counter %u: name not terminated", f, j);
		}
	}
}

static void
check_sample(const struct qgw_shm_view *v, const struct qgw_sample *s)
{
	const struct qgw_shm_header *h = &v->hdr;
	const uint32_t elems[QGW_FAM__MAX] = {
		[QGW_FAM_PORT] = h->nb_ports,
		[QGW_FAM_FLOW] = h->nb_slots * h->nb_ports,
		[QGW_FAM_WORKER] = h->nb_workers,
		[QGW_FAM_NIC] = h->nb_ports,
	};

	for (unsigned int f = 0; f < QGW_FAM__MAX; f++) {
		uint32_t width = h->fam[f].nb + (h->fam[f].drop_off != UINT32_MAX ? h->nb_drops : 0);

		FUZZ_CHECK(s->nb_elems[f] == elems[f], "family %u: %u elements, expected %u", f,
			   s->nb_elems[f], elems[f]);
		FUZZ_CHECK(s->width[f] == width, "family %u: width %u, expected %u", f, s->width[f],
			   width);
		FUZZ_CHECK(elems[f] == 0 || qgw_sample_elem(s, f, elems[f] - 1) != NULL,
			   "family %u: no last element", f);
		FUZZ_CHECK(qgw_sample_elem(s, f, elems[f]) == NULL,
			   "family %u: an element past the end", f);
	}
}

static bool
same_sample(const struct qgw_sample *a, const struct qgw_sample *b, uint32_t nb_workers,
	    uint32_t nb_slots)
{
	for (unsigned int f = 0; f < QGW_FAM__MAX; f++)
		if (a->nb_elems[f] != b->nb_elems[f] || a->width[f] != b->width[f] ||
		    memcmp(a->val[f], b->val[f],
			   (size_t)a->nb_elems[f] * a->width[f] * sizeof(uint64_t)) != 0)
			return false;
	return memcmp(a->worker_rx, b->worker_rx, nb_workers * sizeof(uint64_t)) == 0 &&
	       memcmp(a->slot_gen, b->slot_gen, nb_slots * sizeof(uint32_t)) == 0;
}

/* Every view of one reading, into /dev/null. */
static void
print_all(struct qgw_stats_opts *o, const struct qgw_reading *r)
{
	o->fmt = QGW_FMT_TABLE;
	qgw_view_table(devnull, o, r);
	qgw_view_oversize(devnull, o, r);
	qgw_view_all(devnull, o, r);
	o->fmt = QGW_FMT_JSON;
	qgw_view_json(devnull, o, r);
	qgw_view_oversize(devnull, o, r);
	o->fmt = QGW_FMT_PROM;
	qgw_view_prom(devnull, o, r);
}

static void
views(const struct qgw_shm_view *v, const struct qgw_sample *cur, const struct qgw_sample *prev)
{
	struct qgw_stats_opts o = {.name = "fuzz"};
	struct qgw_reading r = {.v = v, .cur = cur, .now = (double)time(NULL)};

	qgw_shm_liveness(v, &r.live);
	FUZZ_CHECK(r.live.state <= QGW_LIVE_STOPPED && r.live.heartbeat_age >= 0,
		   "liveness %d, heartbeat age %f", (int)r.live.state, r.live.heartbeat_age);

	print_all(&o, &r);
	/* the table with rates (--watch) */
	r.prev = prev;
	o.fmt = QGW_FMT_TABLE;
	qgw_view_table(devnull, &o, &r);
	/* --port and --flow: the second port, the first active flow */
	r.prev = NULL;
	o.port = v->ports[1].name;
	for (uint32_t s = 0; s < v->hdr.nb_slots && o.flow == NULL; s++)
		if (v->flows[s].active)
			o.flow = v->flows[s].name;
	print_all(&o, &r);
	fflush(devnull);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct qgw_sample cur = {0}, prev = {0};
	struct qgw_shm_view v, again;
	void *seg = NULL;
	int ret, ret2;

	/* exactly size bytes (ASan poisons the rest), aligned like a mapping */
	if (posix_memalign(&seg, 64, size ? size : 1) != 0)
		return 0;
	memcpy(seg, data, size);
	if (size >= offsetof(struct qgw_shm_header, in_progress) + sizeof(uint32_t))
		memset((char *)seg + offsetof(struct qgw_shm_header, in_progress), 0,
		       sizeof(uint32_t));

	ret = qgw_shm_open_memory(seg, size, &v);
	FUZZ_CHECK(ret == 0 || ret == -QGW_SHM_ECORRUPT || ret == -QGW_SHM_EVERSION,
		   "qgw_shm_open_memory: %d (%s)", ret, qgw_shm_strerror(ret));
	ret2 = qgw_shm_open_memory(seg, size, &again);
	FUZZ_CHECK(ret2 == ret, "the same bytes opened twice: %d then %d", ret, ret2);
	qgw_shm_close_view(&again);
	if (ret < 0) {
		free(seg);
		return 0;
	}
	check_view(&v);

	ret = qgw_shm_sample(&v, &prev);
	FUZZ_CHECK(ret == 0, "first reading of an accepted segment: %s", qgw_shm_strerror(ret));
	check_sample(&v, &prev);
	ret = qgw_shm_sample(&v, &cur);
	FUZZ_CHECK(ret == 0, "second reading: %s", qgw_shm_strerror(ret));
	check_sample(&v, &cur);
	FUZZ_CHECK(same_sample(&prev, &cur, v.hdr.nb_workers, v.hdr.nb_slots),
		   "two readings of a segment that did not change differ");

	views(&v, &cur, &prev);

	qgw_sample_free(&cur);
	qgw_sample_free(&prev);
	qgw_shm_close_view(&v);
	free(seg);
	return 0;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	devnull = fopen("/dev/null", "w");
	if (devnull == NULL) {
		perror("fuzz_segment: /dev/null");
		exit(1);
	}
	return 0;
}
