"""Several checker sites: quorum over fresh votes, a broken site outvoted, expired votes, the safety valve."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

from gslb.store import DocRef, Store
from health.checker import Checker, CheckerSettings
from health.probes.base import ProbeOutcome, probe
from health.targets import Target
from tests.conftest import free_port
from tests.health.backends import GslbDns, HttpBackend, policy_store
from tests.health.test_health_live import NAME, policy


def broken_network(dead_port: int) -> Any:
    """A site whose network to the backends is broken: its probes really go to a port nobody serves."""

    async def prober(target: Target) -> ProbeOutcome:
        return await probe(dataclasses.replace(target, port=dead_port))

    return prober


async def states(store: Store, keys: list[str]) -> list[str | None]:
    docs = [await store.get(DocRef("health", key)) for key in keys]
    return [doc.body["state"] if doc else None for doc in docs]


async def test_one_broken_site_causes_no_failover_under_majority(redis_server: Any) -> None:
    port = free_port()
    backends = [await HttpBackend(f"127.0.0.{11 + index}", port).start() for index in range(2)]
    keys = ["acme/web/127.0.0.11", "acme/web/127.0.0.12"]
    async with policy_store(redis_server.url, policy(port)) as (store, prefix):
        settings = CheckerSettings(site="x", valve_share=1.0, evaluate_every=0.2)
        sites = [
            Checker(store, dataclasses.replace(settings, site="eu")),
            Checker(store, dataclasses.replace(settings, site="us")),
            Checker(store, dataclasses.replace(settings, site="broken"), prober=broken_network(free_port())),
        ]
        for site in sites:
            await site.start()
        dns_server = GslbDns(redis_server.url, prefix)
        try:
            await dns_server.wait_answer(NAME, {"192.0.2.1", "192.0.2.2"})
            seen = set()
            for _ in range(30):  # 1.5 s = 7 intervals: plenty for the broken site to vote everything down
                await asyncio.sleep(0.05)
                seen.add(frozenset(await dns_server.answer(NAME)))
                assert await states(store, keys) == ["up", "up"]
            assert seen == {frozenset({"192.0.2.1", "192.0.2.2"})}
            votes = await store.get_votes_many(keys)
            assert {key: votes[key]["broken"]["state"] for key in keys} == dict.fromkeys(keys, "down")
            assert {votes[key][site]["state"] for key in keys for site in ("eu", "us")} == {"up"}

            # A real failure seen by a majority does fail over.
            await backends[1].stop()
            await dns_server.wait_answer(NAME, {"192.0.2.1"}, timeout=3)
            doc = await store.get(DocRef("health", keys[1]))
            assert doc is not None and doc.body["state"] == "down" and doc.body["down"] >= 2

            await backends[1].start()
            await dns_server.wait_answer(NAME, {"192.0.2.1", "192.0.2.2"}, timeout=3)

            # Sites that stop voting expire (vote_max_age(0.2) = 1 s): then the one fresh site left,
            # the broken one, decides alone, and everything is down (fail_closed: no data).
            await sites[0].stop()
            await sites[1].stop()
            waited = await dns_server.wait_answer(NAME, set(), timeout=4)
            assert waited > 0.5  # not before the healthy sites' votes went stale
            doc = await store.get(DocRef("health", keys[1]))
            assert doc is not None and (doc.body["up"], doc.body["down"]) == (0, 1)
        finally:
            dns_server.stop()
            for site in sites:
                await site.stop()
            for backend in backends:
                await backend.stop()


async def test_safety_valve_holds_a_mass_failure_under_fail_open(redis_server: Any) -> None:
    port = free_port()
    backends = [await HttpBackend(f"127.0.0.{11 + index}", port).start() for index in range(4)]
    everyone = {f"192.0.2.{index}" for index in range(1, 5)}
    yaml_text = policy(port, members=4, on_all_down="fail_open", rise=1, fall=1)
    async with policy_store(redis_server.url, yaml_text) as (store, prefix):
        checker = Checker(store, CheckerSettings(site="a", valve_share=0.5, evaluate_every=0.2))
        await checker.start()
        dns_server = GslbDns(redis_server.url, prefix)
        try:
            await dns_server.wait_answer(NAME, everyone)
            # One member of four fails: an ordinary failure, it leaves the answer.
            await backends[3].stop()
            await dns_server.wait_answer(NAME, everyone - {"192.0.2.4"}, timeout=3)
            await backends[3].start()
            await dns_server.wait_answer(NAME, everyone, timeout=3)
            assert checker.writer.valve_trips == 0
            # Three of four fail together: suspicious; fail_open keeps them answering, held up.
            for backend in backends[:3]:
                backend.mode = "fail"
            for _ in range(100):
                await asyncio.sleep(0.05)
                if checker.writer.valve_trips:
                    break
            assert checker.writer.valve_trips == 1
            await asyncio.sleep(0.6)
            assert await dns_server.answer(NAME) == everyone
            keys = [f"acme/web/127.0.0.{11 + index}" for index in range(3)]
            docs = [await store.get(DocRef("health", key)) for key in keys]
            assert [(d.body["state"], d.body["measured"], d.body.get("held")) for d in docs if d] == [
                ("up", "down", True)
            ] * 3
            # They recover: the hold ends, nothing was ever removed.
            for backend in backends[:3]:
                backend.mode = "ok"
            await asyncio.sleep(0.6)
            docs = [await store.get(DocRef("health", key)) for key in keys]
            assert [(d.body["state"], d.body.get("held")) for d in docs if d] == [("up", None)] * 3
            assert not checker.writer.tripped
        finally:
            dns_server.stop()
            await checker.stop()
            for backend in backends:
                await backend.stop()


async def test_warm_site_restart_and_removed_targets_are_collected(redis_server: Any) -> None:
    from gslb.importer import load_policy_yaml
    from gslb.store import PolicyStore

    port = free_port()
    backends = [await HttpBackend(f"127.0.0.{11 + index}", port).start() for index in range(2)]
    keys = ["acme/web/127.0.0.11", "acme/web/127.0.0.12"]
    async with policy_store(redis_server.url, policy(port)) as (store, _prefix):
        settings = CheckerSettings(site="eu", valve_share=1.0, evaluate_every=0.2)
        checker = Checker(store, settings)
        await checker.start()
        try:
            for _ in range(100):
                if await states(store, keys) == ["up", "up"]:
                    break
                await asyncio.sleep(0.02)
            assert await states(store, keys) == ["up", "up"]
            # A restarted site resumes from its own stored votes instead of starting unknown.
            await checker.stop()
            checker = Checker(store, settings)
            await checker.start()
            assert {key: checker.states[key].measured for key in keys} == dict.fromkeys(keys, "up")

            # The second member leaves the policy: its state and votes are removed.
            imported = load_policy_yaml(policy(port, members=1), filename="test")
            await PolicyStore(store).apply(list(imported.specs))
            for _ in range(100):
                if await states(store, keys) == ["up", None]:
                    break
                await asyncio.sleep(0.02)
            assert await states(store, keys) == ["up", None]
            assert (await store.get_votes_many(keys))[keys[1]] == {}
            assert keys[1] not in checker.targets
        finally:
            await checker.stop()
            for backend in backends:
                await backend.stop()
