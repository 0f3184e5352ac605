/*
 * Port bring-up (see qgw_port.h). The mbuf pool of each port lives on the
 * port's NUMA socket (or, when that socket has no memory left, anywhere, with
 * a warning); a port gets as many queue pairs as there are workers.
 */
#include "qgw_port.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_ethdev.h>
#include <rte_log.h>
#include <rte_mbuf.h>
#include <rte_memory.h>

#include "qgw_log.h"

#define NB_RXD 1024
#define NB_TXD 1024
#define MBUF_CACHE 256

int
qgw_port_resolve(const struct qgw_config *cfg, uint16_t port_id[QGW_NB_PORTS], char *msg,
		 size_t msglen)
{
	for (unsigned int i = 0; i < QGW_NB_PORTS; i++) {
		if (rte_eth_dev_get_port_by_name(cfg->port[i].device, &port_id[i]) == 0)
			continue;
		char avail[256] = "";
		size_t n = 0;
		uint16_t p;

		RTE_ETH_FOREACH_DEV(p) {
			char name[RTE_ETH_NAME_MAX_LEN];

			if (rte_eth_dev_get_name_by_port(p, name) == 0 && n < sizeof(avail))
				n += snprintf(avail + n, sizeof(avail) - n, "%s%s", n ? ", " : "",
					      name);
		}
		snprintf(msg, msglen,
			 "port %s: device \"%s\" not found (devices DPDK probed: %s); give a PCI "
			 "address bound to vfio-pci, or a --vdev",
			 cfg->port[i].name, cfg->port[i].device, n ? avail : "none");
		return -ENODEV;
	}
	return 0;
}

bool
qgw_numa_mismatch(int dev_socket, int used_socket)
{
	return dev_socket >= 0 && used_socket >= 0 && dev_socket != used_socket;
}

int
qgw_numa_warnings(const struct qgw_numa_placement *pl, void (*warn)(const char *msg, void *arg),
		  void *arg)
{
	char msg[320];
	int n = 0;

	for (unsigned int p = 0; p < QGW_NB_PORTS; p++) {
		if (!qgw_numa_mismatch(pl->port_socket[p], pl->pool_socket[p]))
			continue;
		snprintf(msg, sizeof(msg),
			 "NUMA: port %s is on socket %d but its mbuf pool could only be placed "
			 "on socket %d: every frame crosses sockets; reserve hugepages on node "
			 "%d (/sys/devices/system/node/node%d/hugepages/)",
			 pl->port_name[p], pl->port_socket[p], pl->pool_socket[p],
			 pl->port_socket[p], pl->port_socket[p]);
		warn(msg, arg);
		n++;
	}
	for (unsigned int w = 0; w < pl->nb_workers; w++) {
		for (unsigned int p = 0; p < QGW_NB_PORTS; p++) {
			if (!qgw_numa_mismatch(pl->port_socket[p], pl->worker_socket[w]))
				continue;
			snprintf(msg, sizeof(msg),
				 "NUMA: worker %u (lcore %u, socket %d) polls port %s on socket "
				 "%d: every frame crosses sockets; give -l cores of socket %d",
				 w, pl->worker_lcore[w], pl->worker_socket[w], pl->port_name[p],
				 pl->port_socket[p], pl->port_socket[p]);
			warn(msg, arg);
			n++;
		}
	}
	return n;
}

/* The socket of a pool's memory (its first chunk), or SOCKET_ID_ANY. */
static int
pool_memory_socket(struct rte_mempool *mp)
{
	struct rte_mempool_memhdr *hdr = STAILQ_FIRST(&mp->mem_list);
	const struct rte_memseg *ms = hdr != NULL ? rte_mem_virt2memseg(hdr->addr, NULL) : NULL;

	return ms != NULL ? ms->socket_id : SOCKET_ID_ANY;
}

