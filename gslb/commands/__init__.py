"""The `gslb` subcommands; each module registers its own parsers."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from gslb.commands import anycast, api, explain, geo, health, l4, policy_io, proxy, serve


def register_all(
    commands: argparse._SubParsersAction, add_store_options: Callable[[argparse.ArgumentParser], None]
) -> None:
    for module in (serve, policy_io, explain, geo, anycast, api, health, l4, proxy):
        module.register(commands, add_store_options)
