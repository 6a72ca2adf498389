/* XDP L4 forwarder: VIP match, Maglev pick, LRU connection table, DSR by IP-in-IP or MAC rewrite.
 * IPv4 and IPv6 VIPs; the tunnel's outer family is the real's (4in4, 6in6, 4in6, 6in4).
 * Verdicts (documented in the README, pinned by tests/bpf/xdp_fixtures.py):
 *   neither IPv4 nor IPv6, frame too short for Ethernet + the fixed IP header,
 *     destination not a VIP address                                              -> XDP_PASS, untouched
 *   to a VIP address: bad version or IHL < 5, length inconsistent with the frame,
 *     a fragment, a truncated TCP/UDP header                                     -> XDP_DROP
 *   to a VIP address: neither TCP nor UDP (ICMP, IPv6 extension headers...),
 *     or no VIP on that port/protocol                                            -> XDP_PASS
 *   a VIP whose reals all have weight 0 (no ring)                                -> XDP_DROP
 *   otherwise -> XDP_TX, re-addressed to the chosen real (IP options are carried inside). */
#include "parse.h"
#include "maps.h"

static __always_inline int is_vip_address(const __u32 *addr, __u8 family)
{
    struct vip_key key = {};
    __builtin_memcpy(key.addr, addr, 16);
    key.family = family;
    return vip_addrs.lookup(&key) != 0;
}

static __always_inline int parse_ipv4(void *l3, void *data_end, struct pkt *p)
{
    struct iphdr *iph = l3;
    if ((void *)(iph + 1) > data_end)
        return XDP_PASS;
    p->fk.dst[0] = iph->daddr;
    p->fk.family = 4;
    if (!is_vip_address(p->fk.dst, 4))
        return XDP_PASS;
    if (iph->version != 4 || iph->ihl < 5)
        return XDP_DROP;
    __u32 ihl_bytes = (iph->ihl & 0xF) * 4;
    __u32 tot_len = bpf_ntohs(iph->tot_len);
    if (tot_len < ihl_bytes || l3 + tot_len > data_end)
        return XDP_DROP;
    if (iph->frag_off & bpf_htons(IP_MF | IP_OFFSET))
        return XDP_DROP;
    __u32 l4_min = l4_min_len(iph->protocol);
    if (!l4_min)
        return XDP_PASS;
    if (ihl_bytes + l4_min > tot_len)
        return XDP_DROP;
    struct l4_ports *ports = l3 + ihl_bytes;
    if ((void *)(ports + 1) > data_end)
        return XDP_DROP;
    p->fk.src[0] = iph->saddr;
    p->fk.sport = ports->source;
    p->fk.dport = ports->dest;
    p->fk.proto = iph->protocol;
    p->l3_len = tot_len;
    p->tos = iph->tos;
    return CONTINUE;
}

static __always_inline int parse_ipv6(void *l3, void *data_end, struct pkt *p)
{
    struct ipv6hdr *ip6 = l3;
    if ((void *)(ip6 + 1) > data_end)
        return XDP_PASS;
    __builtin_memcpy(p->fk.dst, &ip6->daddr, 16);
    p->fk.family = 6;
    if (!is_vip_address(p->fk.dst, 6))
        return XDP_PASS;
    if (ip6->version != 6)
        return XDP_DROP;
    __u32 payload = bpf_ntohs(ip6->payload_len);
    if ((void *)(ip6 + 1) + payload > data_end)
        return XDP_DROP;
    if (ip6->nexthdr == NEXTHDR_FRAGMENT)
        return XDP_DROP;
    __u32 l4_min = l4_min_len(ip6->nexthdr);
    if (!l4_min)
        return XDP_PASS;
    if (l4_min > payload)
        return XDP_DROP;
    struct l4_ports *ports = (void *)(ip6 + 1);
    if ((void *)(ports + 1) > data_end)
        return XDP_DROP;
    __builtin_memcpy(p->fk.src, &ip6->saddr, 16);
    p->fk.sport = ports->source;
    p->fk.dport = ports->dest;
    p->fk.proto = ip6->nexthdr;
    p->l3_len = sizeof(struct ipv6hdr) + payload;
    p->tos = (ip6->priority << 4) | (ip6->flow_lbl[0] >> 4);
    return CONTINUE;
}

