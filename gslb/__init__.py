"""gslb."""
