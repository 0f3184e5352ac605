/*
 * Live config changes (see qgw_runtime.h).
 *
 * Lossless by construction: a worker reads the table pointer once per loop
 * iteration, so each burst is handled entirely by the old or the new table,
 * and a flow present in both is handled identically by both. Counter slots:
 * a flow whose name and content are unchanged keeps its slot (and counters);
 * a new, renamed or changed flow gets a free slot, zeroed before the table
 * that uses it is published; a slot is freed only after every worker has
 * been quiescent since the table that used it was replaced.
 */
#include "qgw_runtime.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mempool.h>
#include <rte_pause.h>

#include "qgw_log.h"

static uint64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Before the table is published: the forensics record the slot's generation. */
static void
set_slot_gens(const struct qgw_runtime *rt, struct qgw_table *t, uint32_t nb, const uint32_t *slots)
{
	for (uint32_t f = 0; f < nb; f++)
		t->port[0].info[f].slot_gen = rt->slot_gen[slots[f]];
}

int
qgw_runtime_init(struct qgw_runtime *rt, struct qgw_config *cfg)
{
	rt->slots = calloc(cfg->nb_flows + 1, sizeof(*rt->slots));
	if (rt->slots == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; i < cfg->nb_flows; i++) {
		rt->slots[i] = i;
		rt->slot_used[i] = true;
		rt->slot_gen[i]++;
	}
	rt->next_slot = cfg->nb_flows % QGW_MAX_SLOTS;
	rt->generation = 1;
	rt->table = qgw_table_build(cfg, rt->slots, rt->generation, (int)rte_socket_id());
	if (rt->table == NULL)
		return -errno;
	set_slot_gens(rt, rt->table, cfg->nb_flows, rt->slots);
	rt->cfg = cfg;
	if (rt->shm != NULL)
		qgw_shm_publish_config(rt->shm, cfg, rt->slots, rt->slot_gen, rt->generation);
	return 0;
}

static void
swap_ports(struct qgw_config *c)
{
	struct qgw_port_cfg p = c->port[0];

	c->port[0] = c->port[1];
	c->port[1] = p;
	for (uint32_t i = 0; i < c->nb_flows; i++) {
		struct qgw_stack_cfg s = c->flows[i].stack[0];

		c->flows[i].stack[0] = c->flows[i].stack[1];
		c->flows[i].stack[1] = s;
	}
}

int
qgw_runtime_check(const struct qgw_runtime *rt, struct qgw_config *cand, struct qgw_errors *errs)
{
	const struct qgw_config *run = rt->cfg;
	size_t before = errs ? errs->nb : 0;
	int bad = 0;

	if (strcmp(cand->port[0].name, run->port[1].name) == 0 &&
	    strcmp(cand->port[1].name, run->port[0].name) == 0)
		swap_ports(cand);
	for (unsigned int p = 0; p < QGW_NB_PORTS; p++) {
		if (strcmp(cand->port[p].name, run->port[p].name) != 0) {
			qgw_errors_add(errs,
				       "/ports: the running ports are %s and %s; renaming a port "
				       "needs a restart",
				       run->port[0].name, run->port[1].name);
			bad = 1;
			break;
		}
		if (strcmp(cand->port[p].device, run->port[p].device) != 0) {
			qgw_errors_add(errs,
				       "/ports/%s/device: \"%s\" is not the running device \"%s\"; "
				       "changing a port's device needs a restart",
				       cand->port[p].name, cand->port[p].device, run->port[p].device);
			bad = 1;
		}
	}
	(void)before;
	return bad ? -EINVAL : 0;
}

/* Index of the running flow named `name`, or -1. */
static int64_t
find_flow(const struct qgw_config *c, json_t *index, const char *name)
{
	json_t *v = json_object_get(index, name);

	(void)c;
	return v ? json_integer_value(v) : -1;
}

static json_t *
name_index(const struct qgw_config *c)
{
	json_t *idx = json_object();

	for (uint32_t i = 0; i < c->nb_flows; i++)
		json_object_set_new(idx, c->flows[i].name, json_integer(i));
	return idx;
}

