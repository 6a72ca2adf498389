"""GeoIP lookups, geo codes, distances and tools to build .mmdb files.

Modules (imported directly, so importing the pure ones never pulls in maxminddb or socket):

- `geodata.codes`        pure: continent/country/subdivision codes, `parse_geo("NA-US-CA")`
- `geodata.distance`     pure: `great_circle_km`, `GeoPoint`
- `geodata.lookup`       `GeoDatabase.open(path).lookup(address) -> GeoInfo | None`
- `geodata.mmdb_writer`  `MMDBWriter`: a MaxMind DB 2.0 writer (pure Python)
- `geodata.build`        `python -m geodata.build IN.csv OUT.mmdb`; `demo_csv_path()`
- `geodata.errors`       the package's exception tree (`GeoDataError` and subclasses)
"""
