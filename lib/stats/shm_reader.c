/*
 * Stats segment reader (see qgw_shm.h): maps the segment read-only, checks
 * magic, layout version and every offset against the segment size, and
 * copies the directory under the in_progress/epoch protocol. Never writes to
 * the segment and never waits on the gateway. Needs no DPDK at run time.
 */
#include "qgw_shm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define SNAPSHOT_TRIES 1000

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
	case EAGAIN:
		return "the stats directory kept changing; try again";
	default:
		return strerror(-err);
	}
}

/* Is [off, off + n * each) inside the segment? */
static bool
in_bounds(uint64_t size, uint64_t off, uint64_t n, uint64_t each)
{
	if (each != 0 && n > (UINT64_MAX - off) / each)
		return false;
	return off + n * each <= size && off >= sizeof(struct qgw_shm_header);
}

static int
check_layout(const struct qgw_shm_header *h, size_t size)
{
	if (memcmp(h->magic, QGW_SHM_MAGIC, 8) != 0)
		return -QGW_SHM_ECORRUPT;
	if (h->version != QGW_SHM_VERSION || h->header_size != sizeof(*h))
		return -QGW_SHM_EVERSION;
	if (h->nb_ports != QGW_NB_PORTS || h->nb_slots != QGW_MAX_FLOWS ||
	    h->nb_drops != QGW_DROP__MAX)
		return -QGW_SHM_EVERSION;
	if (h->size != size || h->nb_workers > RTE_MAX_LCORE ||
	    h->counters_stride < sizeof(struct qgw_worker_counters) ||
	    !in_bounds(size, h->ports_off, h->nb_ports, sizeof(struct qgw_shm_port)) ||
	    !in_bounds(size, h->drops_off, h->nb_drops, sizeof(struct qgw_shm_drop)) ||
	    !in_bounds(size, h->workers_off, h->nb_workers, sizeof(struct qgw_shm_worker)) ||
	    !in_bounds(size, h->flows_off, h->nb_slots, sizeof(struct qgw_shm_flow)) ||
	    (h->nb_workers > 0 &&
	     !in_bounds(size, h->counters_off + (h->nb_workers - 1) * h->counters_stride, 1,
			sizeof(struct qgw_worker_counters))) ||
	    !in_bounds(size, h->events_off, (uint64_t)h->nb_workers * h->nb_ports,
		       sizeof(struct qgw_event_ring)))
		return -QGW_SHM_ECORRUPT;
	return 0;
}

static void
terminate_strings(struct qgw_shm_view *v)
{
	for (uint32_t i = 0; i < v->hdr.nb_ports; i++) {
		v->ports[i].name[sizeof(v->ports[i].name) - 1] = '\0';
		v->ports[i].device[sizeof(v->ports[i].device) - 1] = '\0';
	}
	for (uint32_t i = 0; i < v->hdr.nb_drops; i++) {
		v->drops[i].name[sizeof(v->drops[i].name) - 1] = '\0';
		v->drops[i].help[sizeof(v->drops[i].help) - 1] = '\0';
	}
	for (uint32_t i = 0; i < v->hdr.nb_slots; i++) {
		struct qgw_shm_flow *f = &v->flows[i];

		f->name[sizeof(f->name) - 1] = '\0';
		for (unsigned int p = 0; p < QGW_NB_PORTS; p++)
			f->stack[p][QGW_SHM_STACK_MAX - 1] = '\0';
	}
	v->hdr.version_str[sizeof(v->hdr.version_str) - 1] = '\0';
}