static bool
same_flow(const struct qgw_flow_cfg *a, const struct qgw_flow_cfg *b)
{
	/* Configs are calloc'ed and filled field by field: padding is zero. */
	return memcmp(a, b, sizeof(*a)) == 0;
}

static void
zero_slot(struct qgw_runtime *rt, uint32_t slot)
{
	for (unsigned int w = 0; w < rt->nb_workers; w++) {
		memset(&rt->counters[w]->flow[slot], 0, sizeof(rt->counters[w]->flow[slot]));
		/* a new flow starts with full ICMP buckets, not the old flow's */
		if (rt->workers != NULL && rt->workers[w].buckets != NULL)
			memset(&rt->workers[w].buckets[slot * QGW_NB_PORTS], 0,
			       QGW_NB_PORTS * sizeof(*rt->workers[w].buckets));
	}
	rt->slot_gen[slot]++;
}

static void
release(struct qgw_runtime *rt, const uint32_t *slots, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		rt->slot_used[slots[i]] = false;
}

/*
 * Free what no worker can still see, or keep it for qgw_runtime_tick().
 * Never waits long: workers report quiescence every loop round, so an old
 * table is usually free within microseconds; a stalled worker leaves it
 * deferred (qgw_runtime_retired() says when it is gone).
 */
static void
retire(struct qgw_runtime *rt, struct qgw_table *old, uint32_t *slots, uint32_t n)
{
	uint64_t token = rte_rcu_qsbr_start(rt->rcu);
	uint64_t end = mono_ns() + (uint64_t)QGW_RCU_SPIN_US * 1000u;

	while (rte_rcu_qsbr_check(rt->rcu, token, false) != 1) {
		if (mono_ns() > end) {
			/* qgw_runtime_apply() refuses before this can overflow */
			rt->deferred[rt->nb_deferred++] =
				(struct qgw_deferred){old, token, n, slots};
			return;
		}
		rte_pause();
	}
	qgw_table_free(old);
	release(rt, slots, n);
	free(slots);
}

bool
qgw_runtime_retired(const struct qgw_runtime *rt, uint64_t generation)
{
	for (unsigned int i = 0; i < rt->nb_deferred; i++)
		if (rt->deferred[i].table->generation < generation)
			return false;
	return true;
}

unsigned int
qgw_runtime_stalled(const struct qgw_runtime *rt, char *buf, size_t len)
{
	unsigned int n = 0;
	size_t off = 0;

	buf[0] = '\0';
	for (unsigned int i = 0; rt->shm != NULL && i < rt->nb_workers; i++) {
		const struct qgw_shm_worker *w = qgw_shm_worker(rt->shm, i);

		if (!__atomic_load_n(&w->stalled, __ATOMIC_RELAXED))
			continue;
		if (off < len)
			off += (size_t)snprintf(buf + off, len - off, "%sworker %u (lcore %u)",
						n ? ", " : "", i, w->lcore);
		n++;
	}
	return n;
}

int
qgw_runtime_fault(struct qgw_runtime *rt, int worker, uint32_t stall_ms, uint32_t hold_ms,
		  uint32_t control_ms)
{
	if (!rt->fault_injection)
		return -EPERM;
	if (stall_ms > 60000 || hold_ms > 60000 || control_ms > 60000)
		return -EINVAL;
	if (control_ms) {
		rt->control_stall_ms = control_ms;
		QGW_LOGT(worker, WARNING, "fault injection: the control plane freezes for %u ms",
			 control_ms);
	}
	if (stall_ms) {
		if (worker < 0 || (unsigned int)worker >= rt->nb_workers)
			return -EINVAL;
		rt->workers[worker].stall_ms = stall_ms;
		QGW_LOGT(worker, WARNING, "fault injection: worker %d stalls for %u ms", worker,
			 stall_ms);
	}
	if (hold_ms) {
		/* The workers take them: only they can empty their mempool caches. */
		struct rte_mempool *mp = rte_mempool_lookup("qgw_mbuf_s0");

		if (mp == NULL)
			return -EINVAL;
		for (unsigned int i = 0; i < rt->nb_workers; i++) {
			struct qgw_worker *w = &rt->workers[i];

			if (w->held == NULL) {
				w->held = calloc(mp->size, sizeof(*w->held));
				if (w->held == NULL)
					return -ENOMEM;
				w->pool = mp;
			}
			w->hold_ms = hold_ms;
		}
		rt->hold_until = mono_ns() + (uint64_t)hold_ms * 1000000u;
		QGW_LOGT(worker, WARNING, "fault injection: mbufs held by the workers for %u ms",
			 hold_ms);
	}
	return 0;
}

