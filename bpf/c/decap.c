/* IP-in-IP decapsulation in XDP, for reals whose kernel has no ipip module (CONFIG_NET_IPIP unset,
 * as on some cloud/microVM kernels): strips the outer IPv4 header of IPPROTO_IPIP packets and hands
 * the inner packet to the stack. Everything else passes untouched. `gslb l4 decap` attaches it. */
#include <uapi/linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/in.h>

int xdp_decap(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
        return XDP_PASS;
    struct iphdr *outer = (void *)(eth + 1);
    if ((void *)(outer + 1) > data_end || outer->protocol != IPPROTO_IPIP || outer->ihl != 5)
        return XDP_PASS;
    struct iphdr *inner = (void *)(outer + 1);
    if ((void *)(inner + 1) > data_end || inner->version != 4)
        return XDP_DROP;
    struct ethhdr saved;
    __builtin_memcpy(&saved, eth, sizeof(saved));
    if (bpf_xdp_adjust_head(ctx, (int)sizeof(struct iphdr)))
        return XDP_DROP;
    data = (void *)(long)ctx->data;
    data_end = (void *)(long)ctx->data_end;
    eth = data;
    if ((void *)(eth + 1) > data_end)
        return XDP_DROP;
    __builtin_memcpy(eth, &saved, sizeof(saved));
    return XDP_PASS;
}
