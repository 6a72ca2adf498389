"""Shared fixtures: a native policy file using every document kind and every record type."""

from __future__ import annotations

import pytest

FULL_POLICY = r"""
tenants:
  acme:
    display_name: ACME Corp
    labels: {team: web, tier: gold}
    checks:
      web: {type: http, port: 80, path: /healthz, interval: 5, timeout: 1, expect_status: [200, 204]}
      secure: {type: https, tls_sni: www.example.com, headers: {X-Probe: gslb}, expect_body: ok}
      tcp443: {type: tcp, port: 443, rise: 3, fall: 2, quorum: all}
      resolver: {type: dns, query_name: example.com., query_type: SOA, transport: tcp}
      ntp: {type: udp, port: 123, send: 1b000000, send_hex: true, quorum: 2}
    vips:
      web-vip:
        address: 192.0.2.80
        port: 443
        forwarding: l2
        maglev_table_size: 251
        reals:
          - {address: 10.0.0.1, weight: 100, health_check: tcp443}
          - {address: 10.0.0.2, weight: 0}
    upstreams:
      web:
        algorithm: consistent_hash
        hash_on: header:X-User
        tls: true
        members:
          - {address: 10.0.1.1, port: 8443, weight: 3, health_check: secure}
          - {address: app.internal, port: 8443}
    routes:
      site:
        hosts: [www.example.com, '*.example.com']
        path: /api
        methods: [GET, POST]
        upstream: web
        priority: 10
    anycast:
      dns:
        prefix: 192.0.2.53/32
        service: dns
        states: {up: {communities: ['65000:100', no-export]}}
      web:
        prefix: 192.0.2.80/32
        service: vip
        vip: web-vip
        next_hop: 198.51.100.1
        drain_seconds: 10
    zones:
      example.com.:
        ttl: 600
        description: main site
        records:
          '':
            - {type: NS, values: [ns1.example.com., ns2.example.net.]}
            - type: SOA
              value: {mname: ns1.example.com., rname: hostmaster.example.com., serial: null, refresh: 7200}
            - type: MX
              values:
                - {preference: 10, exchange: mx1.example.com.}
                - {priority: 20, value: mx2.example.com.}
            - {type: TXT, values: ['v=spf1 mx -all', 'v=DKIM1\; k=rsa\; p=abc']}
            - type: CAA
              values:
                - {tag: issue, value: letsencrypt.org}
                - {flags: 128, tag: iodef, value: 'mailto:sec@example.com'}
            - {type: SPF, value: 'v=spf1 include:_spf.example.com -all'}
            - type: DNSKEY
              value: >-
                257 3 13 mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJ
                xpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ==
            - {type: LOC, value: '51 30 12.748 N 0 7 39.611 W 0.00m 0.00m 0.00m 0.00m'}
            - type: CDS
              value: '12345 13 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef'
          ns1: {type: A, value: 192.0.2.53, ttl: 86400}
          mx1: {type: AAAA, values: ['2001:db8::25']}
          www:
            type: A
            values: [192.0.2.10, 192.0.2.20]
            dynamic:
              pools:
                eu:
                  values:
                    - {value: 192.0.2.10, weight: 3, health_check: web, probe: 10.0.0.10}
                    - {value: 192.0.2.11, status: down}
                  fallback: us
                  location: {latitude: 50.1, longitude: 8.7}
                us:
                  values: [{value: 192.0.2.20, status: up}]
                  location: {latitude: 39.0, longitude: -77.5}
                last: {values: [{value: 192.0.2.99}]}
              rules:
                - {subnets: [198.51.100.0/24], pool: us}
                - {geos: [EU, AF-ZA], pool: eu}
                - {geos: [NA-US-CA], nearest: [us, eu]}
                - {pool: us}
              max_answers: 2
              sticky: {ipv4_prefix: 20}
              on_all_down: fallback_pool
              all_down_pool: last
          v6:
            type: AAAA
            dynamic:
              pools: {main: {values: [{value: '2001:db8::10'}]}}
              rules: [{pool: main}]
              max_answers: null
              on_all_down: fail_closed
          alias:
            type: CNAME
            dynamic:
              pools: {a: {values: [{value: a.cdn.example.net.}]}, b: {values: [{value: b.cdn.example.net.}]}}
              rules: [{geos: [AS], pool: a}, {pool: b}]
          static: {type: CNAME, value: www.example.com.}
          1.2.0.192.in-addr: {type: PTR, value: www.example.com.}
          _sip._tcp:
            type: SRV
            values: [{priority: 10, weight: 60, port: 5060, target: sip.example.com.}]
          _443._tcp.www:
            type: TLSA
            values:
              - certificate_usage: 3
                selector: 1
                matching_type: 1
                certificate_association_data: 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
          host:
            - type: SSHFP
              values:
                - algorithm: 4
                  fingerprint_type: 2
                  fingerprint: abcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcd
                - '1 1 0123456789abcdef0123456789abcdef01234567'
          sub:
            - {type: NS, values: [ns1.sub.example.com.]}
            - type: DS
              value:
                key_tag: 12345
                algorithm: 13
                digest_type: 2
                digest: 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF
          ns1.sub: {type: A, value: 192.0.2.54}
          sip:
            type: NAPTR
            values:
              - order: 100
                preference: 10
                flags: U
                service: E2U+sip
                regexp: '!^(.*)$!sip:\1@example.com!'
                replacement: .
              - '200 10 "S" "SIP+D2T" "" _sip._tcp.example.com.'
          svc: {type: SVCB, value: '1 svc.example.net. alpn=h2 port=8443'}
          web: {type: HTTPS, value: '1 . alpn=h2,h3'}
          _ftp._tcp: {type: URI, value: '10 1 "ftp://ftp.example.com/"'}
  acme-eu:
    parent: acme
    zones:
      eu.example.com.:
        records:
          '': {type: NS, values: [ns1.example.com.]}
          www: {type: A, value: 192.0.2.100}
  globex:
"""


@pytest.fixture
def full_policy_text() -> str:
    return FULL_POLICY
