/*
 * Stats segment reader (see qgw_shm.h). Trusts nothing in the segment: on
 * every refresh the header is copied and every count, offset and size
 * checked with overflow-safe arithmetic against the size of the mapping
 * before anything is followed; the directory is copied under the
 * in_progress/epoch protocol; a segment that shrinks while mapped is noticed
 * (fstat before each reading). Never writes to the segment and never waits
 * on the gateway. Needs no DPDK at run time.
 */
#include "qgw_shm.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SNAPSHOT_TRIES 1000
#define MAX_WORKERS 1024    /* more than any machine has lcores */
#define MAX_SLOTS (1u << 20)
#define MAX_DROPS 64
#define PID_MAX 4194304u    /* Linux's PID_MAX_LIMIT */

#define LD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

enum { CAP_PORTS, CAP_DROPS, CAP_WORKERS, CAP_FLOWS, CAP_DESC };

const char *
qgw_shm_strerror(int err)
{
	switch (-err) {
	case ENOENT:
		return "no stats segment: is the gateway running, and with this --stats-name?";
	case EACCES:
	case EPERM:
		return "permission denied: the stats segment is readable by its group only "
		       "(mode 0640); run as a member of that group or as root";
	case QGW_SHM_EVERSION:
		return "the stats segment has another layout version than this qinqgw-stats "
		       "understands: use the qinqgw-stats of the running gateway's version";
	case QGW_SHM_ECORRUPT:
		return "the segment is not a qinqgw stats segment (bad magic, size or offset)";
	case QGW_SHM_ESHRUNK:
		return "the stats segment shrank while it was being read: it is damaged or was "
		       "truncated by something other than the gateway";
	case EAGAIN:
		return "the stats directory kept changing; try again";
	default:
		return strerror(-err);
	}
}

uint64_t
qgw_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- bounds -------------------------------------------------------------- */

/* a * b + c without overflow into *r; false on overflow. */
static bool
mul_add(uint64_t a, uint64_t b, uint64_t c, uint64_t *r)
{
	uint64_t m;

	if (__builtin_mul_overflow(a, b, &m) || __builtin_add_overflow(m, c, r))
		return false;
	return true;
}

/* Is [off, off + n * each) inside [lo, size), 8-aligned? */
static bool
in_bounds(uint64_t size, uint64_t lo, uint64_t off, uint64_t n, uint64_t each)
{
	uint64_t len, end;

	if (off < lo || (off & 7) != 0)
		return false;
	return mul_add(n, each, 0, &len) && !__builtin_add_overflow(off, len, &end) && end <= size;
}

/* Elements [0, n) of `size` bytes every `stride` from off fit in `limit`? */
static bool
elems_fit(uint64_t limit, uint64_t off, uint64_t n, uint64_t stride, uint64_t size)
{
	uint64_t last, end;

	if (n == 0)
		return true;
	if ((off & 7) != 0 || (stride & 7) != 0)
		return false;
	return mul_add(n - 1, stride, off, &last) && !__builtin_add_overflow(last, size, &end) &&
	       end <= limit;
}

