"""What every command shares: user-facing errors, opening the store, printing problems."""

from __future__ import annotations

import argparse
import contextlib
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from gslb.settings import ENV_PREFIX, ENV_REDIS_URL, StoreSettings, default_data_dir

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_REFUSED = 3  # input refused (validation problems, a plan that needs --force, a conflict)


class UserFacingError(Exception):
    """An error whose message is complete for the user: printed without a traceback."""

    def __init__(self, message: str, exit_code: int = EXIT_FAILURE) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@contextlib.asynccontextmanager
async def opened_store(settings: StoreSettings):  # type: ignore[no-untyped-def]
    """Open the configured store for the duration of a command, turning store errors into plain messages."""
    from gslb.store import StoreError, open_store

    try:
        store = await open_store(settings.redis_url, data_dir=settings.data_dir, prefix=settings.prefix)
    except StoreError as exc:
        raise UserFacingError(str(exc)) from None
    try:
        yield store
    finally:
        await store.close()


def bullet_list(lines: Iterable[str]) -> str:
    return "\n".join(f"  - {line}" for line in lines)


def add_store_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("policy store")
    group.add_argument(
        "--redis-url",
        default=os.environ.get(ENV_REDIS_URL),
        help=f"Redis URL (redis://host:6379/0, rediss://, unix://); env {ENV_REDIS_URL}. "
        "Without it the embedded store is used.",
    )
    group.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="directory of the embedded store (default $GSLB_DATA_DIR or ~/.local/share/gslb)",
    )
    group.add_argument(
        "--prefix",
        default=os.environ.get(ENV_PREFIX, "gslb"),
        help=f"key prefix in Redis, to share one Redis between installations; env {ENV_PREFIX}",
    )


def store_settings(args: argparse.Namespace) -> StoreSettings:
    return StoreSettings(
        redis_url=args.redis_url or None,
        data_dir=args.data_dir or default_data_dir(),
        prefix=args.prefix,
    )


def open_geo(path: Path | None) -> Any:
    """The GeoIP database at `path` (None: no geography); a UserFacingError saying what is wrong."""
    if path is None:
        return None
    from geodata.errors import GeoDataError
    from geodata.lookup import GeoDatabase

    try:
        return GeoDatabase.open(path)
    except GeoDataError as exc:
        raise UserFacingError(str(exc)) from None
