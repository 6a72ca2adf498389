"""TSIG keys of a node (RFC 8945), read once at start from the file `gslb dns --tsig-keys` names.

Secrets stay on the node: the policy names keys, never holds them, so exports, the store and logs
carry no secret. Two formats are read, so a key made for BIND or NSD can be used as it is:

YAML::

    xfr-key:
      algorithm: hmac-sha256
      secret: "base64..."

or BIND's `key` clauses (what `tsig-keygen NAME` prints)::

    key "xfr-key" { algorithm hmac-sha256; secret "base64..."; };
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dns.exception
import dns.name
import dns.tsig
import yaml

__all__ = ["ALGORITHMS", "TsigKeyError", "TsigKeys", "load_tsig_keys", "parse_tsig_keys"]

ALGORITHMS: dict[str, dns.name.Name] = {
    "hmac-sha1": dns.tsig.HMAC_SHA1,
    "hmac-sha224": dns.tsig.HMAC_SHA224,
    "hmac-sha256": dns.tsig.HMAC_SHA256,
    "hmac-sha384": dns.tsig.HMAC_SHA384,
    "hmac-sha512": dns.tsig.HMAC_SHA512,
}

_BIND_KEY = re.compile(r'key\s+"?([^"\s{]+)"?\s*\{(.*?)\}\s*;', re.DOTALL)
_BIND_STATEMENT = re.compile(r'(algorithm|secret)\s+"?([^";\s]+)"?\s*;')


class TsigKeyError(ValueError):
    """The key file is unreadable or wrong; the message says where and what to fix."""


@dataclass(frozen=True, slots=True)
class TsigKeys:
    """Keys by absolute lower-case name. Its repr names the keys and never shows a secret."""

    keys: Mapping[dns.name.Name, dns.tsig.Key] = field(default_factory=dict, repr=False)

    def get(self, name: dns.name.Name | str) -> dns.tsig.Key | None:
        if isinstance(name, str):
            try:
                name = dns.name.from_text(name)
            except dns.exception.DNSException:
                return None
        return self.keys.get(name.canonicalize())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, dns.name.Name | str) and self.get(name) is not None

    def __len__(self) -> int:
        return len(self.keys)

    def __iter__(self) -> Iterator[dns.name.Name]:
        return iter(self.keys)

    def __repr__(self) -> str:
        return f"TsigKeys({', '.join(str(name) for name in self.keys)})"


def _key(name: str, algorithm: Any, secret: Any, where: str) -> dns.tsig.Key:
    if not isinstance(algorithm, str) or algorithm.lower() not in ALGORITHMS:
        raise TsigKeyError(
            f"{where}: algorithm {algorithm!r} is not supported; use one of {', '.join(ALGORITHMS)} "
            "(hmac-sha256 is the usual choice)"
        )
    if not isinstance(secret, str) or not secret.strip():
        raise TsigKeyError(f"{where}: 'secret' must be the base64 text of the key (tsig-keygen makes one)")
    try:
        raw = base64.b64decode(secret.strip(), validate=True)
    except (binascii.Error, ValueError):
        # The secret itself is never echoed: it may be a real key with a typo.
        raise TsigKeyError(f"{where}: 'secret' is not valid base64") from None
    if not raw:
        raise TsigKeyError(f"{where}: 'secret' is empty")
    try:
        key_name = dns.name.from_text(name).canonicalize()
    except dns.exception.DNSException as exc:
        raise TsigKeyError(f"{where}: {name!r} is not a valid key name: {exc}") from None
    return dns.tsig.Key(key_name, raw, ALGORITHMS[algorithm.lower()])


def _from_yaml(text: str, source: str) -> dict[dns.name.Name, dns.tsig.Key]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise TsigKeyError(f"{source}: not YAML nor BIND key clauses: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise TsigKeyError(f"{source}: expected a mapping of key name to {{algorithm, secret}}")
    keys = {}
    for name, body in data.items():
        where = f"{source}: key {name!r}"
        if not isinstance(body, dict):
            raise TsigKeyError(f"{where}: expected {{algorithm: hmac-sha256, secret: BASE64}}")
        unknown = set(body) - {"algorithm", "secret"}
        if unknown:
            raise TsigKeyError(f"{where}: unknown field(s) {', '.join(sorted(map(str, unknown)))}")
        key = _key(str(name), body.get("algorithm", "hmac-sha256"), body.get("secret"), where)
        if key.name in keys:
            raise TsigKeyError(f"{where}: defined twice")
        keys[key.name] = key
    return keys


def _from_bind(text: str, source: str) -> dict[dns.name.Name, dns.tsig.Key]:
    keys = {}
    for match in _BIND_KEY.finditer(text):
        name, body = match.group(1), match.group(2)
        statements = dict(_BIND_STATEMENT.findall(body))
        line = text.count("\n", 0, match.start()) + 1
        where = f"{source}:{line}: key {name!r}"
        key = _key(name, statements.get("algorithm"), statements.get("secret"), where)
        if key.name in keys:
            raise TsigKeyError(f"{where}: defined twice")
        keys[key.name] = key
    return keys


def parse_tsig_keys(text: str, source: str = "<keys>") -> TsigKeys:
    """Keys from the text of a key file (YAML or BIND `key` clauses)."""
    if re.search(r'^\s*key\s+"?[^"\s{]+"?\s*\{', text, re.MULTILINE):
        return TsigKeys(_from_bind(text, source))
    return TsigKeys(_from_yaml(text, source))


def load_tsig_keys(path: Path) -> TsigKeys:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TsigKeyError(f"cannot read the TSIG key file {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise TsigKeyError(f"{path}: not a UTF-8 text file") from None
    return parse_tsig_keys(text, str(path))
