/*
 * Adding up the workers' counter blocks (the gateway's exit report), and the
 * counter directory generated from the lists of qgw_counters.h. Every counter
 * is loaded once, relaxed, so it is never torn, and a sum of growing
 * counters never goes backwards.
 */
#include "qgw_counters.h"

#include <stddef.h>
#include <string.h>

#include "qgw_shm.h"

#define LD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

#define ADD_SUM(d, x, f) ((d)->f += LD((x)->f))
#define ADD_MAX(d, x, f)                                                                           \
	do {                                                                                       \
		uint64_t v_ = LD((x)->f);                                                          \
		if (v_ > (d)->f)                                                                   \
			(d)->f = v_;                                                               \
	} while (0)
#define ADD_GAUGE(d, x, f) ((d)->f = LD((x)->f))
#define ADD_ONE(field, name, prom, label, kind, column, help) ADD_##kind(d, x, field);

static void
add_drops(uint64_t *d, const uint64_t *x)
{
	for (unsigned int r = 0; r < QGW_DROP__MAX; r++)
		d[r] += LD(x[r]);
}

void
qgw_counters_sum(struct qgw_worker_counters *sum, const struct qgw_worker_counters *const *blocks,
		 unsigned int nb, uint32_t nb_slots)
{
	memset(sum, 0, sizeof(*sum));
	if (nb_slots > QGW_MAX_SLOTS)
		nb_slots = QGW_MAX_SLOTS;
	for (unsigned int w = 0; w < nb; w++) {
		const struct qgw_worker_counters *b = blocks[w];

		{
			struct qgw_worker_counters *d = sum;
			const struct qgw_worker_counters *x = b;

			QGW_WORKER_COUNTERS(ADD_ONE)
		}
		for (unsigned int p = 0; p < QGW_NB_PORTS; p++) {
			struct qgw_port_counters *d = &sum->port[p];
			const struct qgw_port_counters *x = &b->port[p];

			QGW_PORT_COUNTERS(ADD_ONE)
			add_drops(d->drop, x->drop);
		}
		for (uint32_t s = 0; s < nb_slots; s++) {
			for (unsigned int p = 0; p < QGW_NB_PORTS; p++) {
				struct qgw_flow_counters *d = &sum->flow[s][p];
				const struct qgw_flow_counters *x = &b->flow[s][p];

				QGW_FLOW_COUNTERS(ADD_ONE)
				add_drops(d->drop, x->drop);
			}
		}
	}
}

uint64_t
qgw_drops_total(const uint64_t drop[QGW_DROP__MAX])
{
	uint64_t n = 0;

	for (unsigned int r = 0; r < QGW_DROP__MAX; r++)
		n += drop[r];
	return n;
}

#define DESC(st, field, name_, prom_, label_, kind_, column_, help_)                               \
	{.name = name_,                                                                            \
	 .prom = prom_,                                                                            \
	 .label = label_,                                                                          \
	 .column = column_,                                                                        \
	 .help = help_,                                                                            \
	 .kind = QGW_KIND_##kind_,                                                                 \
	 .offset = offsetof(struct st, field)},
#define DESC_PORT(...) DESC(qgw_port_counters, __VA_ARGS__)
#define DESC_FLOW(...) DESC(qgw_flow_counters, __VA_ARGS__)
#define DESC_WORKER(...) DESC(qgw_worker_counters, __VA_ARGS__)
#define DESC_NIC(...) DESC(qgw_nic_counters, __VA_ARGS__)

static const struct qgw_shm_counter port_desc[] = {QGW_PORT_COUNTERS(DESC_PORT)};
static const struct qgw_shm_counter flow_desc[] = {QGW_FLOW_COUNTERS(DESC_FLOW)};
static const struct qgw_shm_counter worker_desc[] = {QGW_WORKER_COUNTERS(DESC_WORKER)};
static const struct qgw_shm_counter nic_desc[] = {QGW_NIC_COUNTERS(DESC_NIC)};

static const struct {
	const struct qgw_shm_counter *desc;
	uint32_t nb;
} families[QGW_FAM__MAX] = {
	[QGW_FAM_PORT] = {port_desc, RTE_DIM(port_desc)},
	[QGW_FAM_FLOW] = {flow_desc, RTE_DIM(flow_desc)},
	[QGW_FAM_WORKER] = {worker_desc, RTE_DIM(worker_desc)},
	[QGW_FAM_NIC] = {nic_desc, RTE_DIM(nic_desc)},
};

const struct qgw_shm_counter *
qgw_counter_list(unsigned int family, uint32_t *nb)
{
	if (family >= QGW_FAM__MAX) {
		*nb = 0;
		return NULL;
	}
	*nb = families[family].nb;
	return families[family].desc;
}

const char *
qgw_family_name(unsigned int family)
{
	static const char *const names[QGW_FAM__MAX] = {
		[QGW_FAM_PORT] = "port",
		[QGW_FAM_FLOW] = "flow",
		[QGW_FAM_WORKER] = "worker",
		[QGW_FAM_NIC] = "nic",
	};

	return family < QGW_FAM__MAX ? names[family] : "unknown";
}
