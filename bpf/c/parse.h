/* Parsing, hashing and header helpers. Every read is bounds-checked against data_end first. */
#ifndef GSLB_PARSE_H
#define GSLB_PARSE_H
#include <uapi/linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/in.h>
#include "structs.h"

#define IP_MF 0x2000
#define IP_OFFSET 0x1FFF
#define OUTER_TTL 64
#define NEXTHDR_FRAGMENT 44
#define IPPROTO_IPV6_IN 41   /* IPv6 inside a tunnel (IPPROTO_IPV6) */
#define CONTINUE -1          /* parse helpers: no verdict yet */

struct l4_ports {
    __be16 source;
    __be16 dest;
};

/* murmur3's finaliser: cheap, and the same in bpf/model.py bit for bit */
static __always_inline __u32 mix32(__u32 h)
{
    h ^= h >> 16;
    h *= 0x85ebca6bU;
    h ^= h >> 13;
    h *= 0xc2b2ae35U;
    h ^= h >> 16;
    return h;
}

/* an address folded to 32 bits in host order: the IPv4 address itself, or the XOR of IPv6 words */
static __always_inline __u32 fold(const __u32 *addr)
{
    return bpf_ntohl(addr[0]) ^ bpf_ntohl(addr[1]) ^ bpf_ntohl(addr[2]) ^ bpf_ntohl(addr[3]);
}

/* hash of the 5-tuple in host byte order (so the Python model needs no byte-order care) */
static __always_inline __u32 flow_hash(__u32 src, __u32 dst, __u16 sport, __u16 dport, __u8 proto)
{
    __u32 h = HASH_SEED;
    h = mix32(h ^ src);
    h = mix32(h ^ dst);
    h = mix32(h ^ (((__u32)sport << 16) | dport));
    h = mix32(h ^ proto);
    return h;
}

static __always_inline __u16 ipv4_csum(struct iphdr *iph)
{
    __u16 *words = (__u16 *)iph;
    __u32 sum = 0;
#pragma unroll
    for (int i = 0; i < 10; i++)
        sum += words[i];
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    return ~sum;
}

static __always_inline void count(struct lb_stats *stats, __u64 bytes)
{
    if (stats) {
        stats->packets += 1;    /* per-CPU: no atomics needed */
        stats->bytes += bytes;
    }
}

/* What the data path needs of a packet to a VIP. */
struct pkt {
    struct flow_key fk;
    __u32 l3_len;   /* bytes of the IP packet by its header (excludes Ethernet padding) */
    __u8 tos;       /* IPv4 TOS or IPv6 traffic class, copied to the outer header */
};

static __always_inline int l4_min_len(__u8 proto)
{
    if (proto == IPPROTO_TCP)
        return 20;
    if (proto == IPPROTO_UDP)
        return 8;
    return 0;
}

#endif