void
qgw_runtime_reap(struct qgw_runtime *rt)
{
	for (unsigned int i = 0; i < rt->nb_deferred;) {
		struct qgw_deferred *d = &rt->deferred[i];

		if (rte_rcu_qsbr_check(rt->rcu, d->token, false) == 1) {
			QGW_LOGT(config, INFO, "old flow table of generation %" PRIu64 " freed",
				 d->table->generation);
			qgw_table_free(d->table);
			release(rt, d->slots, d->nb_slots);
			rt->retired_total++;
			free(d->slots);
			*d = rt->deferred[--rt->nb_deferred];
			continue;
		}
		i++;
	}
}

void
qgw_runtime_tick(struct qgw_runtime *rt)
{
	if (rt->control_stall_ms != 0) {
		uint64_t end = mono_ns() + (uint64_t)rt->control_stall_ms * 1000000u;

		rt->control_stall_ms = 0;
		while (mono_ns() < end && !(rt->quit != NULL && *rt->quit))
			usleep(10000);
		QGW_LOGT(worker, WARNING, "fault injection: the control plane runs again");
	}
	if (rt->hold_until != 0 && mono_ns() >= rt->hold_until) {
		rt->hold_until = 0;
		QGW_LOGT(worker, WARNING, "fault injection: mbufs given back by the workers");
	}
	qgw_runtime_reap(rt);

	if (rt->confirm_deadline != 0 && mono_ns() >= rt->confirm_deadline) {
		struct qgw_config *back = rt->rollback;
		char msg[256];

		rt->rollback = NULL;
		rt->confirm_deadline = 0;
		if (qgw_runtime_apply(rt, back, "rollback: not confirmed in time", 0, msg,
				      sizeof(msg)) != 0) {
			QGW_LOGT(config, ERR, "rollback failed: %s", msg);
			qgw_config_free(back);
		}
	}
}

/*
 * A changed max_frame goes to the device (its MTU, max_frame - 14) and is
 * read back: a device that does not take it refuses the apply, with every
 * port put back as it was, instead of a max_frame the NIC does not enforce.
 */
static int
set_max_frames(struct qgw_runtime *rt, const struct qgw_config *old,
	       const struct qgw_config *cand, char *msg, size_t msglen)
{
	uint16_t before[QGW_NB_PORTS] = {0};
	bool changed[QGW_NB_PORTS] = {false};

	for (unsigned int p = 0; p < QGW_NB_PORTS; p++) {
		uint16_t want = (uint16_t)(cand->port[p].max_frame - 14), got = 0;
		int ret;

		if (cand->port[p].max_frame == old->port[p].max_frame)
			continue;
		if (rte_eth_dev_get_mtu(rt->port_id[p], &before[p]) != 0)
			before[p] = 0;
		changed[p] = true;
		ret = rte_eth_dev_set_mtu(rt->port_id[p], want);
		if (ret == 0)
			ret = rte_eth_dev_get_mtu(rt->port_id[p], &got);
		if (ret == 0 && got != want)
			ret = -EIO;
		if (ret == 0)
			continue;
		snprintf(msg, msglen,
			 "/ports/%s/max_frame: the device %s does not take %u (MTU %u: %s); changing "
			 "max_frame on it needs a restart",
			 cand->port[p].name, cand->port[p].device, cand->port[p].max_frame, want,
			 ret == -EIO ? "it reads back another MTU" : rte_strerror(-ret));
		/* every port as it was: the MTU each had, not what max_frame says */
		for (unsigned int q = 0; q <= p; q++) {
			if (!changed[q] || before[q] == 0)
				continue;
			if (rte_eth_dev_set_mtu(rt->port_id[q], before[q]) != 0)
				QGW_LOGT(port, ERR, "port %s: cannot put MTU %u back on %s",
					 cand->port[q].name, before[q], cand->port[q].device);
		}
		return ret == -EIO ? -EIO : -ENOTSUP;
	}
	return 0;
}

