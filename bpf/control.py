"""The L4 control plane: keep the loaded XDP forwarder's maps in step with the store and health.

Follows the store's change feed (VIP documents and health states), resolves next-hop MACs, plans
the tables (bpf/plan.py, pure) and writes only what changed (bpf/tables.py). A real marked down
gets weight 0: new flows leave it at once, sticky flows stay on it while it exists.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from bpf.errors import BpfError
from bpf.loader import AttachMode, LoadedProgram, ProgramSizes
from bpf.neighbors import interface_address, link_kind, lookup_macs
from bpf.plan import Limits, Tables, plan_tables
from bpf.tables import read_counters, write_tables
from gslb.feed import HEALTH_KIND, health_state_is_up
from gslb.policy import PolicyError, VipSpec, parse_document
from gslb.store import Follower, Store

log = logging.getLogger(__name__)

MAC_REFRESH_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class L4Settings:
    device: str
    mode: AttachMode = "auto"
    encap_src: str | None = None  # default: the device's first IPv4 address
    encap_src6: str | None = None  # default: the device's first global IPv6 address, if any
    sizes: ProgramSizes = field(default_factory=ProgramSizes)
    retry_seconds: float = 1.0  # how soon unresolved next hops are asked for again


class L4Controller:
    def __init__(self, store: Store, settings: L4Settings) -> None:
        self._store = store
        self.settings = settings
        self.program: LoadedProgram | None = None
        self.attach_mode: str | None = None
        self.tables: Tables | None = None
        self.synced_revision = 0
        self._follower = Follower(store, block_ms=200)
        self._follower.add_listener(self._on_change)
        self._macs: dict[str, tuple[bytes, float]] = {}
        self._unresolved: set[str] = set()
        self._asked: set[str] = set()  # next hops asked for at least once
        self._retry_task: asyncio.Task[None] | None = None
        self._problems: tuple[str, ...] = ()
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        settings = self.settings
        encap_src = settings.encap_src or interface_address(settings.device, 4)
        if encap_src is None:
            raise BpfError(
                f"{settings.device} has no IPv4 address to use as the IP-in-IP source; pass --encap-source"
            )
        self._encap_src = encap_src
        self._encap_src6 = settings.encap_src6 or interface_address(settings.device, 6)
        self.program = LoadedProgram(settings.sizes)
        try:
            self.attach_mode = self.program.attach(settings.device, settings.mode)
            if self.attach_mode == "native" and link_kind(settings.device) == "veth":
                log.warning(
                    "native XDP on veth %s: forwarded (XDP_TX) frames are dropped unless the peer has an "
                    "XDP program too; use --mode generic if they vanish",
                    settings.device,
                )
            await self._follower.start()
            await self.sync()
        except BaseException:
            await self.stop()
            raise
        self._retry_task = asyncio.create_task(self._retry_unresolved(), name="l4-retry")

    async def stop(self) -> None:
        if self._retry_task is not None:
            self._retry_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._retry_task
            self._retry_task = None
        await self._follower.stop()
        if self.program is not None:
            self.program.close()  # detaches first: the interface is never left with a stale program
            self.program = None

    async def _on_change(self, revision: int, changed: frozenset[str] | None) -> None:
        await self.sync()

    def _desired(self) -> tuple[list[VipSpec], dict[str, bool]]:
        specs, health = [], {}
        for key, doc in list(self._follower.docs.items()):
            if doc.ref.kind == HEALTH_KIND:
                health[doc.ref.name] = health_state_is_up(doc.body)
            elif doc.ref.kind == "vip":
                try:
                    spec = parse_document("vip", doc.body, doc=key)
                except PolicyError as exc:
                    log.error("ignoring %s: %s", key, exc)
                    continue
                if isinstance(spec, VipSpec):
                    specs.append(spec)
        return specs, health

    async def _resolve(self, addresses: set[str]) -> dict[str, bytes]:
        """MACs of the reals' next hops. Only reals never asked before are waited for (briefly, all
        at once): a health change must not wait behind a dead next hop, which the retry task keeps
        asking about."""
        now = time.monotonic()
        stale = {a for a in addresses if a not in self._macs or now - self._macs[a][1] > MAC_REFRESH_SECONDS}
        if stale:
            wait = 0.5 if stale - self._asked else 0.0
            self._asked |= stale
            found = await asyncio.to_thread(lookup_macs, stale, wait=wait)
            for address in stale:
                if address in found:
                    self._macs[address] = (found[address], now)
                elif address in self._macs:
                    log.warning("next hop of real %s no longer resolves; keeping its last MAC", address)
        self._unresolved = {a for a in addresses if a not in self._macs}
        return {a: self._macs[a][0] for a in addresses if a in self._macs}

    async def sync(self) -> None:
        """Bring the maps to the store's current state."""
        async with self._lock:
            program = self.program
            if program is None:
                return
            revision = self._follower.rev
            specs, health = self._desired()
            wanted = {str(real.address) for spec in specs for real in spec.reals}
            macs = await self._resolve(wanted)
            sizes = program.sizes
            tables = plan_tables(
                specs,
                health,
                macs,
                encap_src=self._encap_src,
                encap_src6=self._encap_src6,
                limits=Limits(sizes.max_vips, sizes.max_reals, sizes.ring_max),
                previous=self.tables,
            )
            write_tables(program, tables, self.tables)
            self.tables = tables
            self.synced_revision = revision
            if tables.problems != self._problems:
                for problem in tables.problems:
                    log.warning("%s", problem)
                self._problems = tables.problems
            log.info(
                "synced revision %d: %d VIPs, %d reals, %d unresolved next hops",
                revision,
                len(tables.vips),
                len(tables.reals),
                len(self._unresolved),
            )

    async def _retry_unresolved(self) -> None:
        while True:
            await asyncio.sleep(self.settings.retry_seconds)
            if self._unresolved:
                await self.sync()

    def counters(self) -> tuple[dict[str, Any], dict[str, Any]]:
        if self.program is None or self.tables is None:
            return {}, {}
        return read_counters(self.program, self.tables)


