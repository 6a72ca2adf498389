/* XDP L4 forwarder: VIP match, Maglev pick, LRU connection table, DSR by IP-in-IP or MAC rewrite.
 * Verdicts (documented in the README, pinned by tests/bpf/fixtures.py):
 *   not IPv4, frame too short for Ethernet+IPv4, destination not a VIP address   -> XDP_PASS, untouched
 *   to a VIP address: bad version or IHL < 5, total length inconsistent with the frame,
 *     a fragment, a truncated TCP/UDP header                                      -> XDP_DROP
 *   to a VIP address: neither TCP nor UDP (ICMP...), or no VIP on that port/proto -> XDP_PASS
 *   a VIP whose reals all have weight 0 (no ring)                                  -> XDP_DROP
 *   otherwise -> XDP_TX, re-addressed to the chosen real (IP options are carried inside). */
#include "parse.h"
#include "maps.h"

int xdp_lb(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    __u64 frame_len = data_end - data;

    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
        return XDP_PASS;
    struct iphdr *iph = (void *)(eth + 1);
    if ((void *)(iph + 1) > data_end)
        return XDP_PASS;
    __u32 daddr = iph->daddr;
    if (!vip_addrs.lookup(&daddr))
        return XDP_PASS;

    if (iph->version != 4 || iph->ihl < 5)
        return XDP_DROP;
    __u32 ihl_bytes = (iph->ihl & 0xF) * 4;
    __u32 tot_len = bpf_ntohs(iph->tot_len);
    if (tot_len < ihl_bytes || (void *)iph + tot_len > data_end)
        return XDP_DROP;
    if (iph->frag_off & bpf_htons(IP_MF | IP_OFFSET))
        return XDP_DROP;
    __u8 proto = iph->protocol;
    __u32 l4_min;
    if (proto == IPPROTO_TCP)
        l4_min = 20;
    else if (proto == IPPROTO_UDP)
        l4_min = 8;
    else
        return XDP_PASS;
    if (ihl_bytes + l4_min > tot_len)
        return XDP_DROP;
    struct l4_ports *ports = (void *)iph + ihl_bytes;
    if ((void *)(ports + 1) > data_end)
        return XDP_DROP;

    struct vip_key vk = {};
    vk.addr = daddr;
    vk.port = ports->dest;
    vk.proto = proto;
    struct vip_meta *meta = vips.lookup(&vk);
    if (!meta) {
        vk.port = 0;
        meta = vips.lookup(&vk);
        if (!meta)
            return XDP_PASS;
    }
    __u32 vip_num = meta->vip_num;

    struct flow_key fk = {};
    fk.src = iph->saddr;
    fk.dst = daddr;
    fk.sport = ports->source;
    fk.dport = ports->dest;
    fk.proto = proto;

    struct real_def *real = 0;
    __u32 real_idx = NO_REAL;
    struct conn_val *conn = conns.lookup(&fk);
    if (conn) {
        /* a sticky flow keeps its real while the real exists, even at weight 0 (drained, down) */
        real_idx = conn->real;
        real = reals.lookup(&real_idx);
        if (real && !(real->flags & REAL_F_PRESENT))
            real = 0;
    }
    if (!real) {
        __u32 ring_size = meta->ring_size;
        if (ring_size == 0)
            return XDP_DROP;
        __u32 hash = flow_hash(bpf_ntohl(fk.src), bpf_ntohl(fk.dst), bpf_ntohs(fk.sport),
                               bpf_ntohs(fk.dport), proto);
        __u32 slot = vip_num * RING_MAX + hash % ring_size;
        __u32 *picked = rings.lookup(&slot);
        if (!picked || *picked == NO_REAL)
            return XDP_DROP;
        real_idx = *picked;
        real = reals.lookup(&real_idx);
        if (!real || !(real->flags & REAL_F_PRESENT))
            return XDP_DROP;
        struct conn_val fresh = {};
        fresh.real = real_idx;
        fresh.vip_num = vip_num;
        conns.update(&fk, &fresh);
    }

    count(vip_stats.lookup(&vip_num), frame_len);
    count(real_stats.lookup(&real_idx), frame_len);

    __u8 next_mac[ETH_ALEN];
    __builtin_memcpy(next_mac, real->mac, ETH_ALEN);
    if (meta->flags & VIP_F_L2) {
        /* same-L2 DSR: our MAC becomes the source, the real's the destination */
        __builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
        __builtin_memcpy(eth->h_dest, next_mac, ETH_ALEN);
        return XDP_TX;
    }

    __u32 real_addr = real->addr;
    __u8 our_mac[ETH_ALEN];
    __builtin_memcpy(our_mac, eth->h_dest, ETH_ALEN);
    __u8 tos = iph->tos;
    __u32 zero = 0;
    struct lb_config *cfg = config.lookup(&zero);
    if (!cfg)
        return XDP_DROP;
    __u32 encap_src = cfg->encap_src;

    if (bpf_xdp_adjust_head(ctx, 0 - (int)sizeof(struct iphdr)))
        return XDP_DROP;
    data = (void *)(long)ctx->data;
    data_end = (void *)(long)ctx->data_end;
    struct ethhdr *new_eth = data;
    struct iphdr *outer = (void *)(new_eth + 1);
    if ((void *)(outer + 1) > data_end)
        return XDP_DROP;
    __builtin_memcpy(new_eth->h_dest, next_mac, ETH_ALEN);
    __builtin_memcpy(new_eth->h_source, our_mac, ETH_ALEN);
    new_eth->h_proto = bpf_htons(ETH_P_IP);
    outer->version = 4;
    outer->ihl = 5;
    outer->tos = tos;
    outer->tot_len = bpf_htons(tot_len + sizeof(struct iphdr));
    outer->id = 0;
    outer->frag_off = 0;
    outer->ttl = OUTER_TTL;
    outer->protocol = IPPROTO_IPIP;
    outer->saddr = encap_src;
    outer->daddr = real_addr;
    outer->check = 0;
    outer->check = ipv4_csum(outer);
    return XDP_TX;
}
