"""Geo codes: the octoDNS-style strings users write in rules, and the country -> continent table."""

from __future__ import annotations

import pytest

from geodata.codes import (
    CONTINENTS,
    COUNTRY_CONTINENTS,
    GeoCode,
    GeoCodeError,
    continent_of,
    geo_keys,
    is_subdivision_code,
    parse_geo,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("EU", GeoCode("EU")),
        ("NA-US", GeoCode("NA", "US")),
        ("NA-US-CA", GeoCode("NA", "US", "CA")),
        ("na-us-ca", GeoCode("NA", "US", "CA")),
        ("  eu-de-be ", GeoCode("EU", "DE", "BE")),
        ("AS-JP-13", GeoCode("AS", "JP", "13")),
        ("EU-GB-ENG", GeoCode("EU", "GB", "ENG")),
        ("EU-XK", GeoCode("EU", "XK")),
        ("AN-AQ", GeoCode("AN", "AQ")),
    ],
)
def test_parse_geo_accepts_and_normalises(text: str, expected: GeoCode) -> None:
    assert parse_geo(text) == expected


def test_key_gives_back_the_canonical_string() -> None:
    assert parse_geo("eu").key == "EU"
    assert parse_geo("na-us").key == "NA-US"
    assert parse_geo("oc-au-nsw").key == "OC-AU-NSW"
    assert str(parse_geo("sa-br-sp")) == "SA-BR-SP"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("EU-UX", "unknown country 'UX' — use ISO 3166-1 alpha-2 codes such as 'US'"),
        ("EU-US", "country 'US' is in continent 'NA', not 'EU' — write 'NA-US'"),
        ("EU-US-CA", "country 'US' is in continent 'NA', not 'EU' — write 'NA-US-CA'"),
        ("XX", "unknown continent 'XX' in 'XX' — use one of AF, AN, AS, EU, NA, OC, SA"),
        ("XX-YY", "unknown continent 'XX' in 'XX-YY' — use one of AF, AN, AS, EU, NA, OC, SA"),
        ("", "empty geo code — use 'EU' (continent), 'NA-US' (continent-country) or 'NA-US-CA'"),
        ("NA-US-CA-SF", "geo code 'NA-US-CA-SF' has 4 parts — use 'EU' (continent)"),
        ("NA-US-CALI", "invalid subdivision 'CALI' — use the ISO 3166-2 suffix of 1-3 letters or digits"),
        ("NA-US-", "invalid subdivision '' — use the ISO 3166-2 suffix"),
        ("NA-US-C_", "invalid subdivision 'C_'"),
    ],
)
def test_parse_geo_errors_say_what_to_fix(text: str, message: str) -> None:
    with pytest.raises(GeoCodeError) as caught:
        parse_geo(text)
    assert str(caught.value).startswith(message)


def test_geo_code_error_is_a_value_error_and_non_strings_are_refused() -> None:
    assert issubclass(GeoCodeError, ValueError)
    with pytest.raises(GeoCodeError, match="must be a string such as 'NA-US', not int"):
        parse_geo(42)  # type: ignore[arg-type]


def test_country_table_covers_iso_3166_plus_kosovo() -> None:
    assert len(COUNTRY_CONTINENTS) == 250  # 249 ISO 3166-1 alpha-2 codes + XK
    assert set(COUNTRY_CONTINENTS.values()) == set(CONTINENTS)
    assert all(len(code) == 2 and code.isalpha() and code.isupper() for code in COUNTRY_CONTINENTS)
    assert CONTINENTS["OC"] == "Oceania"
    with pytest.raises(TypeError):
        COUNTRY_CONTINENTS["ZZ"] = "EU"  # type: ignore[index]


@pytest.mark.parametrize(
    ("country", "continent"),
    [
        ("US", "NA"),
        ("us", "NA"),
        ("MX", "NA"),
        ("PA", "NA"),
        ("BR", "SA"),
        ("DE", "EU"),
        ("RU", "EU"),
        ("CY", "EU"),
        ("XK", "EU"),
        ("TR", "AS"),
        ("GE", "AS"),
        ("JP", "AS"),
        ("EG", "AF"),
        ("ZA", "AF"),
        ("AU", "OC"),
        ("TL", "OC"),
        ("AQ", "AN"),
        ("GS", "AN"),
    ],
)
def test_continent_of_follows_maxmind(country: str, continent: str) -> None:
    assert continent_of(country) == continent


def test_continent_of_unknown_country_is_none() -> None:
    assert continent_of("ZZ") is None
    assert continent_of("EU") is None


@pytest.mark.parametrize("code", ["CA", "13", "ENG", "NSW", "1", "BE"])
def test_subdivision_codes_accepted(code: str) -> None:
    assert is_subdivision_code(code)


@pytest.mark.parametrize("code", ["", "CALI", "C-A", "C A", "ÉÉ", "C_"])
def test_subdivision_codes_rejected(code: str) -> None:
    assert not is_subdivision_code(code)


def test_geo_keys_most_specific_first() -> None:
    assert geo_keys("NA", "US", "CA") == ("NA-US-CA", "NA-US", "NA")
    assert geo_keys("EU", "DE", None) == ("EU-DE", "EU")
    assert geo_keys("EU", None, None) == ("EU",)
    assert geo_keys(None, "JP", "13") == ("AS-JP-13", "AS-JP", "AS")
    assert geo_keys(None, None, None) == ()
    assert geo_keys(None, "ZZ", None) == ()
