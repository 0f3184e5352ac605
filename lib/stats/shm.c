/*
 * Stats segment writer (see qgw_shm.h): creates the POSIX shared-memory
 * object, lays out header, directory and counter blocks, and keeps the
 * directory up to date with the seqlock-like in_progress/epoch bracket.
 * Control plane only.
 */
#include "qgw_shm.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "qgw_drop.h"

static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static bool
shm_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n >= QGW_SHM_NAME_MAX - 1)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || c == '.'))
			return false;
	}
	return name[0] != '.';
}

/* Is the segment owned by a gateway process that still runs? */
static pid_t
live_owner(const char *path)
{
	struct qgw_shm_header h;
	pid_t pid = 0;
	int fd = shm_open(path, O_RDONLY, 0);

	if (fd < 0)
		return 0;
	if (pread(fd, &h, sizeof(h), 0) == (ssize_t)sizeof(h) &&
	    memcmp(h.magic, QGW_SHM_MAGIC, 8) == 0 && h.state != QGW_SHM_STOPPED &&
	    h.pid != 0 && (pid_t)h.pid != getpid() &&
	    (kill((pid_t)h.pid, 0) == 0 || errno == EPERM))
		pid = (pid_t)h.pid;
	close(fd);
	return pid;
}

static size_t
align64(size_t x)
{
	return (x + 63) & ~(size_t)63;
}

