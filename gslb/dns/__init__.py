"""gslb/dns."""
