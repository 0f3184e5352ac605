/*
 * Ethernet port bring-up for the gateway's two segments: resolve the config's
 * device names to DPDK ports, give every worker an RX/TX queue pair on each,
 * spread RX over the workers with RSS, and start them.
 */
#ifndef QGW_PORT_H
#define QGW_PORT_H

#include <stdint.h>

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
 * @param msg
 *   Receives an error message.
 * @return
 *   0 or -errno.
 */
int qgw_port_start(uint16_t port_id, const struct qgw_port_cfg *pc, uint16_t nb_queues,
		   char *msg, size_t msglen);

/** Stop and close a port; logs failures, never fails. */
void qgw_port_close(uint16_t port_id);

#endif /* QGW_PORT_H */