class CountersCollector:
    """Prometheus collector reading the per-CPU counters at scrape time."""

    def __init__(self, controller: L4Controller) -> None:
        self._controller = controller

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        vips, reals = self._controller.counters()
        vip_packets = CounterMetricFamily("gslb_l4_vip_packets", "packets forwarded per VIP", labels=["vip"])
        vip_bytes = CounterMetricFamily("gslb_l4_vip_bytes", "bytes forwarded per VIP", labels=["vip"])
        for name, counter in sorted(vips.items()):
            vip_packets.add_metric([name], counter.packets)
            vip_bytes.add_metric([name], counter.bytes)
        labels = ["vip", "real"]
        real_packets = CounterMetricFamily(
            "gslb_l4_real_packets", "packets forwarded per real of a VIP", labels=labels
        )
        real_bytes = CounterMetricFamily(
            "gslb_l4_real_bytes", "bytes forwarded per real of a VIP", labels=labels
        )
        for key, counter in sorted(reals.items()):
            vip, _, address = key.rpartition("|")
            real_packets.add_metric([vip, address], counter.packets)
            real_bytes.add_metric([vip, address], counter.bytes)
        yield from (vip_packets, vip_bytes, real_packets, real_bytes)
        weights = GaugeMetricFamily(
            "gslb_l4_real_weight", "effective weight after health", labels=["vip", "real"]
        )
        tables = self._controller.tables
        if tables is not None:
            for entry in tables.vips.values():
                for address, weight in entry.weights:
                    weights.add_metric([entry.name, address], weight)
        yield weights
        yield GaugeMetricFamily(
            "gslb_l4_synced_revision", "store revision in the maps", value=self._controller.synced_revision
        )