/*
 * The pool of a socket, shared by the ports on it. If the socket has no room
 * (no hugepages left on that node), one anywhere: slower, but running; the
 * caller warns.
 */
static struct rte_mempool *
pool_for_socket(int socket, unsigned int nb_mbufs)
{
	char name[RTE_MEMPOOL_NAMESIZE], any[RTE_MEMPOOL_NAMESIZE];
	struct rte_mempool *mp;

	if (socket < 0)
		socket = 0;
	snprintf(name, sizeof(name), "qgw_mbuf_s%d", socket);
	snprintf(any, sizeof(any), "qgw_mbuf_s%d_any", socket);
	mp = rte_mempool_lookup(name);
	if (mp == NULL)
		mp = rte_mempool_lookup(any);
	if (mp != NULL)
		return mp;
	mp = rte_pktmbuf_pool_create(name, nb_mbufs, MBUF_CACHE, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				     socket);
	if (mp == NULL)
		mp = rte_pktmbuf_pool_create(any, nb_mbufs, MBUF_CACHE, 0,
					     RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	return mp;
}

int
qgw_port_start(uint16_t port_id, const struct qgw_port_cfg *pc, uint16_t nb_queues,
	       int *pool_socket, char *msg, size_t msglen)
{
	struct rte_eth_conf conf = {0};
	struct rte_eth_dev_info info;
	struct rte_mempool *mp;
	uint16_t nb_rxd = NB_RXD, nb_txd = NB_TXD;
	int socket = rte_eth_dev_socket_id(port_id);
	int ret;

	ret = rte_eth_dev_info_get(port_id, &info);
	if (ret < 0) {
		snprintf(msg, msglen, "port %s: cannot read device info: %s", pc->name,
			 rte_strerror(-ret));
		return ret;
	}
	if (nb_queues > info.max_rx_queues || nb_queues > info.max_tx_queues) {
		snprintf(msg, msglen,
			 "port %s: device %s has %u RX and %u TX queues, %u workers need %u of "
			 "each; use fewer lcores in -l",
			 pc->name, pc->device, info.max_rx_queues, info.max_tx_queues, nb_queues,
			 nb_queues);
		return -EINVAL;
	}

	/* Tag handling is ours: no VLAN offloads, they would rewrite TPIDs. */
	if (nb_queues > 1) {
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf.rx_adv_conf.rss_conf.rss_hf =
			(RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP |
			 RTE_ETH_RSS_L2_PAYLOAD) &
			info.flow_type_rss_offloads;
		if (conf.rx_adv_conf.rss_conf.rss_hf == 0) {
			conf.rxmode.mq_mode = RTE_ETH_MQ_RX_NONE;
			QGW_LOGT(port, WARNING,
				 "port %s: %s has no RSS; the device alone decides which queue a "
				 "frame lands on",
				 pc->name, pc->device);
		}
	}
	if (pc->max_frame + RTE_PKTMBUF_HEADROOM > RTE_MBUF_DEFAULT_BUF_SIZE) {
		if (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_SCATTER)
			conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_SCATTER;
		if (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS)
			conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
	}
	/*
	 * Receive frames up to max_frame. ethdev checks mtu + the driver's L2
	 * overhead against max_rx_pktlen; a device that cannot take max_frame
	 * keeps its MTU, and the gateway still enforces max_frame on egress.
	 */
	{
		uint32_t want = pc->max_frame - RTE_ETHER_HDR_LEN;
		uint32_t overhead = info.max_mtu != UINT16_MAX && info.max_rx_pktlen > info.max_mtu
					    ? info.max_rx_pktlen - info.max_mtu
					    : RTE_ETHER_HDR_LEN + RTE_ETHER_CRC_LEN;

		if (want >= info.min_mtu && want <= info.max_mtu &&
		    want + overhead <= info.max_rx_pktlen)
			conf.rxmode.mtu = want;
		else
			QGW_LOGT(port, WARNING,
				 "port %s: %s takes frames up to %u bytes, not max_frame %u: it "
				 "keeps its default MTU (frames it cannot take are lost in the "
				 "NIC); the gateway still enforces max_frame",
				 pc->name, pc->device,
				 info.max_rx_pktlen > RTE_ETHER_CRC_LEN
					 ? info.max_rx_pktlen - RTE_ETHER_CRC_LEN
					 : info.max_rx_pktlen,
				 pc->max_frame);
	}

	ret = rte_eth_dev_configure(port_id, nb_queues, nb_queues, &conf);
	if (ret < 0) {
		snprintf(msg, msglen, "port %s: cannot configure device %s: %s", pc->name,
			 pc->device, rte_strerror(-ret));
		return ret;
	}
	ret = rte_eth_dev_adjust_nb_rx_tx_desc(port_id, &nb_rxd, &nb_txd);
	if (ret < 0) {
		snprintf(msg, msglen, "port %s: cannot size descriptor rings: %s", pc->name,
			 rte_strerror(-ret));
		return ret;
	}

	/* Both ports' rings plus what the workers hold in flight. */
	mp = pool_for_socket(socket, nb_queues * 2 * (NB_RXD + NB_TXD + 2 * MBUF_CACHE) + 4096);
	if (mp == NULL) {
		snprintf(msg, msglen, "port %s: cannot create mbuf pool on socket %d: %s",
			 pc->name, socket, rte_strerror(rte_errno));
		return -ENOMEM;
	}
	if (pool_socket != NULL)
		*pool_socket = pool_memory_socket(mp);

	for (uint16_t q = 0; q < nb_queues; q++) {
		ret = rte_eth_rx_queue_setup(port_id, q, nb_rxd, socket, NULL, mp);
		if (ret == 0)
			ret = rte_eth_tx_queue_setup(port_id, q, nb_txd, socket, NULL);
		if (ret < 0) {
			snprintf(msg, msglen, "port %s: cannot set up queue %u: %s", pc->name, q,
				 rte_strerror(-ret));
			return ret;
		}
	}

	ret = rte_eth_dev_start(port_id);
	if (ret < 0) {
		snprintf(msg, msglen, "port %s: cannot start device %s: %s", pc->name,
			 pc->device, rte_strerror(-ret));
		return ret;
	}
	/*
	 * Some drivers keep the configured MTU to themselves (net_tap leaves its
	 * kernel interface at 1500): set it on the started device too, and say
	 * so when the device does not take it.
	 */
	if (conf.rxmode.mtu != 0) {
		ret = rte_eth_dev_set_mtu(port_id, (uint16_t)conf.rxmode.mtu);
		if (ret < 0 && ret != -ENOTSUP)
			QGW_LOGT(port, WARNING,
				 "port %s: %s does not take MTU %u (max_frame %u): %s; frames over "
				 "its own MTU are lost in the NIC, the gateway still enforces "
				 "max_frame on egress",
				 pc->name, pc->device, conf.rxmode.mtu, pc->max_frame,
				 rte_strerror(-ret));
	}
	/* A transparent L2 gateway takes every frame, whatever its MAC. */
	ret = rte_eth_promiscuous_enable(port_id);
	if (ret < 0 && ret != -ENOTSUP)
		QGW_LOGT(port, WARNING, "port %s: cannot enable promiscuous mode: %s", pc->name,
			 rte_strerror(-ret));
	return 0;
}

void
qgw_port_close(uint16_t port_id)
{
	int ret = rte_eth_dev_stop(port_id);

	if (ret < 0)
		QGW_LOGT(port, WARNING, "port %u: stop failed: %s", port_id, rte_strerror(-ret));
	ret = rte_eth_dev_close(port_id);
	if (ret < 0)
		QGW_LOGT(port, WARNING, "port %u: close failed: %s", port_id, rte_strerror(-ret));
}
