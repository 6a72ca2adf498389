"""The policy REST API: tenants, tokens, roles, audit, dry-run plans and an OpenAPI document.

`create_app` (app.py) is the entry point; `gslb api` and `gslb serve` run it.
"""