int
qgw_runtime_apply(struct qgw_runtime *rt, struct qgw_config *cand, const char *who,
		  unsigned int confirm_s, char *msg, size_t msglen)
{
	struct qgw_config *old_cfg = rt->cfg;
	uint32_t *slots = calloc(cand->nb_flows + 1, sizeof(*slots));
	uint32_t *freed = calloc(old_cfg->nb_flows + 1, sizeof(*freed));
	uint32_t *fresh = calloc(cand->nb_flows + 1, sizeof(*fresh));
	bool *kept = calloc(old_cfg->nb_flows + 1, sizeof(*kept));
	uint32_t nb_new = 0, nb_kept = 0, nb_freed = 0, next = 0, n;
	json_t *idx = name_index(old_cfg);
	struct qgw_table *t, *old;
	int ret = 0;

	if (slots == NULL || freed == NULL || fresh == NULL || kept == NULL || idx == NULL) {
		ret = -ENOMEM;
		snprintf(msg, msglen, "out of memory");
		goto fail;
	}
	if (rt->nb_deferred == QGW_MAX_DEFERRED) {
		char who_stalled[256];

		qgw_runtime_stalled(rt, who_stalled, sizeof(who_stalled));
		snprintf(msg, msglen,
			 "%d old flow tables still wait for a worker to pass a quiescent state "
			 "(%s): no apply until it moves on",
			 QGW_MAX_DEFERRED, who_stalled[0] ? who_stalled : "no worker flagged yet");
		ret = -EBUSY;
		goto fail;
	}
	for (uint32_t i = 0; i < cand->nb_flows; i++) {
		int64_t j = find_flow(old_cfg, idx, cand->flows[i].name);

		if (j >= 0 && !kept[j] && same_flow(&cand->flows[i], &old_cfg->flows[j])) {
			slots[i] = rt->slots[j];
			kept[j] = true;
			nb_kept++;
			continue;
		}
		/* Round robin: a freed slot is the last to be given again. */
		for (n = 0; n < QGW_MAX_SLOTS && rt->slot_used[rt->next_slot]; n++)
			rt->next_slot = (rt->next_slot + 1) % QGW_MAX_SLOTS;
		next = rt->next_slot;
		if (n == QGW_MAX_SLOTS) {
			snprintf(msg, msglen,
				 "no free counter slot: %d are held by the running flows and by "
				 "old tables waiting for quiescence",
				 QGW_MAX_SLOTS);
			ret = -ENOSPC;
			goto fail;
		}
		slots[i] = next;
		rt->slot_used[next] = true;
		rt->next_slot = (next + 1) % QGW_MAX_SLOTS;
		zero_slot(rt, next);
		fresh[nb_new++] = next;
	}

	t = qgw_table_build(cand, slots, rt->generation + 1, (int)rte_socket_id());
	if (t == NULL) {
		ret = -errno;
		snprintf(msg, msglen, "cannot build the flow table: %s", strerror(errno));
		goto fail;
	}
	set_slot_gens(rt, t, cand->nb_flows, slots);
	ret = set_max_frames(rt, old_cfg, cand, msg, msglen);
	if (ret < 0) {
		qgw_table_free(t);
		goto fail;
	}

	/* Publish: one pointer store; from here on new bursts use the new table. */
	old = rt->table;
	__atomic_store_n(&rt->table, t, __ATOMIC_RELEASE);
	rt->generation++;
	if (rt->shm != NULL)
		qgw_shm_publish_config(rt->shm, cand, slots, rt->slot_gen, rt->generation);

	for (uint32_t j = 0; j < old_cfg->nb_flows; j++)
		if (!kept[j])
			freed[nb_freed++] = rt->slots[j];
	retire(rt, old, freed, nb_freed);
	freed = NULL;

	free(rt->slots);
	rt->slots = slots;
	rt->cfg = cand;
	if (confirm_s > 0) {
		if (rt->rollback == NULL)
			rt->rollback = old_cfg;
		else
			qgw_config_free(old_cfg);
		rt->confirm_deadline = mono_ns() + (uint64_t)confirm_s * 1000000000u;
	} else {
		/* A plain apply while one is pending confirms the new config. */
		qgw_config_free(rt->rollback);
		rt->rollback = NULL;
		rt->confirm_deadline = 0;
		qgw_config_free(old_cfg);
	}

	snprintf(msg, msglen,
		 "generation %" PRIu64 ": %u flows, %u unchanged, %u new or changed, %u removed "
		 "or changed%s",
		 rt->generation, cand->nb_flows, nb_kept, nb_new, nb_freed,
		 confirm_s ? ", rolled back unless confirmed" : "");
	QGW_LOGT(config, NOTICE, "config %s by %s", msg, who);
	json_decref(idx);
	free(kept);
	free(fresh);
	return 0;

fail:
	release(rt, fresh, nb_new);
	QGW_LOGT(config, WARNING, "config apply by %s refused: %s", who, msg);
	json_decref(idx);
	free(slots);
	free(freed);
	free(fresh);
	free(kept);
	return ret;
}