static int
check_layout(const struct qgw_shm_header *h, size_t size)
{
	const uint64_t hs = sizeof(*h);
	uint64_t elems;

	if (memcmp(h->magic, QGW_SHM_MAGIC, 8) != 0)
		return -QGW_SHM_ECORRUPT;
	if (h->version != QGW_SHM_VERSION || h->header_size != sizeof(*h))
		return -QGW_SHM_EVERSION;
	if (h->size != size || h->state > QGW_SHM_STOPPED || h->nb_ports != QGW_NB_PORTS ||
	    h->nb_workers > MAX_WORKERS || h->nb_slots > MAX_SLOTS || h->nb_drops > MAX_DROPS ||
	    h->nb_desc > QGW_SHM_MAX_COUNTERS)
		return -QGW_SHM_ECORRUPT;
	if (!in_bounds(size, hs, h->ports_off, h->nb_ports, sizeof(struct qgw_shm_port)) ||
	    !in_bounds(size, hs, h->drops_off, h->nb_drops, sizeof(struct qgw_shm_drop)) ||
	    !in_bounds(size, hs, h->workers_off, h->nb_workers, sizeof(struct qgw_shm_worker)) ||
	    !in_bounds(size, hs, h->flows_off, h->nb_slots, sizeof(struct qgw_shm_flow)) ||
	    !in_bounds(size, hs, h->desc_off, h->nb_desc, sizeof(struct qgw_shm_counter)) ||
	    !in_bounds(size, hs, h->counters_off, h->nb_workers, h->counters_stride) ||
	    (h->counters_stride & 7) != 0 || (h->events_off & 63) != 0 ||
	    !in_bounds(size, hs, h->events_off, (uint64_t)h->nb_workers * h->nb_ports,
		       sizeof(struct qgw_event_ring)))
		return -QGW_SHM_ECORRUPT;
	for (unsigned int f = 0; f < QGW_FAM__MAX; f++) {
		const struct qgw_shm_family *fam = &h->fam[f];
		uint64_t drops_end;

		if ((uint64_t)fam->first + fam->nb > h->nb_desc || fam->size > (1u << 20))
			return -QGW_SHM_ECORRUPT;
		/* ports and flow directions always count their drops by reason */
		if ((f == QGW_FAM_PORT || f == QGW_FAM_FLOW) && fam->drop_off == UINT32_MAX)
			return -QGW_SHM_ECORRUPT;
		if (fam->drop_off != UINT32_MAX &&
		    ((fam->drop_off & 7) != 0 ||
		     !mul_add(h->nb_drops, 8, fam->drop_off, &drops_end) || drops_end > fam->size))
			return -QGW_SHM_ECORRUPT;
		switch (f) {
		case QGW_FAM_PORT:
		case QGW_FAM_NIC:
			elems = h->nb_ports;
			break;
		case QGW_FAM_FLOW:
			elems = (uint64_t)h->nb_slots * h->nb_ports;
			break;
		default:
			elems = 1;
		}
		if (fam->nb_elems != elems)
			return -QGW_SHM_ECORRUPT;
		if (f == QGW_FAM_NIC ? !(fam->off >= hs &&
					 elems_fit(size, fam->off, elems, fam->stride, fam->size))
				     : !elems_fit(h->counters_stride, fam->off, elems, fam->stride,
						  fam->size))
			return -QGW_SHM_ECORRUPT;
	}
	return 0;
}

/* Descriptors are followed too: each counter inside its family's element. */
static int
check_desc(const struct qgw_shm_view *v)
{
	for (unsigned int f = 0; f < QGW_FAM__MAX; f++) {
		const struct qgw_shm_family *fam = &v->hdr.fam[f];

		for (uint32_t j = 0; j < fam->nb; j++) {
			const struct qgw_shm_counter *d = &v->desc[fam->first + j];

			if ((d->offset & 7) != 0 || (uint64_t)d->offset + 8 > fam->size ||
			    d->kind < QGW_KIND_SUM || d->kind > QGW_KIND_GAUGE)
				return -QGW_SHM_ECORRUPT;
		}
	}
	return 0;
}

/* Names are ASCII (the config says so): anything else becomes '?', so no
 * output gets a control character or invalid UTF-8 from a damaged segment. */
