"""gslb/api."""
