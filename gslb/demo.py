"""The demo tenant and zone that `gslb serve --demo` loads into an empty store."""

from __future__ import annotations

DEMO_TENANT = "demo"
DEMO_ZONE = "demo.example."

DEMO_POLICY_YAML = """\
# Demo policy: one organisation with a child organisation, a GSLB zone and its health checks.
tenants:
  demo:
    display_name: Demo organisation
    checks:
      web:
        type: http
        port: 8081
        path: /healthz
        interval: 2
        timeout: 1
    zones:
      demo.example.:
        ttl: 60
        records:
          '':
            - type: NS
              values: [ns1.demo.example., ns2.demo.example.]
            - type: MX
              values: [{preference: 10, exchange: mail.demo.example.}]
            - type: TXT
              values: ["v=spf1 -all"]
            - type: CAA
              values: [{flags: 0, tag: issue, value: letsencrypt.org}]
          ns1: {type: A, values: [127.0.0.1]}
          ns2: {type: A, values: [127.0.0.1]}
          mail: {type: A, values: [192.0.2.25]}
          www:
            type: A
            values: [192.0.2.10, 192.0.2.11]
          docs: {type: CNAME, values: [www.demo.example.]}
          app:
            type: A
            dynamic:
              pools:
                us:
                  location: {latitude: 37.77, longitude: -122.42}
                  fallback: eu
                  values:
                    - {value: 192.0.2.1, weight: 3, health_check: web, probe: 127.0.0.1}
                    - {value: 192.0.2.2, weight: 1, health_check: web, probe: 127.0.0.1}
                eu:
                  location: {latitude: 52.52, longitude: 13.40}
                  values:
                    - {value: 198.51.100.1}
                asia:
                  location: {latitude: 35.68, longitude: 139.69}
                  fallback: us
                  values:
                    - {value: 203.0.113.1}
              rules:
                - {subnets: [10.0.0.0/8], pool: us}
                - {geos: [EU], pool: eu}
                - {geos: [AS, OC], pool: asia}
                - {nearest: [us, eu, asia]}
              max_answers: 1
              sticky: {ipv4_prefix: 24, ipv6_prefix: 56}
              on_all_down: fail_open
  demo-eu:
    parent: demo
    display_name: Demo Europe (a child organisation)
    zones:
      eu.demo.example.:
        records:
          '':
            - {type: NS, values: [ns1.demo.example., ns2.demo.example.]}
          shop: {type: A, values: [198.51.100.20]}
"""
