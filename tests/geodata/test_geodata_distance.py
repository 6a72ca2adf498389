"""Great-circle distances against published city-pair distances, and GeoPoint validation."""

from __future__ import annotations

import math

import pytest

from geodata.distance import EARTH_RADIUS_KM, GeoPoint, GeoPointError, great_circle_km

LONDON = GeoPoint(51.5074, -0.1278)
PARIS = GeoPoint(48.8566, 2.3522)
NEW_YORK = GeoPoint(40.7128, -74.0060)
LOS_ANGELES = GeoPoint(34.0522, -118.2437)
SYDNEY = GeoPoint(-33.8688, 151.2093)
TOKYO = GeoPoint(35.6762, 139.6503)
SAN_FRANCISCO = GeoPoint(37.7749, -122.4194)
BERLIN = GeoPoint(52.5200, 13.4050)
SAO_PAULO = GeoPoint(-23.5505, -46.6333)
JOHANNESBURG = GeoPoint(-26.2041, 28.0473)


@pytest.mark.parametrize(
    ("a", "b", "published_km"),
    [
        (LONDON, PARIS, 344),
        (NEW_YORK, LOS_ANGELES, 3936),
        (SYDNEY, TOKYO, 7823),
        (SAN_FRANCISCO, BERLIN, 9100),
        (SAO_PAULO, JOHANNESBURG, 7434),
        (LONDON, NEW_YORK, 5570),
    ],
)
def test_known_city_pairs_within_one_percent(a: GeoPoint, b: GeoPoint, published_km: float) -> None:
    assert a.distance_km(b) == pytest.approx(published_km, rel=0.01)
    assert great_circle_km(a.latitude, a.longitude, b.latitude, b.longitude) == a.distance_km(b)


def test_symmetry_and_zero() -> None:
    assert LONDON.distance_km(LONDON) == 0.0
    assert TOKYO.distance_km(SYDNEY) == pytest.approx(SYDNEY.distance_km(TOKYO))


def test_geometry_of_the_sphere() -> None:
    assert great_circle_km(0, 0, 0, 180) == pytest.approx(math.pi * EARTH_RADIUS_KM)
    assert great_circle_km(90, 0, -90, 0) == pytest.approx(math.pi * EARTH_RADIUS_KM)
    assert great_circle_km(0, 0, 90, 0) == pytest.approx(math.pi / 2 * EARTH_RADIUS_KM)
    # Crossing the antimeridian is short, not the long way round.
    assert great_circle_km(0, 179.5, 0, -179.5) == pytest.approx(math.radians(1) * EARTH_RADIUS_KM)


def test_geo_point_accepts_the_edges() -> None:
    assert GeoPoint(90, 180) == GeoPoint(90.0, 180.0)
    assert GeoPoint(-90, -180).latitude == -90


@pytest.mark.parametrize(
    ("latitude", "longitude", "message"),
    [
        (90.5, 0.0, r"latitude 90.5 is out of range; use degrees in \[-90, 90\]"),
        (-91, 0.0, r"latitude -91 is out of range"),
        (0.0, 180.01, r"longitude 180.01 is out of range; use degrees in \[-180, 180\]"),
        (math.nan, 0.0, r"latitude nan is out of range"),
        (0.0, math.inf, r"longitude inf is out of range"),
    ],
)
def test_geo_point_rejects_out_of_range(latitude: float, longitude: float, message: str) -> None:
    with pytest.raises(GeoPointError, match=message):
        GeoPoint(latitude, longitude)
    assert issubclass(GeoPointError, ValueError)


def test_geo_point_is_frozen() -> None:
    with pytest.raises(AttributeError):
        LONDON.latitude = 0.0  # type: ignore[misc]