struct qgw_shm *
qgw_shm_create(const char *name, const char *group, unsigned int nb_workers, char *msg,
	       size_t msglen)
{
	char path[QGW_SHM_NAME_MAX + 1];
	struct qgw_shm_header *h;
	struct qgw_shm *s;
	size_t off, size;
	pid_t owner;
	gid_t gid = (gid_t)-1;
	void *base;
	int fd, err;

	if (!shm_name_ok(name)) {
		snprintf(msg, msglen,
			 "stats segment name \"%s\": use 1 to %d letters, digits, '_', '-', '.'",
			 name, QGW_SHM_NAME_MAX - 2);
		errno = EINVAL;
		return NULL;
	}
	if (group != NULL) {
		struct group *g = getgrnam(group);

		if (g == NULL) {
			snprintf(msg, msglen, "stats group \"%s\" does not exist", group);
			errno = ENOENT;
			return NULL;
		}
		gid = g->gr_gid;
	}
	snprintf(path, sizeof(path), "/%s", name);
	owner = live_owner(path);
	if (owner != 0) {
		snprintf(msg, msglen,
			 "stats segment /dev/shm/%s belongs to a running gateway (pid %d); stop "
			 "it or give this one another --stats-name",
			 name, (int)owner);
		errno = EEXIST;
		return NULL;
	}

	off = align64(sizeof(*h));
	size_t ports_off = off;
	off = align64(off + QGW_NB_PORTS * sizeof(struct qgw_shm_port));
	size_t drops_off = off;
	off = align64(off + QGW_DROP__MAX * sizeof(struct qgw_shm_drop));
	size_t workers_off = off;
	off = align64(off + nb_workers * sizeof(struct qgw_shm_worker));
	size_t flows_off = off;
	off = align64(off + QGW_MAX_FLOWS * sizeof(struct qgw_shm_flow));
	size_t stride = align64(sizeof(struct qgw_worker_counters));
	size_t counters_off = off;
	off = align64(off + nb_workers * stride);
	size_t events_off = off;
	size = off + (size_t)nb_workers * QGW_NB_PORTS * sizeof(struct qgw_event_ring);

	/* A stopped gateway's segment is replaced, never reused in place. */
	if (shm_unlink(path) < 0 && errno != ENOENT) {
		snprintf(msg, msglen, "cannot remove the old stats segment /dev/shm/%s: %s", name,
			 strerror(errno));
		return NULL;
	}
	fd = shm_open(path, O_CREAT | O_EXCL | O_RDWR, 0640);
	if (fd < 0) {
		snprintf(msg, msglen, "cannot create stats segment /dev/shm/%s: %s", name,
			 strerror(errno));
		return NULL;
	}
	if (fchmod(fd, 0640) < 0 || (gid != (gid_t)-1 && fchown(fd, (uid_t)-1, gid) < 0) ||
	    ftruncate(fd, (off_t)size) < 0) {
		err = errno;
		snprintf(msg, msglen, "cannot set up stats segment /dev/shm/%s: %s", name,
			 strerror(err));
		close(fd);
		shm_unlink(path);
		errno = err;
		return NULL;
	}
	base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	err = errno;
	close(fd);
	if (base == MAP_FAILED) {
		snprintf(msg, msglen, "cannot map stats segment /dev/shm/%s: %s", name,
			 strerror(err));
		shm_unlink(path);
		errno = err;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		munmap(base, size);
		errno = ENOMEM;
		return NULL;
	}
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->base = base;
	s->size = size;
	s->hdr = h = base;

	h->version = QGW_SHM_VERSION;
	h->header_size = sizeof(*h);
	h->size = size;
	h->state = QGW_SHM_STARTING;
	h->start_time = now_ns();
	h->update_time = h->start_time;
	h->pid = (uint32_t)getpid();
	h->nb_ports = QGW_NB_PORTS;
	h->nb_workers = nb_workers;
	h->nb_slots = QGW_MAX_FLOWS;
	h->nb_drops = QGW_DROP__MAX;
	snprintf(h->version_str, sizeof(h->version_str), "%s", QGW_VERSION);
	h->ports_off = ports_off;
	h->drops_off = drops_off;
	h->workers_off = workers_off;
	h->flows_off = flows_off;
	h->counters_off = counters_off;
	h->counters_stride = stride;
	h->events_off = events_off;
	for (unsigned int r = 0; r < QGW_DROP__MAX; r++) {
		struct qgw_shm_drop *d = (struct qgw_shm_drop *)((char *)base + drops_off) + r;

		snprintf(d->name, sizeof(d->name), "%s", qgw_drop_name(r));
		snprintf(d->help, sizeof(d->help), "%s", qgw_drop_help(r));
	}
	/* The magic goes last: a reader never sees a half-made header as valid. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	memcpy(h->magic, QGW_SHM_MAGIC, 8);
	return s;
}

struct qgw_worker_counters *
qgw_shm_counters(struct qgw_shm *s, unsigned int i)
{
	return (struct qgw_worker_counters *)((char *)s->base + s->hdr->counters_off +
					      i * s->hdr->counters_stride);
}

struct qgw_event_ring *
qgw_shm_events(struct qgw_shm *s, unsigned int i, unsigned int p)
{
	return (struct qgw_event_ring *)((char *)s->base + s->hdr->events_off) +
	       i * QGW_NB_PORTS + p;
}

struct qgw_shm_worker *
qgw_shm_worker(struct qgw_shm *s, unsigned int i)
{
	return (struct qgw_shm_worker *)((char *)s->base + s->hdr->workers_off) + i;
}

static void
dir_begin(struct qgw_shm_header *h)
{
	__atomic_store_n(&h->in_progress, 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

static void
dir_end(struct qgw_shm_header *h)
{
	h->update_time = now_ns();
	__atomic_store_n(&h->epoch, h->epoch + 1, __ATOMIC_RELEASE);
	__atomic_store_n(&h->in_progress, 0, __ATOMIC_RELEASE);
}

void
qgw_shm_publish_config(struct qgw_shm *s, const struct qgw_config *cfg, const uint32_t *slots,
		       uint64_t generation)
{
	struct qgw_shm_header *h = s->hdr;
	struct qgw_shm_port *ports = (struct qgw_shm_port *)((char *)s->base + h->ports_off);
	struct qgw_shm_flow *flows = (struct qgw_shm_flow *)((char *)s->base + h->flows_off);

	dir_begin(h);
	for (unsigned int p = 0; p < QGW_NB_PORTS; p++) {
		snprintf(ports[p].name, sizeof(ports[p].name), "%s", cfg->port[p].name);
		snprintf(ports[p].device, sizeof(ports[p].device), "%s", cfg->port[p].device);
		ports[p].max_frame = cfg->port[p].max_frame;
	}
	for (uint32_t i = 0; i < QGW_MAX_FLOWS; i++)
		flows[i].active = 0;
	for (uint32_t i = 0; i < cfg->nb_flows; i++) {
		struct qgw_shm_flow *f = &flows[slots ? slots[i] : i];

		snprintf(f->name, sizeof(f->name), "%s", cfg->flows[i].name);
		for (unsigned int p = 0; p < QGW_NB_PORTS; p++)
			qgw_stack_format(&cfg->flows[i].stack[p], f->stack[p], sizeof(f->stack[p]));
		f->active = 1;
	}
	h->generation = generation;
	dir_end(h);
}

void
qgw_shm_set_link(struct qgw_shm *s, unsigned int port, bool up, uint32_t speed, bool full_duplex)
{
	struct qgw_shm_header *h = s->hdr;
	struct qgw_shm_port *p = (struct qgw_shm_port *)((char *)s->base + h->ports_off) + port;

	if (p->link_up == (uint32_t)up && p->link_speed == speed &&
	    p->link_duplex == (uint32_t)full_duplex)
		return;
	dir_begin(h);
	/* The first state, read while starting, is not a transition. */
	if (h->state != QGW_SHM_STARTING && p->link_up != (uint32_t)up)
		p->link_changes++;
	p->link_up = up;
	p->link_speed = speed;
	p->link_duplex = full_duplex;
	dir_end(h);
}

void
qgw_shm_set_nic(struct qgw_shm *s, unsigned int port, uint64_t missed, uint64_t nombuf,
		uint64_t rx_errors, uint64_t tx_errors)
{
	struct qgw_shm_header *h = s->hdr;
	struct qgw_shm_port *p = (struct qgw_shm_port *)((char *)s->base + h->ports_off) + port;

	if (p->nic_rx_missed == missed && p->nic_rx_nombuf == nombuf &&
	    p->nic_rx_errors == rx_errors && p->nic_tx_errors == tx_errors)
		return;
	dir_begin(h);
	p->nic_rx_missed = missed;
	p->nic_rx_nombuf = nombuf;
	p->nic_rx_errors = rx_errors;
	p->nic_tx_errors = tx_errors;
	dir_end(h);
}

void
qgw_shm_set_state(struct qgw_shm *s, enum qgw_shm_state state)
{
	struct qgw_shm_header *h = s->hdr;

	dir_begin(h);
	h->state = state;
	if (state == QGW_SHM_STOPPED)
		h->stop_time = now_ns();
	dir_end(h);
}

void
qgw_shm_close(struct qgw_shm *s)
{
	if (s == NULL)
		return;
	munmap(s->base, s->size);
	free(s);
}
