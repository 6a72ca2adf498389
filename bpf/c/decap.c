/* Tunnel decapsulation in XDP, for reals whose kernel has no ipip/ip6_tunnel modules (as on some
 * cloud/microVM kernels): strips an outer IPv4 (protocol 4 or 41) or IPv6 (next header 4 or 41)
 * header without options or extension headers and hands the inner packet to the stack.
 * Everything else passes untouched. `gslb l4 decap` attaches it. */
#include <uapi/linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/in.h>

#define INNER_IPV4 4
#define INNER_IPV6 41

int xdp_decap(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > data_end)
        return XDP_PASS;
    int outer_len;
    __u8 inner;
    if (eth->h_proto == bpf_htons(ETH_P_IP)) {
        struct iphdr *outer = (void *)(eth + 1);
        if ((void *)(outer + 1) > data_end || outer->ihl != 5)
            return XDP_PASS;
        inner = outer->protocol;
        outer_len = sizeof(struct iphdr);
    } else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
        struct ipv6hdr *outer = (void *)(eth + 1);
        if ((void *)(outer + 1) > data_end)
            return XDP_PASS;
        inner = outer->nexthdr;
        outer_len = sizeof(struct ipv6hdr);
    } else {
        return XDP_PASS;
    }
    if (inner != INNER_IPV4 && inner != INNER_IPV6)
        return XDP_PASS;
    struct ethhdr saved;
    __builtin_memcpy(&saved, eth, sizeof(saved));
    saved.h_proto = bpf_htons(inner == INNER_IPV4 ? ETH_P_IP : ETH_P_IPV6);
    if (bpf_xdp_adjust_head(ctx, outer_len))
        return XDP_DROP;
    data = (void *)(long)ctx->data;
    data_end = (void *)(long)ctx->data_end;
    eth = data;
    if ((void *)(eth + 1) > data_end)
        return XDP_DROP;
    __builtin_memcpy(eth, &saved, sizeof(saved));
    return XDP_PASS;
}
