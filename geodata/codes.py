"""Continent, country and subdivision codes, and the octoDNS-style geo strings built from them.

Pure: no I/O. A geo string is "CONTINENT", "CONTINENT-COUNTRY" or "CONTINENT-COUNTRY-SUBDIVISION"
("EU", "NA-US", "NA-US-CA"), the shape octoDNS dynamic records use, so users can paste their rules.

Countries sit in the continent MaxMind reports for them. MaxMind follows GeoNames, which differs
from some other lists: Turkey, Armenia, Azerbaijan and Georgia are in Asia, Cyprus and Russia in
Europe, Timor-Leste in Oceania, South Georgia in Antarctica. Using the same assignment as the
database matters: a rule "EU-CY" must be reachable by a client the database puts in "EU".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from geodata.errors import GeoCodeError

__all__ = [
    "CONTINENTS",
    "COUNTRY_CONTINENTS",
    "GeoCode",
    "GeoCodeError",
    "continent_of",
    "geo_keys",
    "is_subdivision_code",
    "parse_geo",
]

CONTINENTS: Mapping[str, str] = MappingProxyType(
    {
        "AF": "Africa",
        "AN": "Antarctica",
        "AS": "Asia",
        "EU": "Europe",
        "NA": "North America",
        "OC": "Oceania",
        "SA": "South America",
    }
)

# Every ISO 3166-1 alpha-2 code (249) plus XK (Kosovo, user-assigned but emitted by MaxMind),
# grouped by continent because that is how the data is checked against a reference.
_BY_CONTINENT = {
    "AF": "AO BF BI BJ BW CD CF CG CI CM CV DJ DZ EG EH ER ET GA GH GM GN GQ GW KE KM LR LS LY MA MG"
    " ML MR MU MW MZ NA NE NG RE RW SC SD SH SL SN SO SS ST SZ TD TG TN TZ UG YT ZA ZM ZW",
    "AN": "AQ BV GS HM TF",
    "AS": "AE AF AM AZ BD BH BN BT CC CN CX GE HK ID IL IN IO IQ IR JO JP KG KH KP KR KW KZ LA LB LK"
    " MM MN MO MV MY NP OM PH PK PS QA SA SG SY TH TJ TM TR TW UZ VN YE",
    "EU": "AD AL AT AX BA BE BG BY CH CY CZ DE DK EE ES FI FO FR GB GG GI GR HR HU IE IM IS IT JE LI"
    " LT LU LV MC MD ME MK MT NL NO PL PT RO RS RU SE SI SJ SK SM UA VA XK",
    "NA": "AG AI AW BB BL BM BQ BS BZ CA CR CU CW DM DO GD GL GP GT HN HT JM KN KY LC MF MQ MS MX NI"
    " PA PM PR SV SX TC TT US VC VG VI",
    "OC": "AS AU CK FJ FM GU KI MH MP NC NF NR NU NZ PF PG PN PW SB TK TL TO TV UM VU WF WS",
    "SA": "AR BO BR CL CO EC FK GF GY PE PY SR UY VE",
}

COUNTRY_CONTINENTS: Mapping[str, str] = MappingProxyType(
    {country: continent for continent, names in _BY_CONTINENT.items() for country in names.split()}
)

_CONTINENT_LIST = ", ".join(CONTINENTS)
_SHAPES = "'EU' (continent), 'NA-US' (continent-country) or 'NA-US-CA' (continent-country-subdivision)"


@dataclass(frozen=True, slots=True)
class GeoCode:
    """A parsed geo string; `country` is None for a whole continent, `subdivision` for a whole country."""

    continent: str
    country: str | None = None
    subdivision: str | None = None

    @property
    def key(self) -> str:
        """The canonical string form, e.g. "NA-US-CA"."""
        if self.country is None:
            return self.continent
        if self.subdivision is None:
            return f"{self.continent}-{self.country}"
        return f"{self.continent}-{self.country}-{self.subdivision}"

    def __str__(self) -> str:
        return self.key


def continent_of(country: str) -> str | None:
    """The continent code of an ISO country code (any case), or None when the country is unknown."""
    return COUNTRY_CONTINENTS.get(country.upper())


def is_subdivision_code(code: str) -> bool:
    """True for an ISO 3166-2 subdivision suffix: 1-3 ASCII letters or digits ("CA", "13", "ENG")."""
    return 1 <= len(code) <= 3 and code.isascii() and code.isalnum()


def parse_geo(text: str) -> GeoCode:
    """Parse "EU", "NA-US" or "NA-US-CA" (any case); raise GeoCodeError saying what to fix."""
    if not isinstance(text, str):
        raise GeoCodeError(f"geo code must be a string such as 'NA-US', not {type(text).__name__}")
    normalized = text.strip().upper()
    if not normalized:
        raise GeoCodeError(f"empty geo code — use {_SHAPES}")
    parts = normalized.split("-")
    if len(parts) > 3:
        raise GeoCodeError(f"geo code {text!r} has {len(parts)} parts — use {_SHAPES}")
    continent = parts[0]
    if continent not in CONTINENTS:
        raise GeoCodeError(f"unknown continent {continent!r} in {text!r} — use one of {_CONTINENT_LIST}")
    if len(parts) == 1:
        return GeoCode(continent)
    country = parts[1]
    actual = COUNTRY_CONTINENTS.get(country)
    if actual is None:
        raise GeoCodeError(f"unknown country {country!r} — use ISO 3166-1 alpha-2 codes such as 'US'")
    if actual != continent:
        fixed = "-".join([actual, *parts[1:]])
        raise GeoCodeError(
            f"country {country!r} is in continent {actual!r}, not {continent!r} — write {fixed!r}"
        )
    if len(parts) == 2:
        return GeoCode(continent, country)
    subdivision = parts[2]
    if not is_subdivision_code(subdivision):
        raise GeoCodeError(
            f"invalid subdivision {subdivision!r} — use the ISO 3166-2 suffix of 1-3 letters or digits,"
            f" such as 'CA' in 'NA-US-CA'"
        )
    return GeoCode(continent, country, subdivision)


def geo_keys(continent: str | None, country: str | None, subdivision: str | None) -> tuple[str, ...]:
    """Geo strings a client location matches, most specific first: ("NA-US-CA", "NA-US", "NA").

    Rule matching is then one dict probe per key instead of parsing rules per query. A missing
    continent is derived from the country; parts below a missing one are ignored.
    """
    if continent is None and country is not None:
        continent = COUNTRY_CONTINENTS.get(country)
    if continent is None:
        return ()
    if country is None:
        return (continent,)
    if subdivision is None:
        return (f"{continent}-{country}", continent)
    return (f"{continent}-{country}-{subdivision}", f"{continent}-{country}", continent)
