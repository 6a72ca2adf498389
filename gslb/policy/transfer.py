"""Zone transfer policy of a zone: which TSIG keys (and client networks) may AXFR it, whom to NOTIFY.

Only key *names* live in the policy: secrets belong to each node's key file (`gslb dns --tsig-keys`),
so they never reach the store, exports, the audit log or the API.
"""

from __future__ import annotations

from ipaddress import ip_address
from typing import Annotated

from pydantic import AfterValidator, Field, field_validator

from gslb.policy.base import DomainName, IPNetwork, Model

__all__ = ["NotifyTarget", "ZoneTransferSpec", "notify_address"]

DEFAULT_NOTIFY_PORT = 53


def notify_address(text: str) -> tuple[str, int]:
    """(address, port) of "192.0.2.1", "192.0.2.1:5300", "2001:db8::1" or "[2001:db8::1]:5300"."""
    value = text.strip()
    port = DEFAULT_NOTIFY_PORT
    if value.startswith("["):
        host, sep, rest = value[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise ValueError(f"{text!r}: write an IPv6 address with a port as [2001:db8::1]:53")
        if rest:
            port = _port(text, rest[1:])
    elif value.count(":") == 1:
        host, _, port_text = value.partition(":")
        port = _port(text, port_text)
    else:
        host = value  # IPv4 without a port, or IPv6 without brackets (and so without a port)
    try:
        address = ip_address(host)
    except ValueError:
        raise ValueError(
            f"{text!r} is not an IP address with an optional port (192.0.2.1, 192.0.2.1:5300, "
            "[2001:db8::1]:53); NOTIFY goes to addresses, not names"
        ) from None
    return str(address), port


def _port(text: str, port: str) -> int:
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(f"{text!r}: the port must be a number from 1 to 65535")
    return int(port)


def _canonical_target(text: str) -> str:
    host, port = notify_address(text)
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


NotifyTarget = Annotated[
    str,
    AfterValidator(_canonical_target),
    Field(description="secondary to NOTIFY: ADDRESS or ADDRESS:PORT ([v6]:PORT), port 53 by default"),
]


class ZoneTransferSpec(Model):
    """`transfer:` of a zone. Absent: nobody may transfer the zone and no NOTIFY is sent."""

    keys: tuple[DomainName, ...] = Field(
        description="TSIG key names allowed to transfer the zone (every transfer must be signed)",
    )
    networks: tuple[IPNetwork, ...] = Field(
        (), description="client networks allowed to transfer (CIDR); empty: any address holding a key"
    )
    also_notify: tuple[NotifyTarget, ...] = Field((), description="secondaries sent a NOTIFY on change")
    notify_key: DomainName | None = Field(
        None, description="TSIG key signing NOTIFY messages; null: the first of `keys`"
    )

    @field_validator("keys")
    @classmethod
    def _some_key(cls, keys: tuple[str, ...]) -> tuple[str, ...]:
        if not keys:
            raise ValueError(
                "list at least one TSIG key name: transfers must be signed (the secrets go in the "
                "key file given to gslb dns --tsig-keys)"
            )
        return keys

    @property
    def signing_key(self) -> str:
        return self.notify_key if self.notify_key is not None else self.keys[0]
