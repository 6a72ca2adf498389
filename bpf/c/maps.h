/* BPF maps of the forwarder (BCC macros). Python reaches them by these names (bpf/tables.py). */
#ifndef GSLB_MAPS_H
#define GSLB_MAPS_H
#include "structs.h"

BPF_HASH(vips, struct vip_key, struct vip_meta, MAX_VIPS);
/* every VIP address, so that traffic to other addresses is passed after one lookup, and fragments
 * (which carry no ports) to a VIP address can be recognised and dropped */
BPF_HASH(vip_addrs, struct vip_key, __u32, MAX_VIPS); /* key: address and family, port 0, proto 0 */
BPF_ARRAY(rings, __u32, MAX_VIPS * RING_MAX);
BPF_ARRAY(reals, struct real_def, MAX_REALS);
BPF_TABLE("lru_hash", struct flow_key, struct conn_val, conns, CONN_MAX);
BPF_PERCPU_ARRAY(vip_stats, struct lb_stats, MAX_VIPS);
BPF_PERCPU_ARRAY(real_stats, struct lb_stats, MAX_REALS);
BPF_ARRAY(config, struct lb_config, 1);

#endif
