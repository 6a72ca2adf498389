"""Anycast through ExaBGP: announce the DNS service prefix and service VIPs while healthy.

`gslb anycast` is the program ExaBGP runs through its process API. Pure parts: `render` (the
ExaBGP command lines), `decide` (which routes, with which attributes), `hysteresis`, `messages`.
`inputs` keeps the store's specs, VIPs and health states. Edges: `channel` (ExaBGP's pipes),
`selfcheck` (DNS query), `addresses` (`ip addr`), `control` (drain file and HTTP flag), `service`
(the loop tying them together).
"""
