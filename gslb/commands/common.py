"""What every command shares: user-facing errors, opening the store, printing problems."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable

from gslb.settings import StoreSettings

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
