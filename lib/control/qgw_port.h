/*
 * Ethernet port bring-up for the gateway's two segments: resolve the config's
 * device names to DPDK ports, give every worker an RX/TX queue pair on each,
 * spread RX over the workers with RSS, and start them.
 */
#ifndef QGW_PORT_H
#define QGW_PORT_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_lcore.h>

#include "qgw_config.h"

/**
 * Find the DPDK port of each configured device.
 *
 * @param cfg
 *   Validated config.
 * @param port_id
 *   Receives the port id of cfg->port[i] in port_id[i].
 * @param msg
 *   Receives an error message.
 * @return
 *   0 or -ENODEV.
 */
int qgw_port_resolve(const struct qgw_config *cfg, uint16_t port_id[QGW_NB_PORTS], char *msg,
		     size_t msglen);

/**
 * Configure and start one port with nb_queues RX/TX queue pairs.
 *
 * @param port_id
 *   DPDK port.
 * @param pc
 *   The port's config (name for messages, max_frame).
 * @param nb_queues
 *   One per worker.
 * @param pool_socket
 *   If not NULL, receives the NUMA socket of the memory of the port's mbuf
 *   pool (SOCKET_ID_ANY if unknown).
 * @param msg
 *   Receives an error message.
 * @return
 *   0 or -errno.
 */
int qgw_port_start(uint16_t port_id, const struct qgw_port_cfg *pc, uint16_t nb_queues,
		   int *pool_socket, char *msg, size_t msglen);

/** Stop and close a port; logs failures, never fails. */
void qgw_port_close(uint16_t port_id);

/**
 * Whether something on socket used_socket serving a device on dev_socket
 * crosses NUMA sockets. SOCKET_ID_ANY (-1: a vdev, or a device or memory
 * whose node is unknown) on either side never does.
 */
bool qgw_numa_mismatch(int dev_socket, int used_socket);

/** Where the gateway's pieces are, by NUMA socket, for qgw_numa_warnings(). */
struct qgw_numa_placement {
	const char *port_name[QGW_NB_PORTS];
	int port_socket[QGW_NB_PORTS]; /**< rte_eth_dev_socket_id() */
	int pool_socket[QGW_NB_PORTS]; /**< the port's mbuf pool memory */
	unsigned int nb_workers;
	unsigned int worker_lcore[RTE_MAX_LCORE];
	int worker_socket[RTE_MAX_LCORE]; /**< rte_lcore_to_socket_id() */
};

/**
 * The NUMA warnings of a placement: one per port whose mbuf pool is on
 * another socket than the port, one per worker and port it polls on another
 * socket. Pure: no DPDK call, so it can be tested with made-up sockets.
 *
 * @param warn
 *   Called with each warning's text.
 * @return
 *   The number of warnings.
 */
int qgw_numa_warnings(const struct qgw_numa_placement *pl, void (*warn)(const char *msg, void *arg),
		      void *arg);

#endif /* QGW_PORT_H */