int
qgw_shm_refresh(struct qgw_shm_view *v)
{
	const struct qgw_shm_header *h = v->base;

	for (int tries = 0; tries < SNAPSHOT_TRIES; tries++) {
		uint64_t e1 = __atomic_load_n(&h->epoch, __ATOMIC_ACQUIRE);
		int ret;

		/* What is not our segment at all must not look like a busy one. */
		if (memcmp(h->magic, QGW_SHM_MAGIC, 8) != 0)
			return -QGW_SHM_ECORRUPT;
		if (h->version != QGW_SHM_VERSION || h->header_size != sizeof(*h))
			return -QGW_SHM_EVERSION;
		if (__atomic_load_n(&h->in_progress, __ATOMIC_ACQUIRE)) {
			usleep(100);
			continue;
		}
		memcpy(&v->hdr, h, sizeof(v->hdr));
		ret = check_layout(&v->hdr, v->size);
		if (ret < 0)
			return ret;
		if (v->ports == NULL) {
			v->ports = calloc(v->hdr.nb_ports, sizeof(*v->ports));
			v->drops = calloc(v->hdr.nb_drops, sizeof(*v->drops));
			v->workers = calloc(v->hdr.nb_workers + 1, sizeof(*v->workers));
			v->flows = calloc(v->hdr.nb_slots, sizeof(*v->flows));
			if (!v->ports || !v->drops || !v->workers || !v->flows)
				return -ENOMEM;
		}
		memcpy(v->ports, (const char *)v->base + v->hdr.ports_off,
		       v->hdr.nb_ports * sizeof(*v->ports));
		memcpy(v->drops, (const char *)v->base + v->hdr.drops_off,
		       v->hdr.nb_drops * sizeof(*v->drops));
		memcpy(v->workers, (const char *)v->base + v->hdr.workers_off,
		       v->hdr.nb_workers * sizeof(*v->workers));
		memcpy(v->flows, (const char *)v->base + v->hdr.flows_off,
		       v->hdr.nb_slots * sizeof(*v->flows));
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&h->in_progress, __ATOMIC_RELAXED) ||
		    __atomic_load_n(&h->epoch, __ATOMIC_RELAXED) != e1)
			continue;
		terminate_strings(v);
		return 0;
	}
	return -EAGAIN;
}

int
qgw_shm_open_view(const char *name, struct qgw_shm_view *v)
{
	char path[QGW_SHM_NAME_MAX + 1];
	struct stat st;
	void *base;
	int fd, ret;

	memset(v, 0, sizeof(*v));
	if (name[0] == '\0' || strchr(name, '/') != NULL || strlen(name) >= QGW_SHM_NAME_MAX - 1)
		return -EINVAL;
	snprintf(path, sizeof(path), "/%s", name);
	fd = shm_open(path, O_RDONLY, 0);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	if ((size_t)st.st_size < sizeof(struct qgw_shm_header)) {
		close(fd);
		return -QGW_SHM_ECORRUPT;
	}
	base = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	ret = -errno;
	close(fd);
	if (base == MAP_FAILED)
		return ret;
	v->base = base;
	v->size = (size_t)st.st_size;
	ret = qgw_shm_refresh(v);
	if (ret < 0)
		qgw_shm_close_view(v);
	return ret;
}

void
qgw_shm_read_worker(const struct qgw_shm_view *v, unsigned int w, struct qgw_worker_counters *out)
{
	const struct qgw_worker_counters *b = (const struct qgw_worker_counters *)(
		(const char *)v->base + v->hdr.counters_off + w * v->hdr.counters_stride);

	qgw_counters_sum(out, &b, 1, v->hdr.nb_slots);
}

int
qgw_shm_read_counters(struct qgw_shm_view *v, struct qgw_worker_counters *sum)
{
	const struct qgw_shm_header *h = v->base;
	const struct qgw_worker_counters *blocks[RTE_MAX_LCORE];

	for (int tries = 0; tries < SNAPSHOT_TRIES; tries++) {
		int ret;

		for (uint32_t w = 0; w < v->hdr.nb_workers; w++)
			blocks[w] = (const struct qgw_worker_counters *)((const char *)v->base +
									  v->hdr.counters_off +
									  w * v->hdr.counters_stride);
		qgw_counters_sum(sum, blocks, v->hdr.nb_workers, v->hdr.nb_slots);
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
	       w * v->hdr.nb_ports + p;
}

void
qgw_shm_close_view(struct qgw_shm_view *v)
{
	if (v->base != NULL)
		munmap((void *)v->base, v->size);
	free(v->ports);
	free(v->drops);
	free(v->workers);
	free(v->flows);
	memset(v, 0, sizeof(*v));
}
