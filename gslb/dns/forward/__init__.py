"""Forwarding names outside the hosted zones to upstream resolvers, with a cache (see forwarder)."""
