"""`gslb anycast`: the loop between the store, the local checks and ExaBGP.

Every tick (the self-check interval, or at once when something changed) it decides what this node
must announce and sends ExaBGP only the difference, awaiting each acknowledgement before it counts
a route as announced or withdrawn. It starts by asking ExaBGP what it already announces (a helper
respawned by ExaBGP inherits its predecessor's routes) and withdraws what it would not announce.

Stopping: on SIGTERM every route is withdrawn explicitly and its acknowledgement awaited
(bounded) before exit. When ExaBGP itself stops (its shutdown notice) or is gone (stdin closed)
there is no one to tell: it closed the BGP sessions, which withdrew every route at the router.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import ip_network
from pathlib import Path
from typing import Any

from anycast.addresses import InterfaceAddresses
from anycast.channel import ExaBGPChannel
from anycast.control import DrainControl
from anycast.decide import Decision, Observed, changes, decide, desired_routes
from anycast.errors import ChannelClosedError, CommandFailedError
from anycast.hysteresis import Hysteresis, step
from anycast.inputs import AnycastInputs
from anycast.messages import adj_rib_out_prefixes, neighbor_state
from anycast.render import RenderError, Route, render
from anycast.selfcheck import DnsCheck, run_dns_check
from gslb.store import Follower, Store, StoreError

log = logging.getLogger(__name__)

STORE_RETRY = 1.0


@dataclass(frozen=True, slots=True)
class AnycastSettings:
    local_as: int
    dns_check: DnsCheck | None = None
    interval: float = 0.25
    rise: int = 2
    fall: int = 2
    only: frozenset[str] = frozenset()  # "tenant/name" of the specs to announce; empty: all
    drain_file: Path | None = None
    vip_interface: str | None = None
    ack_timeout: float = 5.0
    withdraw_timeout: float = 1.5


class AnycastService:
    def __init__(
        self,
        store: Store,
        channel: ExaBGPChannel,
        settings: AnycastSettings,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._channel = channel
        self._settings = settings
        self._clock = clock
        self._follower = Follower(store, block_ms=1000)
        self._follower.add_listener(self._on_store_change)
        self._inputs = AnycastInputs()
        self._wake = asyncio.Event()
        self.stop_requested = asyncio.Event()
        self.drain = DrainControl(settings.drain_file)
        self.dns = Hysteresis()
        self.dns_reason = (
            "no check yet" if settings.dns_check else "no --check-name given: DNS never announced"
        )
        self.current: dict[str, Route] = {}  # what ExaBGP acknowledged holding
        self.decisions: list[Decision] = []
        self._states: dict[str, str] = {}
        self.addresses = InterfaceAddresses(settings.vip_interface) if settings.vip_interface else None

    def wake(self) -> None:
        self._wake.set()

    # --- lifecycle ------------------------------------------------------------------------------

    async def run(self) -> int:
        self._channel.add_listener(self._on_exabgp_event)
        self._channel.start()
        check_task = asyncio.create_task(self._check_loop(), name="dns-self-check")
        try:
            if not await self._start_follower():
                return await self._finish()
            await self._first_check()
            await self._reconcile()
            while not self._stopping():
                self._wake.clear()
                try:
                    await self._tick()
                except (ChannelClosedError, asyncio.CancelledError):
                    raise
                except Exception:
                    # Exiting would make ExaBGP respawn us, and give up (and stop) after five
                    # deaths a minute: log, keep what ExaBGP holds, and try again next tick.
                    log.exception("anycast tick failed; retrying")
                await self._wait(self._settings.interval)
            return await self._finish()
        except ChannelClosedError:
            return await self._finish()
        finally:
            check_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await check_task
            await self._follower.stop()

    def _stopping(self) -> bool:
        return (
            self.stop_requested.is_set() or self._channel.shutdown.is_set() or self._channel.closed.is_set()
        )

    async def _wait(self, timeout: float) -> None:
        waits = [
            asyncio.create_task(event.wait())
            for event in (self._wake, self.stop_requested, self._channel.shutdown, self._channel.closed)
        ]
        try:
            await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in waits:
                task.cancel()

    async def _start_follower(self) -> bool:
        # ExaBGP gives up on a helper that dies five times a minute: keep retrying instead of exiting.
        while not self._stopping():
            try:
                await self._follower.start()
                return True
            except StoreError as exc:
                log.error("policy store unreachable (%s); retrying every %.0f s", exc, STORE_RETRY)
                await self._wait(STORE_RETRY)
        return False

    async def _finish(self) -> int:
        if self._channel.closed.is_set():
            log.info("ExaBGP closed the channel; its BGP sessions ended with it")
        elif self._channel.shutdown.is_set():
            # ExaBGP tears its sessions down before it tells its processes, and reads no more
            # commands: the routes are gone already and a withdrawal would only wait for nothing.
            log.info("ExaBGP is stopping; its BGP sessions are closed")
        else:
            await self.withdraw_all()
        if self.addresses is not None:
            await self.addresses.remove_all()
        return 0

    async def withdraw_all(self) -> None:
        """Withdraw every route explicitly and await ExaBGP's acknowledgements, within the bound."""
        if not self.current:
            return
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self._settings.withdraw_timeout):
                for prefix, route in sorted(self.current.items()):
                    await self._command(render("withdraw", route))
                    del self.current[prefix]
        except (TimeoutError, ChannelClosedError, CommandFailedError) as exc:
            log.error("could not withdraw every route before exit (%s): %s", type(exc).__name__, exc)
            return
        log.info("withdrew every route in %.1f ms", (time.perf_counter() - started) * 1000)

    # --- ExaBGP ---------------------------------------------------------------------------------

    async def _command(self, line: str) -> list[str]:
        log.debug("-> exabgp: %s", line)
        return await self._channel.command(line, timeout=self._settings.ack_timeout)

    async def _reconcile(self) -> None:
        """Withdraw what a previous helper left announced and this one would not announce."""
        try:
            await self._command("enable-ack")  # in case ExaBGP's environment did not enable them
            held = adj_rib_out_prefixes(await self._command("show adj-rib out"))
        except (TimeoutError, CommandFailedError) as exc:
            log.warning("cannot read ExaBGP's announced routes (%s); assuming none", exc)
            return
        self._decide()
        wanted = desired_routes(self.decisions)
        for prefix in sorted(held - set(wanted)):
            log.info("withdrawing %s, left announced by a previous helper", prefix)
            with contextlib.suppress(CommandFailedError, TimeoutError):
                await self._command(render("withdraw", Route(prefix=ip_network(prefix))))

    async def _first_check(self) -> None:
        # Decide only once the self-check has a result, or a respawned helper would withdraw the DNS
        # prefix it inherited for the length of one check.
        check = self._settings.dns_check
        if check is None:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(check.timeout + 0.5):
                while self.dns.up is None:
                    await asyncio.sleep(0.01)

    def _on_exabgp_event(self, event: dict[str, Any]) -> None:
        state = neighbor_state(event)
        if state is not None:
            # ExaBGP re-sends its routes itself when a session comes back: nothing to do but tell.
            log.info("BGP neighbor %s is %s", *state)

    # --- deciding -------------------------------------------------------------------------------

    def _decide(self) -> None:
        only = self._settings.only
        specs = [spec for key, spec in self._inputs.specs.items() if not only or key in only]
        observed = Observed(
            dns_ok=self.dns.up is True,
            health=self._inputs.health,
            vips=self._inputs.vips,
            drain_elapsed=self.drain.elapsed(self._clock()),
        )
        self.decisions = decide(specs, observed, local_as=self._settings.local_as)
        for decision in self.decisions:
            name = decision.spec.doc_name()
            if self._states.get(name) != decision.state:
                log.info("%s %s: %s (%s)", name, decision.spec.prefix, decision.state, decision.reason)
                self._states[name] = decision.state

    async def _tick(self) -> None:
        self._decide()
        vip_prefixes = {str(d.spec.prefix) for d in self.decisions if d.spec.service == "vip"}
        for action, route in changes(self.current, desired_routes(self.decisions)):
            prefix = str(route.prefix)
            if action == "announce" and prefix in vip_prefixes and self.addresses is not None:
                await self.addresses.ensure(route.prefix)  # accept the traffic before attracting it
            try:
                line = render(action, route)
            except RenderError as exc:  # validation should make this impossible: never send it
                log.error("not sending %s %s: %s", action, prefix, exc)
                continue
            try:
                await self._command(line)
            except CommandFailedError as exc:
                log.error("%s; retrying on the next tick", exc)
                continue
            except TimeoutError:
                log.error("ExaBGP did not acknowledge %s %s in time; retrying", action, prefix)
                return
            if action == "announce":
                self.current[prefix] = route
            else:
                self.current.pop(prefix, None)
                if self.addresses is not None:  # removes only addresses it added
                    await self.addresses.remove(route.prefix)
            log.info("%s: %s", "announced" if action == "announce" else "withdrew", line)

    # --- inputs ---------------------------------------------------------------------------------

    async def _check_loop(self) -> None:
        check = self._settings.dns_check
        if check is None:
            return
        while True:
            started = self._clock()
            try:
                ok, reason = await run_dns_check(check)
            except Exception as exc:  # a check that cannot run is a failed check, never a dead loop
                ok, reason = False, f"self-check error: {exc!r}"
            before = self.dns.up
            self.dns = step(self.dns, ok, rise=self._settings.rise, fall=self._settings.fall)
            if self.dns.up != before:
                log.log(
                    logging.INFO if self.dns.up else logging.WARNING,
                    "DNS self-check %s: %s",
                    "up" if self.dns.up else "down",
                    reason,
                )
                self._wake.set()
            self.dns_reason = reason
            await asyncio.sleep(max(0.0, self._settings.interval - (self._clock() - started)))

    def _on_store_change(self, revision: int, changed: frozenset[str] | None) -> None:
        for problem in self._inputs.apply(self._follower.docs, changed):
            log.error("%s", problem)  # one bad document must not stop the others
        self._wake.set()

    def status(self) -> dict[str, Any]:
        return {
            "dns_self_check": {"up": self.dns.up, "reason": self.dns_reason},
            "drain": self.drain.requested,
            "store_revision": self._follower.rev,
            "ignored_documents": dict(sorted(self._inputs.ignored.items())),
            "announcements": [
                {
                    "name": d.spec.doc_name(),
                    "prefix": str(d.spec.prefix),
                    "service": d.spec.service,
                    "state": d.state,
                    "reason": d.reason,
                    "announced": render("announce", self.current[str(d.spec.prefix)])
                    if str(d.spec.prefix) in self.current
                    else None,
                }
                for d in self.decisions
            ],
        }
