/* Structures shared by the XDP program and its Python control plane.
 * Mirrored once in bpf/structs.py; tests/bpf/test_bpf_structs.py checks the mirror against what BCC
 * compiles from this file. Addresses and ports are in network byte order, as on the wire, so the
 * data path never converts them. Sizes are compile-time constants the loader passes with -D. */
#ifndef GSLB_STRUCTS_H
#define GSLB_STRUCTS_H

#ifndef MAX_VIPS
#define MAX_VIPS 64
#endif
#ifndef MAX_REALS
#define MAX_REALS 1024
#endif
#ifndef RING_MAX
#define RING_MAX 65537          /* largest Maglev table of one VIP; each VIP uses its own prime <= this */
#endif
#ifndef CONN_MAX
#define CONN_MAX 65536          /* LRU connection table entries */
#endif
#ifndef HASH_SEED
#define HASH_SEED 0x9747b28cU
#endif

#define NO_REAL 0xFFFFFFFFU      /* ring slot of a VIP with no real able to take new flows */
#define VIP_F_L2 1U              /* vip_meta.flags: forward by MAC rewrite instead of IP-in-IP */
#define REAL_F_PRESENT 1U        /* real_def.flags: the slot holds a configured real */

/* Addresses are 16 bytes for both families: an IPv4 address is in addr[0], the rest zero. */
struct vip_key {
    __u32 addr[4];              /* network order */
    __u16 port;                 /* network order; 0 = every port (and: the key of vip_addrs) */
    __u8 proto;                 /* IPPROTO_TCP or IPPROTO_UDP (0 in vip_addrs) */
    __u8 family;                /* 4 or 6 */
};

struct vip_meta {
    __u32 vip_num;              /* index of the VIP's ring in `rings` and of its counters */
    __u32 ring_size;            /* the VIP's Maglev table size (a prime <= RING_MAX) */
    __u32 flags;                /* VIP_F_* */
};

struct real_def {
    __u32 addr[4];              /* network order: outer destination of the tunnel */
    __u8 mac[6];                /* next-hop MAC: the real itself on L2, else its gateway */
    __u8 flags;                 /* REAL_F_* */
    __u8 family;                /* 4 or 6: the outer header's family */
};

struct flow_key {
    __u32 src[4];
    __u32 dst[4];
    __u16 sport;
    __u16 dport;
    __u8 proto;
    __u8 family;
    __u8 pad[2];
};

struct conn_val {
    __u32 real;                 /* index into `reals` */
    __u32 vip_num;
};

struct lb_stats {
    __u64 packets;
    __u64 bytes;
};

struct lb_config {
    __u32 encap_src;            /* outer IPv4 source of tunnels to IPv4 reals, network order */
    __u32 encap_src6[4];        /* outer IPv6 source of tunnels to IPv6 reals */
    __u32 flags;
};

#endif
