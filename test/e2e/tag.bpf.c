// SPDX-License-Identifier: BSD-3-Clause
/*
 * tc clsact programs that make a host's veth a QinQ customer port, since the
 * test kernel has no 8021q: egress pushes the customer's C-tag 0x8100/200
 * and then the segment's S-tag; ingress checks that exactly that stack
 * arrived (S-tag in the skb's VLAN metadata, where the receive path puts the
 * outermost tag, C-tag in the frame) and pops both, dropping anything else,
 * so a wrong tag written by the gateway shows up as lost traffic.
 *
 * One object, a section per side and direction:
 *   egress_a / ingress_a: S-tag 0x88a8/100 (segment A, port twaren)
 *   egress_b / ingress_b: S-tag 0x8100/300 (segment B, port ccx)
 *
 * bpf_skb_vlan_push() puts the newest tag in the skb metadata and moves the
 * previous one into the frame; the device must have tx VLAN offload off so
 * that the kernel writes the outer tag into the frame before the veth's
 * size check (test_mtu.py turns txvlan and tx-vlan-stag-hw-insert off).
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define C_TPID 0x8100
#define C_VID 200

static __always_inline int
push(struct __sk_buff *skb, __u16 s_tpid, __u16 s_vid)
{
	if (bpf_skb_vlan_push(skb, bpf_htons(C_TPID), C_VID) != 0)
		return TC_ACT_SHOT;
	if (bpf_skb_vlan_push(skb, bpf_htons(s_tpid), s_vid) != 0)
		return TC_ACT_SHOT;
	return TC_ACT_OK;
}

static __always_inline int
pop(struct __sk_buff *skb, __u16 s_tpid, __u16 s_vid)
{
	__be16 inner[2];

	if (!skb->vlan_present || skb->vlan_proto != bpf_htons(s_tpid) ||
	    (skb->vlan_tci & 0xfff) != s_vid)
		return TC_ACT_SHOT;
	/* the outer tag is in the metadata: the C-tag is where the type was */
	if (bpf_skb_load_bytes(skb, 2 * ETH_ALEN, inner, sizeof(inner)) != 0 ||
	    inner[0] != bpf_htons(C_TPID) || (bpf_ntohs(inner[1]) & 0xfff) != C_VID)
		return TC_ACT_SHOT;
	if (bpf_skb_vlan_pop(skb) != 0 || bpf_skb_vlan_pop(skb) != 0)
		return TC_ACT_SHOT;
	return TC_ACT_OK;
}

SEC("egress_a")
int
tc_egress_a(struct __sk_buff *skb)
{
	return push(skb, 0x88a8, 100);
}

SEC("ingress_a")
int
tc_ingress_a(struct __sk_buff *skb)
{
	return pop(skb, 0x88a8, 100);
}

SEC("egress_b")
int
tc_egress_b(struct __sk_buff *skb)
{
	return push(skb, 0x8100, 300);
}

SEC("ingress_b")
int
tc_ingress_b(struct __sk_buff *skb)
{
	return pop(skb, 0x8100, 300);
}

char _license[] SEC("license") = "GPL";
