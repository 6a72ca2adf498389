"""Process-edge configuration: parsed once from flags and environment, passed down as keyword arguments."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ENV_REDIS_URL = "GSLB_REDIS_URL"
ENV_DATA_DIR = "GSLB_DATA_DIR"
ENV_PREFIX = "GSLB_PREFIX"


def default_data_dir() -> Path:
    """Where the embedded store keeps its journal: $GSLB_DATA_DIR, else $XDG_DATA_HOME/gslb."""
    if os.environ.get(ENV_DATA_DIR):
        return Path(os.environ[ENV_DATA_DIR])
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "gslb"


@dataclass(frozen=True, slots=True)
class StoreSettings:
    redis_url: str | None
    data_dir: Path
    prefix: str

    def describe(self) -> str:
        if self.redis_url is None:
            return f"embedded store in {self.data_dir}"
        return f"Redis store at {redact_url(self.redis_url)} (prefix {self.prefix!r})"


def redact_url(url: str) -> str:
    """A Redis URL without its password, safe to log."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    credentials, _, host = rest.rpartition("@")
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user + ':***' if user else '***'}@{host}"
