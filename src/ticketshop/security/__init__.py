"""Defences against hostile clients: cross-site requests, rate limits, addresses."""
