"""A local stand-in for Swish's commerce API (development, demo and tests only).

Mounted under /swish-simulator/ when SWISH_ENVIRONMENT=simulator. Nothing in
the shop imports it: the payments app talks to it over HTTP, as to Swish.
"""
