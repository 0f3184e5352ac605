/*
 * Packet capture support: makes the end of a dpdk-dumpcap capture wait for
 * the workers (see capture.c). Linking this file into a program replaces
 * rte_eth_remove_rx_callback() / rte_eth_remove_tx_callback() for the whole
 * process with versions that wait for the workers to be quiescent.
 */
#ifndef QGW_CAPTURE_H
#define QGW_CAPTURE_H

#include <stdint.h>

#include <rte_rcu_qsbr.h>

/**
 * Set the RCU variable the workers report quiescent states to; removing a
 * callback then waits for all of them (at most 1 s). NULL: no waiting (no
 * workers running).
 */
void qgw_capture_sync(struct rte_rcu_qsbr *rcu);

#endif /* QGW_CAPTURE_H */