int
qgw_runtime_confirm(struct qgw_runtime *rt, const char *who)
{
	if (rt->confirm_deadline == 0)
		return -ENOENT;
	qgw_config_free(rt->rollback);
	rt->rollback = NULL;
	rt->confirm_deadline = 0;
	QGW_LOGT(config, NOTICE, "config generation %" PRIu64 " confirmed by %s", rt->generation,
		 who);
	return 0;
}

void
qgw_runtime_fini(struct qgw_runtime *rt)
{
	for (unsigned int i = 0; i < rt->nb_deferred; i++) {
		qgw_table_free(rt->deferred[i].table);
		free(rt->deferred[i].slots);
	}
	rt->nb_deferred = 0;
	qgw_table_free(rt->table);
	rt->table = NULL;
	free(rt->slots);
	rt->slots = NULL;
	qgw_config_free(rt->rollback);
	rt->rollback = NULL;
}

/* ---- diff and dump -------------------------------------------------- */

static json_t *
stack_json(const struct qgw_stack_cfg *s)
{
	json_t *a = json_array();

	for (unsigned int t = 0; t < s->nb_tags; t++) {
		json_t *o = json_object();
		char tp[8];

		snprintf(tp, sizeof(tp), "0x%04x", s->tag[t].tpid);
		json_object_set_new(o, "tpid", json_string(tp));
		json_object_set_new(o, "vid", json_integer(s->tag[t].vid));
		if (s->tag[t].pcp >= 0)
			json_object_set_new(o, "pcp", json_integer(s->tag[t].pcp));
		json_array_append_new(a, o);
	}
	return a;
}

static json_t *
mss_json(const struct qgw_flow_cfg *f)
{
	if (f->mss4 == 0 && f->mss6 == 0)
		return json_false();
	/* what `true` gives, the 88-byte floor included */
	if (f->mss4 == (f->mtu >= 40 + QGW_MSS_MIN ? RTE_MIN(f->mtu - 40, (uint32_t)QGW_MSS_MAX) : 0) &&
	    f->mss6 == (f->mtu >= 60 + QGW_MSS_MIN ? RTE_MIN(f->mtu - 60, (uint32_t)QGW_MSS_MAX) : 0))
		return json_true();
	return json_integer(f->mss4);
}