static __always_inline int encap_ipv4(struct xdp_md *ctx, struct pkt *p, struct real_def *real,
                                      const __u8 *our_mac, __u32 source)
{
    __u8 next_mac[ETH_ALEN];
    __builtin_memcpy(next_mac, real->mac, ETH_ALEN);
    __u32 real_addr = real->addr[0];
    if (bpf_xdp_adjust_head(ctx, 0 - (int)sizeof(struct iphdr)))
        return XDP_DROP;
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    struct iphdr *outer = (void *)(eth + 1);
    if ((void *)(outer + 1) > data_end)
        return XDP_DROP;
    __builtin_memcpy(eth->h_dest, next_mac, ETH_ALEN);
    __builtin_memcpy(eth->h_source, our_mac, ETH_ALEN);
    eth->h_proto = bpf_htons(ETH_P_IP);
    outer->version = 4;
    outer->ihl = 5;
    outer->tos = p->tos;
    outer->tot_len = bpf_htons(p->l3_len + sizeof(struct iphdr));
    outer->id = 0;
    outer->frag_off = 0;
    outer->ttl = OUTER_TTL;
    outer->protocol = p->fk.family == 4 ? IPPROTO_IPIP : IPPROTO_IPV6_IN;
    outer->saddr = source;
    outer->daddr = real_addr;
    outer->check = 0;
    outer->check = ipv4_csum(outer);
    return XDP_TX;
}

static __always_inline int encap_ipv6(struct xdp_md *ctx, struct pkt *p, struct real_def *real,
                                      const __u8 *our_mac, const __u32 *source)
{
    __u8 next_mac[ETH_ALEN];
    __builtin_memcpy(next_mac, real->mac, ETH_ALEN);
    __u32 real_addr[4];
    __builtin_memcpy(real_addr, real->addr, 16);
    __u32 src[4];
    __builtin_memcpy(src, source, 16);
    if (bpf_xdp_adjust_head(ctx, 0 - (int)sizeof(struct ipv6hdr)))
        return XDP_DROP;
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    struct ipv6hdr *outer = (void *)(eth + 1);
    if ((void *)(outer + 1) > data_end)
        return XDP_DROP;
    __builtin_memcpy(eth->h_dest, next_mac, ETH_ALEN);
    __builtin_memcpy(eth->h_source, our_mac, ETH_ALEN);
    eth->h_proto = bpf_htons(ETH_P_IPV6);
    outer->version = 6;
    outer->priority = p->tos >> 4;
    outer->flow_lbl[0] = (p->tos & 0xF) << 4;
    outer->flow_lbl[1] = 0;
    outer->flow_lbl[2] = 0;
    outer->payload_len = bpf_htons(p->l3_len);
    outer->nexthdr = p->fk.family == 4 ? IPPROTO_IPIP : IPPROTO_IPV6_IN;
    outer->hop_limit = OUTER_TTL;
    __builtin_memcpy(&outer->saddr, src, 16);
    __builtin_memcpy(&outer->daddr, real_addr, 16);
    return XDP_TX;
}

int xdp_lb(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    __u64 frame_len = data_end - data;

    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > data_end)
        return XDP_PASS;
    struct pkt p = {};
    int verdict;
    if (eth->h_proto == bpf_htons(ETH_P_IP))
        verdict = parse_ipv4((void *)(eth + 1), data_end, &p);
    else if (eth->h_proto == bpf_htons(ETH_P_IPV6))
        verdict = parse_ipv6((void *)(eth + 1), data_end, &p);
    else
        return XDP_PASS;
    if (verdict != CONTINUE)
        return verdict;

    struct vip_key vk = {};
    __builtin_memcpy(vk.addr, p.fk.dst, 16);
    vk.port = p.fk.dport;
    vk.proto = p.fk.proto;
    vk.family = p.fk.family;
    struct vip_meta *meta = vips.lookup(&vk);
    if (!meta) {
        vk.port = 0;
        meta = vips.lookup(&vk);
        if (!meta)
            return XDP_PASS;
    }
    __u32 vip_num = meta->vip_num;

    struct real_def *real = 0;
    __u32 real_idx = NO_REAL;
    struct conn_val *conn = conns.lookup(&p.fk);
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
        __u32 hash = flow_hash(fold(p.fk.src), fold(p.fk.dst), bpf_ntohs(p.fk.sport), bpf_ntohs(p.fk.dport),
                               p.fk.proto);
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
        conns.update(&p.fk, &fresh);
    }

    count(vip_stats.lookup(&vip_num), frame_len);
    count(real_stats.lookup(&real_idx), frame_len);

    if (meta->flags & VIP_F_L2) {
        /* same-L2 DSR: our MAC becomes the source, the real's the destination */
        __builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
        __builtin_memcpy(eth->h_dest, real->mac, ETH_ALEN);
        return XDP_TX;
    }
    __u8 our_mac[ETH_ALEN];
    __builtin_memcpy(our_mac, eth->h_dest, ETH_ALEN);
    __u32 zero = 0;
    struct lb_config *cfg = config.lookup(&zero);
    if (!cfg)
        return XDP_DROP;
    if (real->family == 6)
        return encap_ipv6(ctx, &p, real, our_mac, cfg->encap_src6);
    return encap_ipv4(ctx, &p, real, our_mac, cfg->encap_src);
}