static void
printable(char *s, size_t len)
{
	for (size_t i = 0; i < len && s[i] != '\0'; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
			s[i] = '?';
}

#define TERMINATE(field) ((field)[sizeof(field) - 1] = '\0', printable((field), sizeof(field)))

static void
terminate_strings(struct qgw_shm_view *v)
{
	for (uint32_t i = 0; i < v->hdr.nb_ports; i++) {
		TERMINATE(v->ports[i].name);
		TERMINATE(v->ports[i].device);
	}
	for (uint32_t i = 0; i < v->hdr.nb_drops; i++) {
		TERMINATE(v->drops[i].name);
		TERMINATE(v->drops[i].help);
	}
	for (uint32_t i = 0; i < v->hdr.nb_slots; i++) {
		struct qgw_shm_flow *f = &v->flows[i];

		TERMINATE(f->name);
		for (unsigned int p = 0; p < QGW_NB_PORTS; p++)
			TERMINATE(f->stack[p]);
	}
	for (uint32_t i = 0; i < v->hdr.nb_desc; i++) {
		struct qgw_shm_counter *d = &v->desc[i];

		TERMINATE(d->name);
		TERMINATE(d->prom);
		TERMINATE(d->label);
		TERMINATE(d->column);
		TERMINATE(d->help);
	}
	TERMINATE(v->hdr.version_str);
}

/*
 * Room for n entries of `each` bytes (at least one) in *arr, cache-line
 * aligned like the segment's own structs; the contents are not kept (every
 * refresh copies them anew).
 */
static int
reserve(void **arr, uint32_t *cap, uint32_t n, size_t each)
{
	size_t bytes;
	void *p;

	if (n == 0)
		n = 1;
	if (*arr != NULL && *cap >= n)
		return 0;
	bytes = ((size_t)n * each + 63) & ~(size_t)63;
	p = aligned_alloc(64, bytes);
	if (p == NULL)
		return -ENOMEM;
	free(*arr);
	*arr = p;
	*cap = n;
	return 0;
}

/* The file is still as large as the mapping: reading it cannot fault. */
static int
check_size(const struct qgw_shm_view *v)
{
	struct stat st;

	if (v->fd < 0)
		return 0;
	if (fstat(v->fd, &st) < 0)
		return -errno;
	return (uint64_t)st.st_size < v->size ? -QGW_SHM_ESHRUNK : 0;
}

/*
 * A refresh that failed leaves nothing of what it rejected: the view holds
 * no element until a refresh succeeds (qgw_shm_sample() refreshes first).
 */
static void
forget(struct qgw_shm_view *v)
{
	memset(&v->hdr, 0, sizeof(v->hdr));
}

int
qgw_shm_refresh(struct qgw_shm_view *v)
{
	const struct qgw_shm_header *h = v->base;
	struct qgw_shm_header hdr;

	for (int tries = 0; tries < SNAPSHOT_TRIES; tries++) {
		uint64_t e1;
		int ret = check_size(v);

		if (ret < 0)
			return ret;
		e1 = __atomic_load_n(&h->epoch, __ATOMIC_ACQUIRE);
		/* What is not our segment at all must not look like a busy one. */
		if (memcmp(h->magic, QGW_SHM_MAGIC, 8) != 0)
			return -QGW_SHM_ECORRUPT;
		if (LD(h->version) != QGW_SHM_VERSION || LD(h->header_size) != sizeof(*h))
			return -QGW_SHM_EVERSION;
		if (__atomic_load_n(&h->in_progress, __ATOMIC_ACQUIRE)) {
			usleep(100);
			continue;
		}
		memcpy(&hdr, h, sizeof(hdr));
		ret = check_layout(&hdr, v->size);
		if (ret < 0) {
			forget(v);
			return ret;
		}
		v->hdr = hdr;
		if (reserve((void **)&v->ports, &v->cap[CAP_PORTS], v->hdr.nb_ports,
			    sizeof(*v->ports)) < 0 ||
		    reserve((void **)&v->drops, &v->cap[CAP_DROPS], v->hdr.nb_drops,
			    sizeof(*v->drops)) < 0 ||
		    reserve((void **)&v->workers, &v->cap[CAP_WORKERS], v->hdr.nb_workers,
			    sizeof(*v->workers)) < 0 ||
		    reserve((void **)&v->flows, &v->cap[CAP_FLOWS], v->hdr.nb_slots,
			    sizeof(*v->flows)) < 0 ||
		    reserve((void **)&v->desc, &v->cap[CAP_DESC], v->hdr.nb_desc,
			    sizeof(*v->desc)) < 0) {
			forget(v);
			return -ENOMEM;
		}
		memcpy(v->ports, (const char *)v->base + v->hdr.ports_off,
		       v->hdr.nb_ports * sizeof(*v->ports));
		memcpy(v->drops, (const char *)v->base + v->hdr.drops_off,
		       v->hdr.nb_drops * sizeof(*v->drops));
		memcpy(v->workers, (const char *)v->base + v->hdr.workers_off,
		       v->hdr.nb_workers * sizeof(*v->workers));
		memcpy(v->flows, (const char *)v->base + v->hdr.flows_off,
		       (size_t)v->hdr.nb_slots * sizeof(*v->flows));
		memcpy(v->desc, (const char *)v->base + v->hdr.desc_off,
		       v->hdr.nb_desc * sizeof(*v->desc));
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&h->in_progress, __ATOMIC_RELAXED) ||
		    __atomic_load_n(&h->epoch, __ATOMIC_RELAXED) != e1)
			continue;
		terminate_strings(v);
		ret = check_desc(v);
		if (ret < 0)
			forget(v);
		return ret;
	}
	forget(v);
	return -EAGAIN;
}

