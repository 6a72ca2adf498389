"""Zone transfer and NOTIFY counters, exported to Prometheus at scrape time (see gslb.dns.metrics)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import fields

from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from gslb.dns.notify import Notifier
from gslb.dns.xfr import TransferServer


class TransferMetrics(Collector):
    def __init__(self, transfers: TransferServer, notifier: Notifier | None) -> None:
        self._transfers = transfers
        self._notifier = notifier

    def collect(self) -> Iterator[CounterMetricFamily]:
        requests = CounterMetricFamily(
            "gslb_dns_transfer_requests",
            "AXFR/IXFR requests by zone and result (transferred, up_to_date, refused, notauth, "
            "badkey, badsig, badtime, formerr); zone is empty when it is not one served here",
            labels=("zone", "result"),
        )
        for (zone, result), value in list(self._transfers.counts.items()):
            requests.add_metric((zone, result), value)
        yield requests
        if self._notifier is None:
            return
        notify = CounterMetricFamily(
            "gslb_dns_notify",
            "NOTIFY messages by outcome: sent (retries included), acknowledged, rejected, gave_up, dropped",
            labels=("outcome",),
        )
        stats = self._notifier.stats
        for field in fields(stats):
            notify.add_metric((field.name,), getattr(stats, field.name))
        yield notify
