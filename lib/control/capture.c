/*
 * Packet capture (dpdk-dumpcap) that can end safely under load.
 *
 * rte_pdump serves captures by putting RX/TX callbacks on the ports' queues.
 * When a capture ends, the secondary process asks the gateway to remove them
 * and, as soon as the gateway answers, frees the ring and the mbufs the
 * callbacks copy frames into. rte_eth_remove_rx_callback() does not wait for
 * a worker that is still inside the callback (the ethdev API leaves that to
 * the application), so a worker could write into freed memory.
 *
 * The gateway's executable therefore defines rte_eth_remove_rx_callback()
 * and rte_eth_remove_tx_callback() itself: the dynamic linker resolves
 * librte_pdump's calls to these, which call DPDK's own and then wait until
 * every worker has passed a quiescent state (the workers report one to the
 * flow table's RCU variable after every loop), at most one second.
 */
#include "qgw_capture.h"

#include <dlfcn.h>
#include <stdint.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_pause.h>

#include "qgw_log.h"

static struct rte_rcu_qsbr *capture_rcu;

void
qgw_capture_sync(struct rte_rcu_qsbr *rcu)
{
	__atomic_store_n(&capture_rcu, rcu, __ATOMIC_RELEASE);
}

/* Wait until no worker can still be inside a callback just removed. */
static void
wait_for_workers(const char *what, uint16_t port_id, uint16_t queue_id)
{
	struct rte_rcu_qsbr *v = __atomic_load_n(&capture_rcu, __ATOMIC_ACQUIRE);
	uint64_t token, deadline;

	if (v == NULL)
		return;
	token = rte_rcu_qsbr_start(v);
	deadline = rte_get_timer_cycles() + rte_get_timer_hz();
	while (rte_rcu_qsbr_check(v, token, false) == 0) {
		if (rte_get_timer_cycles() > deadline) {
			QGW_LOGT(worker, WARNING,
				 "capture: a worker did not leave the %s callback of port %u queue "
				 "%u within 1 s (stalled?)",
				 what, port_id, queue_id);
			return;
		}
		rte_pause();
	}
	QGW_LOGT(worker, DEBUG, "capture: %s callback of port %u queue %u removed, workers past it",
		 what, port_id, queue_id);
}

typedef int (*remove_cb_fn)(uint16_t port_id, uint16_t queue_id,
			    const struct rte_eth_rxtx_callback *user_cb);

/* Call DPDK's own function `name` (found once), then wait for the workers. */
static int
remove_and_wait(const char *name, remove_cb_fn *real, const char *what, uint16_t port_id,
		uint16_t queue_id, const struct rte_eth_rxtx_callback *user_cb)
{
	int ret;

	if (*real == NULL)
		*real = (remove_cb_fn)(uintptr_t)dlsym(RTLD_NEXT, name);
	if (*real == NULL)
		return -ENOTSUP;
	ret = (*real)(port_id, queue_id, user_cb);
	if (ret == 0)
		wait_for_workers(what, port_id, queue_id);
	return ret;
}

int
rte_eth_remove_rx_callback(uint16_t port_id, uint16_t queue_id,
			   const struct rte_eth_rxtx_callback *user_cb)
{
	static remove_cb_fn real;

	return remove_and_wait("rte_eth_remove_rx_callback", &real, "RX", port_id, queue_id,
			       user_cb);
}

int
rte_eth_remove_tx_callback(uint16_t port_id, uint16_t queue_id,
			   const struct rte_eth_rxtx_callback *user_cb)
{
	static remove_cb_fn real;

	return remove_and_wait("rte_eth_remove_tx_callback", &real, "TX", port_id, queue_id,
			       user_cb);
}