int
qgw_shm_open_memory(const void *base, size_t size, struct qgw_shm_view *v)
{
	int ret;

	memset(v, 0, sizeof(*v));
	v->fd = -1;
	if (base == NULL || size < sizeof(struct qgw_shm_header) || ((uintptr_t)base & 63) != 0)
		return -QGW_SHM_ECORRUPT;
	v->base = base;
	v->size = size;
	ret = qgw_shm_refresh(v);
	if (ret < 0)
		qgw_shm_close_view(v);
	return ret;
}

int
qgw_shm_open_view(const char *name, struct qgw_shm_view *v)
{
	char path[QGW_SHM_NAME_MAX + 1];
	struct stat st;
	void *base;
	int fd, ret;

	memset(v, 0, sizeof(*v));
	v->fd = -1;
	if (name[0] == '\0' || strchr(name, '/') != NULL || strlen(name) >= QGW_SHM_NAME_MAX - 1)
		return -EINVAL;
	snprintf(path, sizeof(path), "/%s", name);
	/* O_NONBLOCK: a FIFO planted at the name must not hang the reader */
	fd = shm_open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0);
	if (fd < 0)
		return errno == ELOOP ? -QGW_SHM_ECORRUPT : -errno;
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	if (!S_ISREG(st.st_mode) || (size_t)st.st_size < sizeof(struct qgw_shm_header)) {
		close(fd);
		return -QGW_SHM_ECORRUPT;
	}
	base = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED) {
		ret = -errno;
		close(fd);
		return ret;
	}
	v->base = base;
	v->size = (size_t)st.st_size;
	v->fd = fd;
	v->ino = (uint64_t)st.st_ino;
	v->owner = (uint32_t)st.st_uid;
	ret = qgw_shm_refresh(v);
	if (ret < 0)
		qgw_shm_close_view(v);
	return ret;
}

/* ---- counters -------------------------------------------------------------- */

const struct qgw_shm_counter *
qgw_shm_desc(const struct qgw_shm_view *v, unsigned int f, uint32_t j)
{
	if (f >= QGW_FAM__MAX || j >= v->hdr.fam[f].nb)
		return NULL;
	return &v->desc[v->hdr.fam[f].first + j];
}

int
qgw_shm_find(const struct qgw_shm_view *v, unsigned int f, const char *name)
{
	if (f >= QGW_FAM__MAX)
		return -1;
	for (uint32_t j = 0; j < v->hdr.fam[f].nb; j++)
		if (strcmp(qgw_shm_desc(v, f, j)->name, name) == 0)
			return (int)j;
	return -1;
}

const uint64_t *
qgw_sample_elem(const struct qgw_sample *s, unsigned int f, uint32_t i)
{
	if (f >= QGW_FAM__MAX || i >= s->nb_elems[f] || s->val[f] == NULL)
		return NULL;
	return s->val[f] + (size_t)i * s->width[f];
}

void
qgw_sample_free(struct qgw_sample *s)
{
	for (unsigned int f = 0; f < QGW_FAM__MAX; f++)
		free(s->val[f]);
	free(s->worker_rx);
	free(s->slot_gen);
	memset(s, 0, sizeof(*s));
}

static int
grow(void **p, size_t *cap, size_t bytes)
{
	void *n;

	if (bytes == 0)
		bytes = 8;
	if (*p != NULL && *cap >= bytes)
		return 0;
	n = realloc(*p, bytes);
	if (n == NULL)
		return -ENOMEM;
	*p = n;
	*cap = bytes;
	return 0;
}

/* Combine one element's counters (and drops) into out. */
static void
add_elem(const struct qgw_shm_view *v, unsigned int f, const char *elem, uint64_t *out)
{
	const struct qgw_shm_family *fam = &v->hdr.fam[f];

	for (uint32_t j = 0; j < fam->nb; j++) {
		const struct qgw_shm_counter *d = &v->desc[fam->first + j];
		uint64_t x = LD(*(const uint64_t *)(elem + d->offset));

		if (d->kind == QGW_KIND_SUM)
			out[j] += x;
		else if (d->kind == QGW_KIND_MAX)
			out[j] = x > out[j] ? x : out[j];
		else
			out[j] = x;
	}
	if (fam->drop_off != UINT32_MAX)
		for (uint32_t r = 0; r < v->hdr.nb_drops; r++)
			out[fam->nb + r] += LD(*(const uint64_t *)(elem + fam->drop_off + 8 * r));
}