json_t *
qgw_config_dump(const struct qgw_config *cfg)
{
	json_t *doc = json_object(), *ports = json_object(), *flows = json_array();

	json_object_set_new(doc, "version", json_integer(1));
	for (unsigned int p = 0; p < QGW_NB_PORTS; p++) {
		json_t *o = json_object();

		json_object_set_new(o, "device", json_string(cfg->port[p].device));
		json_object_set_new(o, "max_frame", json_integer(cfg->port[p].max_frame));
		json_object_set_new(ports, cfg->port[p].name, o);
	}
	json_object_set_new(doc, "ports", ports);
	for (uint32_t i = 0; i < cfg->nb_flows; i++) {
		const struct qgw_flow_cfg *f = &cfg->flows[i];
		json_t *o = json_object();

		json_object_set_new(o, "name", json_string(f->name));
		for (unsigned int p = 0; p < QGW_NB_PORTS; p++)
			json_object_set_new(o, cfg->port[p].name, stack_json(&f->stack[p]));
		json_object_set_new(o, "mtu", json_integer(f->mtu));
		json_object_set_new(o, "customer_tags", json_integer(f->customer_tags));
		json_object_set_new(o, "oversize", json_string(f->oversize_icmp ? "icmp" : "drop"));
		json_object_set_new(o, "mss_clamp", mss_json(f));
		json_object_set_new(o, "icmp_rate", json_integer(f->icmp_rate));
		json_object_set_new(o, "icmp_burst", json_integer(f->icmp_burst));
		json_array_append_new(flows, o);
	}
	json_object_set_new(doc, "flows", flows);
	return doc;
}

static void
change(json_t *list, const char *field, const char *from, const char *to)
{
	char buf[256];

	snprintf(buf, sizeof(buf), "%s: %s -> %s", field, from, to);
	json_array_append_new(list, json_string(buf));
}

static void
change_u(json_t *list, const char *field, unsigned long a, unsigned long b)
{
	char x[32], y[32];

	if (a == b)
		return;
	snprintf(x, sizeof(x), "%lu", a);
	snprintf(y, sizeof(y), "%lu", b);
	change(list, field, x, y);
}

json_t *
qgw_config_diff(const struct qgw_config *a, const struct qgw_config *b)
{
	json_t *d = json_object(), *added = json_array(), *removed = json_array();
	json_t *changed = json_object(), *ports = json_array(), *ia = name_index(a);
	json_t *ib = name_index(b);
	uint32_t unchanged = 0;

	for (unsigned int p = 0; p < QGW_NB_PORTS; p++) {
		char f[64];

		snprintf(f, sizeof(f), "%s max_frame", b->port[p].name);
		change_u(ports, f, a->port[p].max_frame, b->port[p].max_frame);
	}
	for (uint32_t i = 0; i < b->nb_flows; i++) {
		const struct qgw_flow_cfg *fb = &b->flows[i], *fa;
		int64_t j = find_flow(a, ia, fb->name);
		json_t *c;

		if (j < 0) {
			json_array_append_new(added, json_string(fb->name));
			continue;
		}
		fa = &a->flows[j];
		if (same_flow(fa, fb)) {
			unchanged++;
			continue;
		}
		c = json_array();
		for (unsigned int p = 0; p < QGW_NB_PORTS; p++) {
			char x[96], y[96];

			qgw_stack_format(&fa->stack[p], x, sizeof(x));
			qgw_stack_format(&fb->stack[p], y, sizeof(y));
			if (strcmp(x, y) != 0)
				change(c, b->port[p].name, x, y);
		}
		change_u(c, "mtu", fa->mtu, fb->mtu);
		change_u(c, "customer_tags", fa->customer_tags, fb->customer_tags);
		if (fa->oversize_icmp != fb->oversize_icmp)
			change(c, "oversize", fa->oversize_icmp ? "icmp" : "drop",
			       fb->oversize_icmp ? "icmp" : "drop");
		change_u(c, "mss_clamp (IPv4 MSS)", fa->mss4, fb->mss4);
		change_u(c, "mss_clamp (IPv6 MSS)", fa->mss6, fb->mss6);
		change_u(c, "icmp_rate", fa->icmp_rate, fb->icmp_rate);
		change_u(c, "icmp_burst", fa->icmp_burst, fb->icmp_burst);
		json_object_set_new(changed, fb->name, c);
	}
	for (uint32_t j = 0; j < a->nb_flows; j++)
		if (find_flow(b, ib, a->flows[j].name) < 0)
			json_array_append_new(removed, json_string(a->flows[j].name));

	json_object_set_new(d, "ports", ports);
	json_object_set_new(d, "added", added);
	json_object_set_new(d, "removed", removed);
	json_object_set_new(d, "changed", changed);
	json_object_set_new(d, "unchanged", json_integer(unchanged));
	json_decref(ia);
	json_decref(ib);
	return d;
}
