"""Great-circle distance on a spherical Earth, for `nearest` rules.

Pure: no I/O. The sphere (mean radius, IUGG) is off by up to ~0.5% against the WGS-84 ellipsoid,
far below the error of GeoIP coordinates themselves, and it keeps the maths cheap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from geodata.errors import GeoPointError

__all__ = ["EARTH_RADIUS_KM", "GeoPoint", "GeoPointError", "great_circle_km"]

EARTH_RADIUS_KM = 6371.0088


def great_circle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Haversine distance in kilometres between two points given in degrees."""
    phi1 = math.radians(lat1)
    phi2 = math.radians(lat2)
    half_dphi = (phi2 - phi1) / 2
    half_dlambda = math.radians(lon2 - lon1) / 2
    h = math.sin(half_dphi) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(half_dlambda) ** 2
    # Rounding can push h a hair above 1 for antipodal points; asin would then raise.
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(1.0, h)))


@dataclass(frozen=True, slots=True)
class GeoPoint:
    """A validated position in degrees (WGS-84)."""

    latitude: float
    longitude: float

    def __post_init__(self) -> None:
        # `not (a <= x <= b)` also rejects NaN, which would otherwise poison every distance.
        if not (-90.0 <= self.latitude <= 90.0):
            raise GeoPointError(f"latitude {self.latitude!r} is out of range; use degrees in [-90, 90]")
        if not (-180.0 <= self.longitude <= 180.0):
            raise GeoPointError(f"longitude {self.longitude!r} is out of range; use degrees in [-180, 180]")

    def distance_km(self, other: GeoPoint) -> float:
        """Great-circle distance to `other` in kilometres."""
        return great_circle_km(self.latitude, self.longitude, other.latitude, other.longitude)