static int
sample_alloc(const struct qgw_shm_view *v, struct qgw_sample *s)
{
	const struct qgw_shm_header *h = &v->hdr;

	s->nb_elems[QGW_FAM_PORT] = h->nb_ports;
	s->nb_elems[QGW_FAM_FLOW] = h->nb_slots * h->nb_ports;
	s->nb_elems[QGW_FAM_WORKER] = h->nb_workers;
	s->nb_elems[QGW_FAM_NIC] = h->nb_ports;
	for (unsigned int f = 0; f < QGW_FAM__MAX; f++) {
		s->width[f] = h->fam[f].nb + (h->fam[f].drop_off != UINT32_MAX ? h->nb_drops : 0);
		if (grow((void **)&s->val[f], &s->cap[f],
			 (size_t)s->nb_elems[f] * s->width[f] * sizeof(uint64_t)) < 0)
			return -ENOMEM;
		memset(s->val[f], 0, (size_t)s->nb_elems[f] * s->width[f] * sizeof(uint64_t));
	}
	if (grow((void **)&s->worker_rx, &s->cap[QGW_FAM__MAX],
		 (size_t)(h->nb_workers + 1) * sizeof(uint64_t)) < 0)
		return -ENOMEM;
	free(s->slot_gen);
	s->slot_gen = calloc(h->nb_slots + 1, sizeof(*s->slot_gen));
	if (s->slot_gen == NULL)
		return -ENOMEM;
	memset(s->worker_rx, 0, (size_t)(h->nb_workers + 1) * sizeof(uint64_t));
	return 0;
}

static void
sample_read(const struct qgw_shm_view *v, struct qgw_sample *s)
{
	const struct qgw_shm_header *h = &v->hdr;
	const struct qgw_shm_family *fp = &h->fam[QGW_FAM_PORT], *ff = &h->fam[QGW_FAM_FLOW];
	const struct qgw_shm_family *fw = &h->fam[QGW_FAM_WORKER], *fn = &h->fam[QGW_FAM_NIC];
	const char *base = v->base;
	int rx = qgw_shm_find(v, QGW_FAM_PORT, "rx_packets");

	for (uint32_t w = 0; w < h->nb_workers; w++) {
		const char *blk = base + h->counters_off + (uint64_t)w * h->counters_stride;

		add_elem(v, QGW_FAM_WORKER, blk + fw->off,
			 s->val[QGW_FAM_WORKER] + (size_t)w * s->width[QGW_FAM_WORKER]);
		for (uint32_t p = 0; p < h->nb_ports; p++) {
			const char *e = blk + fp->off + (uint64_t)p * fp->stride;

			add_elem(v, QGW_FAM_PORT, e,
				 s->val[QGW_FAM_PORT] + (size_t)p * s->width[QGW_FAM_PORT]);
			if (rx >= 0)
				s->worker_rx[w] += LD(*(const uint64_t *)(
					e + v->desc[fp->first + (uint32_t)rx].offset));
		}
		for (uint32_t sl = 0; sl < h->nb_slots; sl++) {
			if (!v->flows[sl].active)
				continue;
			for (uint32_t p = 0; p < h->nb_ports; p++) {
				uint64_t i = (uint64_t)sl * h->nb_ports + p;

				add_elem(v, QGW_FAM_FLOW, blk + ff->off + i * ff->stride,
					 s->val[QGW_FAM_FLOW] + i * s->width[QGW_FAM_FLOW]);
			}
		}
	}
	for (uint32_t p = 0; p < h->nb_ports; p++)
		add_elem(v, QGW_FAM_NIC, base + fn->off + (uint64_t)p * fn->stride,
			 s->val[QGW_FAM_NIC] + (size_t)p * s->width[QGW_FAM_NIC]);
	for (uint32_t sl = 0; sl < h->nb_slots; sl++)
		s->slot_gen[sl] = v->flows[sl].active ? v->flows[sl].gen : 0;
}

