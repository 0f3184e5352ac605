/*
 * Stats segment writer (see qgw_shm.h): creates the POSIX shared-memory
 * object under a private name and renames it into place, lays out header,
 * directory, counter directory and counter blocks, and keeps the directory
 * up to date with the seqlock-like in_progress/epoch bracket. Control plane
 * only.
 */
#include "qgw_shm.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "qgw_drop.h"

#define SHM_DIR "/dev/shm/"

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

static const char *
user_name(uid_t uid, char *buf, size_t len)
{
	struct passwd *pw = getpwuid(uid);

	if (pw != NULL)
		snprintf(buf, len, "%s", pw->pw_name);
	else
		snprintf(buf, len, "uid %u", (unsigned int)uid);
	return buf;
}

/*
 * May the segment /dev/shm/name be replaced? Only a file of our own user whose
 * gateway is gone or stopped. 0: yes (or nothing there); otherwise a message.
 */
static int
check_existing(const char *name, char *msg, size_t msglen)
{
	char full[QGW_SHM_NAME_MAX + 16], who[32], me[32];
	struct qgw_shm_view v;
	struct qgw_liveness l;
	struct stat st;

	snprintf(full, sizeof(full), SHM_DIR "%s", name);
	if (lstat(full, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(msg, msglen, "cannot look at the existing stats segment %s: %s", full,
			 strerror(errno));
		return -errno;
	}
	if (st.st_uid != geteuid() || !S_ISREG(st.st_mode)) {
		snprintf(msg, msglen,
			 "stats segment %s exists and belongs to %s, not to this gateway's user "
			 "(%s): a segment the gateway did not create is never trusted; remove it "
			 "(rm %s) or give this gateway another --stats-name",
			 full, user_name(st.st_uid, who, sizeof(who)),
			 user_name(geteuid(), me, sizeof(me)), full);
		return -EEXIST;
	}
	/* Ours: a live gateway keeps it; anything else (stopped, dead, not a
	 * segment, another layout) is replaced. */
	if (qgw_shm_open_view(name, &v) == 0) {
		qgw_shm_liveness(&v, &l);
		if (l.state != QGW_LIVE_DEAD && l.state != QGW_LIVE_STOPPED &&
		    v.hdr.pid != (uint32_t)getpid()) {
			snprintf(msg, msglen,
				 "stats segment /dev/shm/%s belongs to a running gateway (pid %u, "
				 "%s); stop it or give this one another --stats-name",
				 name, v.hdr.pid, qgw_live_name(l.state));
			qgw_shm_close_view(&v);
			return -EEXIST;
		}
		qgw_shm_close_view(&v);
	}
	return 0;
}

static size_t
align64(size_t x)
{
	return (x + 63) & ~(size_t)63;
}

/* The counter directory: descriptors and where each family lives. */
static void
lay_out_counters(struct qgw_shm_header *h, void *base, size_t desc_off, size_t nic_off)
{
	struct qgw_shm_counter *desc = (struct qgw_shm_counter *)((char *)base + desc_off);
	uint32_t n = 0;

	h->desc_off = desc_off;
	for (unsigned int f = 0; f < QGW_FAM__MAX; f++) {
		uint32_t nb;
		const struct qgw_shm_counter *d = qgw_counter_list(f, &nb);
		struct qgw_shm_family *fam = &h->fam[f];

		memcpy(&desc[n], d, nb * sizeof(*d));
		fam->first = n;
		fam->nb = nb;
		fam->drop_off = UINT32_MAX;
		n += nb;
		switch (f) {
		case QGW_FAM_PORT:
			fam->off = offsetof(struct qgw_worker_counters, port);
			fam->stride = sizeof(struct qgw_port_counters);
			fam->size = sizeof(struct qgw_port_counters);
			fam->drop_off = offsetof(struct qgw_port_counters, drop);
			fam->nb_elems = QGW_NB_PORTS;
			break;
		case QGW_FAM_FLOW:
			fam->off = offsetof(struct qgw_worker_counters, flow);
			fam->stride = sizeof(struct qgw_flow_counters);
			fam->size = sizeof(struct qgw_flow_counters);
			fam->drop_off = offsetof(struct qgw_flow_counters, drop);
			fam->nb_elems = QGW_MAX_SLOTS * QGW_NB_PORTS;
			break;
		case QGW_FAM_WORKER:
			fam->off = 0;
			fam->stride = sizeof(struct qgw_worker_counters);
			fam->size = offsetof(struct qgw_worker_counters, port);
			fam->nb_elems = 1;
			break;
		case QGW_FAM_NIC:
			fam->off = nic_off;
			fam->stride = sizeof(struct qgw_nic_counters);
			fam->size = sizeof(struct qgw_nic_counters);
			fam->nb_elems = QGW_NB_PORTS;
			break;
		}
	}
	h->nb_desc = n;
}

static uint32_t
nb_descriptors(void)
{
	uint32_t total = 0, nb;

	for (unsigned int f = 0; f < QGW_FAM__MAX; f++) {
		qgw_counter_list(f, &nb);
		total += nb;
	}
	return total;
}

struct qgw_shm *
qgw_shm_create(const char *name, const char *group, unsigned int nb_workers, char *msg,
	       size_t msglen)
{
	static unsigned int tmp_seq;
	char tmp[64], from[96], to[96];
	struct qgw_shm_header *h;
	struct qgw_shm *s;
	size_t off, size;
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
	err = check_existing(name, msg, msglen);
	if (err < 0) {
		errno = -err;
		return NULL;
	}

	off = align64(sizeof(*h));
	size_t ports_off = off;
	off = align64(off + QGW_NB_PORTS * sizeof(struct qgw_shm_port));
	size_t drops_off = off;
	off = align64(off + QGW_DROP__MAX * sizeof(struct qgw_shm_drop));
	size_t desc_off = off;
	off = align64(off + nb_descriptors() * sizeof(struct qgw_shm_counter));
	size_t nic_off = off;
	off = align64(off + QGW_NB_PORTS * sizeof(struct qgw_nic_counters));
	size_t workers_off = off;
	off = align64(off + nb_workers * sizeof(struct qgw_shm_worker));
	size_t flows_off = off;
	off = align64(off + QGW_MAX_SLOTS * sizeof(struct qgw_shm_flow));
	size_t stride = align64(sizeof(struct qgw_worker_counters));
	size_t counters_off = off;
	off = align64(off + nb_workers * stride);
	size_t events_off = off;
	size = off + (size_t)nb_workers * QGW_NB_PORTS * sizeof(struct qgw_event_ring);

	/* Made under a name of our own, O_EXCL, then renamed into place: what
	 * is at the name afterwards is what we made. */
	snprintf(tmp, sizeof(tmp), "/.qinqgw-%d-%u", (int)getpid(), tmp_seq++);
	shm_unlink(tmp);
	fd = shm_open(tmp, O_CREAT | O_EXCL | O_RDWR | O_NOFOLLOW, 0640);
	if (fd < 0) {
		snprintf(msg, msglen, "cannot create stats segment /dev/shm%s: %s", tmp,
			 strerror(errno));
		return NULL;
	}
	if (fchmod(fd, 0640) < 0 || (gid != (gid_t)-1 && fchown(fd, (uid_t)-1, gid) < 0) ||
	    ftruncate(fd, (off_t)size) < 0) {
		err = errno;
		snprintf(msg, msglen, "cannot set up stats segment /dev/shm/%s: %s", name,
			 strerror(err));
		close(fd);
		shm_unlink(tmp);
		errno = err;
		return NULL;
	}
	base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	err = errno;
	close(fd);
	if (base == MAP_FAILED) {
		snprintf(msg, msglen, "cannot map stats segment /dev/shm/%s: %s", name,
			 strerror(err));
		shm_unlink(tmp);
		errno = err;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		munmap(base, size);
		shm_unlink(tmp);
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
	h->start_mono = qgw_mono_ns();
	h->heartbeat = h->start_mono;
	h->pid = (uint32_t)getpid();
	h->pid_start = qgw_process_start();
	h->uid = (uint32_t)geteuid();
	h->nb_ports = QGW_NB_PORTS;
	h->nb_workers = nb_workers;
	h->nb_slots = QGW_MAX_SLOTS;
	h->nb_drops = QGW_DROP__MAX;
	snprintf(h->version_str, sizeof(h->version_str), "%s", QGW_VERSION);
	h->ports_off = ports_off;
	h->drops_off = drops_off;
	h->workers_off = workers_off;
	h->flows_off = flows_off;
	h->counters_off = counters_off;
	h->counters_stride = stride;
	h->events_off = events_off;
	lay_out_counters(h, base, desc_off, nic_off);
	for (unsigned int r = 0; r < QGW_DROP__MAX; r++) {
		struct qgw_shm_drop *d = (struct qgw_shm_drop *)((char *)base + drops_off) + r;

		snprintf(d->name, sizeof(d->name), "%s", qgw_drop_name(r));
		snprintf(d->help, sizeof(d->help), "%s", qgw_drop_help(r));
	}
	/* The magic goes last: a reader never sees a half-made header as valid. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	memcpy(h->magic, QGW_SHM_MAGIC, 8);

	snprintf(from, sizeof(from), SHM_DIR "%s", tmp + 1);
	snprintf(to, sizeof(to), SHM_DIR "%s", name);
	if (rename(from, to) < 0) {
		struct stat st;
		char who[32];

		err = errno;
		if (lstat(to, &st) == 0 && st.st_uid != geteuid())
			snprintf(msg, msglen,
				 "stats segment /dev/shm/%s belongs to %s, not to this gateway's "
				 "user: remove it or give this gateway another --stats-name",
				 name, user_name(st.st_uid, who, sizeof(who)));
		else
			snprintf(msg, msglen, "cannot put stats segment in place at /dev/shm/%s: %s",
				 name, strerror(err));
		shm_unlink(tmp);
		qgw_shm_close(s);
		errno = err == EPERM ? EEXIST : err;
		return NULL;
	}
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

struct qgw_shm_port *
qgw_shm_port(struct qgw_shm *s, unsigned int port)
{
	return (struct qgw_shm_port *)((char *)s->base + s->hdr->ports_off) + port;
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
		       const uint32_t *gens, uint64_t generation)
{
	struct qgw_shm_header *h = s->hdr;
	struct qgw_shm_flow *flows = (struct qgw_shm_flow *)((char *)s->base + h->flows_off);

	dir_begin(h);
	for (unsigned int p = 0; p < QGW_NB_PORTS; p++) {
		struct qgw_shm_port *port = qgw_shm_port(s, p);

		snprintf(port->name, sizeof(port->name), "%s", cfg->port[p].name);
		snprintf(port->device, sizeof(port->device), "%s", cfg->port[p].device);
		port->max_frame = cfg->port[p].max_frame;
	}
	for (uint32_t i = 0; i < QGW_MAX_SLOTS; i++)
		flows[i].active = 0;
	for (uint32_t i = 0; i < cfg->nb_flows; i++) {
		uint32_t slot = slots ? slots[i] : i;
		struct qgw_shm_flow *f = &flows[slot];

		snprintf(f->name, sizeof(f->name), "%s", cfg->flows[i].name);
		for (unsigned int p = 0; p < QGW_NB_PORTS; p++)
			qgw_stack_format(&cfg->flows[i].stack[p], f->stack[p], sizeof(f->stack[p]));
		f->gen = gens ? gens[slot] : 1;
		f->active = 1;
	}
	h->generation = generation;
	dir_end(h);
}

void
qgw_shm_set_link(struct qgw_shm *s, unsigned int port, bool up, uint32_t speed, bool full_duplex)
{
	struct qgw_shm_header *h = s->hdr;
	struct qgw_shm_port *p = qgw_shm_port(s, port);

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
qgw_shm_set_nic(struct qgw_shm *s, unsigned int port, const struct qgw_nic_counters *nic)
{
	struct qgw_nic_counters *d =
		(struct qgw_nic_counters *)((char *)s->base + s->hdr->fam[QGW_FAM_NIC].off) + port;

#define NIC_STORE(field, name, prom, label, kind, column, help)                                    \
	__atomic_store_n(&d->field, nic->field, __ATOMIC_RELAXED);
	QGW_NIC_COUNTERS(NIC_STORE)
#undef NIC_STORE
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
	qgw_shm_heartbeat(s);
}

void
qgw_shm_heartbeat(struct qgw_shm *s)
{
	__atomic_store_n(&s->hdr->heartbeat, qgw_mono_ns(), __ATOMIC_RELEASE);
}

void
qgw_shm_close(struct qgw_shm *s)
{
	if (s == NULL)
		return;
	munmap(s->base, s->size);
	free(s);
}
