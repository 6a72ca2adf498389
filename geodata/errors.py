"""The one exception tree of the geodata package.

Every error a caller can see derives from `GeoDataError`; the ones caused by bad input also derive
from `ValueError` so generic validation code that catches ValueError keeps working.
"""

from __future__ import annotations


class GeoDataError(Exception):
    """Base of every error raised by geodata."""


class GeoCodeError(GeoDataError, ValueError):
    """A continent / country / subdivision code that is not valid."""


class GeoPointError(GeoDataError, ValueError):
    """Coordinates outside the latitude/longitude ranges."""


class GeoAddressError(GeoDataError, ValueError):
    """An IP address that cannot be parsed."""


class GeoDatabaseError(GeoDataError):
    """A GeoIP database that cannot be opened or read."""


class MMDBWriteError(GeoDataError, ValueError):
    """Data that cannot be written to a MaxMind DB file."""


class CSVBuildError(GeoDataError, ValueError):
    """A CSV geography with bad rows; `problems` holds every one as "FILE:LINE: message"."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = tuple(problems)
        count = len(self.problems)
        header = f"{count} problem{'s' if count != 1 else ''} in the CSV; nothing was written"
        super().__init__("\n".join([header, *self.problems]))