int
qgw_shm_sample(struct qgw_shm_view *v, struct qgw_sample *s)
{
	const struct qgw_shm_header *h = v->base;

	if (v->hdr.version != QGW_SHM_VERSION) { /* the last refresh failed */
		int ret = qgw_shm_refresh(v);

		if (ret < 0)
			return ret;
	}
	for (int tries = 0; tries < SNAPSHOT_TRIES; tries++) {
		int ret = check_size(v);

		if (ret < 0)
			return ret;
		if (sample_alloc(v, s) < 0)
			return -ENOMEM;
		s->t = (double)qgw_mono_ns() / 1e9;
		sample_read(v, s);
		s->ino = v->ino;
		s->pid = v->hdr.pid;
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&h->epoch, __ATOMIC_ACQUIRE) == v->hdr.epoch &&
		    !__atomic_load_n(&h->in_progress, __ATOMIC_ACQUIRE))
			return 0;
		ret = qgw_shm_refresh(v);
		if (ret < 0)
			return ret;
	}
	return -EAGAIN;
}

const struct qgw_event_ring *
qgw_shm_view_events(const struct qgw_shm_view *v, unsigned int w, unsigned int p)
{
	return (const struct qgw_event_ring *)((const char *)v->base + v->hdr.events_off) +
	       (size_t)w * v->hdr.nb_ports + p;
}

void
qgw_shm_close_view(struct qgw_shm_view *v)
{
	if (v->base != NULL && v->fd >= 0)
		munmap((void *)v->base, v->size);
	if (v->fd >= 0)
		close(v->fd);
	free(v->ports);
	free(v->drops);
	free(v->workers);
	free(v->flows);
	free(v->desc);
	memset(v, 0, sizeof(*v));
	v->fd = -1;
}

/* ---- liveness ---------------------------------------------------------------- */

/* State letter and start time (fields 3 and 22) of /proc/PID/stat. */
static int
proc_stat(uint32_t pid, char *state, uint64_t *start)
{
	char path[48], buf[1024], *p;
	unsigned long long st = 0;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%u/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	p = strrchr(buf, ')'); /* the command name may hold anything */
	if (p == NULL || sscanf(p + 1, " %c %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s "
				"%*s %*s %*s %*s %*s %llu",
				state, &st) != 2)
		return -EIO;
	*start = st;
	return 0;
}

uint64_t
qgw_process_start(void)
{
	uint64_t start;
	char state;

	return proc_stat((uint32_t)getpid(), &state, &start) == 0 ? start : 0;
}

int
qgw_process_alive(uint32_t pid, uint64_t start)
{
	uint64_t st;
	char state;
	int ret;

	if (pid == 0 || pid > PID_MAX)
		return 0;
	ret = proc_stat(pid, &state, &st);
	if (ret == -ENOENT || ret == -ESRCH)
		return 0;
	if (ret < 0) /* no /proc: the kernel still knows */
		return kill((pid_t)pid, 0) == 0 || errno == EPERM ? 1 : 0;
	if (state == 'Z' || state == 'X' || state == 'x' || (start != 0 && st != start))
		return 0;
	return state == 'T' || state == 't' ? 2 : 1;
}

void
qgw_shm_liveness(const struct qgw_shm_view *v, struct qgw_liveness *l)
{
	const struct qgw_shm_header *h = v->base;
	uint64_t hb = __atomic_load_n(&h->heartbeat, __ATOMIC_ACQUIRE), now = qgw_mono_ns();
	uint32_t state = __atomic_load_n(&h->state, __ATOMIC_ACQUIRE);
	bool future = hb > now + 1000000000u; /* not a heartbeat of this machine */
	int alive;

	l->heartbeat_age = hb >= now ? 0 : (double)(now - hb) / 1e9;
	if (state == QGW_SHM_STOPPED) {
		l->state = QGW_LIVE_STOPPED;
		return;
	}
	alive = qgw_process_alive(v->hdr.pid, v->hdr.pid_start);
	if (alive == 0)
		l->state = QGW_LIVE_DEAD;
	else if (alive == 2 || future || l->heartbeat_age > QGW_HEARTBEAT_STALE_S)
		l->state = QGW_LIVE_STALLED;
	else
		l->state = state == QGW_SHM_RUNNING ? QGW_LIVE_RUNNING : QGW_LIVE_STARTING;
}

const char *
qgw_live_name(enum qgw_live state)
{
	switch (state) {
	case QGW_LIVE_STARTING:
		return "starting";
	case QGW_LIVE_RUNNING:
		return "running";
	case QGW_LIVE_STALLED:
		return "stalled";
	case QGW_LIVE_DEAD:
		return "dead";
	case QGW_LIVE_STOPPED:
		return "stopped";
	}
	return "unknown";
}
