"""gslb/store."""
