"""The `gslb` subcommands; each module registers its own parsers."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from gslb.commands import explain, geo, policy_io, proxy, serve


def register_all(
    commands: argparse._SubParsersAction, add_store_options: Callable[[argparse.ArgumentParser], None]
) -> None:
    for module in (serve, proxy, policy_io, explain, geo):
        module.register(commands, add_store_options)
