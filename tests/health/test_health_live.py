"""The checker against real backends on loopback, with the DNS answer watched through a running `gslb dns`."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from gslb.store import DocRef, Store
from health.checker import Checker, CheckerSettings
from health.probes.base import ProbeOutcome
from health.targets import Target
from tests.conftest import free_port
from tests.health.backends import GOOD_BODY, GslbDns, HttpBackend, policy_store

NAME = "www.example.test."


def policy(
    port: int,
    *,
    interval: float = 0.2,
    timeout: float = 0.15,
    rise: int = 2,
    fall: int = 2,
    members: int = 2,
    quorum: str = "majority",
    on_all_down: str = "fail_closed",
) -> str:
    values = "\n".join(
        f"                  - {{value: 192.0.2.{index}, health_check: web, probe: 127.0.0.{10 + index}}}"
        for index in range(1, members + 1)
    )
    return f"""
tenants:
  acme:
    checks:
      web: {{type: http, port: {port}, path: /healthz, expect_body: "{GOOD_BODY.decode()}",
            interval: {interval}, timeout: {timeout}, rise: {rise}, fall: {fall}, quorum: {quorum}}}
    zones:
      example.test.:
        records:
          '': {{type: NS, values: [ns1.example.test.]}}
          ns1: {{type: A, values: [127.0.0.1]}}
          www:
            type: A
            values: [192.0.2.99]
            dynamic:
              pools:
                main:
                  values:
{values}
              rules: [{{pool: main}}]
              max_answers: null
              on_all_down: {on_all_down}
"""


def recording_checker(store: Store, site: str = "a", valve_share: float = 1.0) -> tuple[Checker, list[Any]]:
    checker = Checker(store, CheckerSettings(site=site, valve_share=valve_share, evaluate_every=0.2))
    history: list[Any] = []
    original = checker._on_result

    def on_result(target: Target, outcome: ProbeOutcome) -> None:
        original(target, outcome)
        history.append((target.key, outcome.ok, checker.states[target.key].measured, outcome.reason))

    checker.scheduler._on_result = on_result  # observe every probe with the state it led to
    return checker, history


def transitions(history: list[Any], key: str) -> list[tuple[str, int]]:
    """(new state, consecutive same-result probes that led to it) for each state change of `key`."""
    out = []
    previous = "unknown"
    streak = 0
    last_ok = None
    for item_key, ok, state, _reason in history:
        if item_key != key:
            continue
        streak = streak + 1 if ok == last_ok else 1
        last_ok = ok
        if state != previous:
            out.append((state, streak))
            previous = state
    return out


async def test_http_transitions_rise_fall_and_dns(redis_server: Any) -> None:
    port = free_port()
    a = await HttpBackend("127.0.0.11", port).start()
    b = await HttpBackend("127.0.0.12", port).start()
    async with policy_store(redis_server.url, policy(port)) as (store, prefix):
        checker, history = recording_checker(store)
        await checker.start()
        dns_server = GslbDns(redis_server.url, prefix)
        key_b = "acme/web/127.0.0.12"
        try:
            await dns_server.wait_answer(NAME, {"192.0.2.1", "192.0.2.2"})
            for mode in ("fail", "hang", "body", "close"):
                b.mode = mode
                await dns_server.wait_answer(NAME, {"192.0.2.1"})
                reason = next(r for k, ok, _s, r in reversed(history) if k == key_b and not ok)
                b.mode = "ok"
                await dns_server.wait_answer(NAME, {"192.0.2.1", "192.0.2.2"})
                print(mode, "->", reason)
                assert {
                    "fail": "status 500",
                    "hang": "timed out",
                    "body": "body does not contain",
                    "close": "closed without a response",
                }[mode] in reason
            # up after exactly rise=2 good probes, down after exactly fall=2 bad ones, every time
            changes = transitions(history, key_b)
            assert changes[0] == ("up", 2)
            assert changes[1:] == [("down", 2), ("up", 2)] * 4
            doc = await store.get(DocRef("health", key_b))
            assert doc is not None and doc.body["state"] == "up"

            # a DNS node that restarts answers from the stored states at once, never blind
            b.mode = "fail"
            await dns_server.wait_answer(NAME, {"192.0.2.1"})
            await checker.stop()
            dns_server.stop()
            dns_server = GslbDns(redis_server.url, prefix)
            assert await dns_server.answer(NAME) == {"192.0.2.1"}
        finally:
            dns_server.stop()
            await checker.stop()
            await a.stop()
            await b.stop()


async def test_dead_backend_leaves_the_answer_within_interval_times_fall(redis_server: Any) -> None:
    interval, fall = 0.25, 3
    port = free_port()
    a = await HttpBackend("127.0.0.11", port).start()
    b = await HttpBackend("127.0.0.12", port).start()
    async with policy_store(redis_server.url, policy(port, interval=interval, timeout=0.2, fall=fall)) as (
        store,
        prefix,
    ):
        checker, _history = recording_checker(store)
        await checker.start()
        dns_server = GslbDns(redis_server.url, prefix)
        try:
            await dns_server.wait_answer(NAME, {"192.0.2.1", "192.0.2.2"})
            await asyncio.sleep(interval * 0.37)  # die somewhere inside an interval, not right after a probe
            died = time.monotonic()
            await b.stop()
            await dns_server.wait_answer(NAME, {"192.0.2.1"}, timeout=3)
            elapsed = time.monotonic() - died
            print(f"backend death -> DNS answer without it: {elapsed * 1000:.0f} ms")
            assert elapsed <= interval * fall + 0.2
        finally:
            dns_server.stop()
            await checker.stop()
            await a.stop()
            await b.stop()


async def test_dns_answer_follows_a_state_change_within_100_ms(redis_server: Any) -> None:
    from gslb.store import Put

    async with policy_store(redis_server.url, policy(free_port())) as (store, prefix):
        dns_server = GslbDns(redis_server.url, prefix)
        try:
            await dns_server.wait_answer(NAME, {"192.0.2.1", "192.0.2.2"})
            delays = []
            for state, expected in [("down", {"192.0.2.1"}), ("up", {"192.0.2.1", "192.0.2.2"})] * 5:
                body = {"state": state, "measured": state, "since": time.time()}
                started = time.monotonic()
                await store.commit([Put(DocRef("health", "acme/web/127.0.0.12"), "acme", body)])
                delays.append(
                    await dns_server.wait_answer(NAME, expected, timeout=1) + time.monotonic() - started
                )
            print(f"state change -> DNS answer: max {max(delays) * 1000:.1f} ms")
            assert max(delays) < 0.1
        finally:
            dns_server.stop()
