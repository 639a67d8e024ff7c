"""Salts of the scanning app's keyed digests, defined once.

Plain constants (no Django import), so that settings.py can use them too.
"""

# Keys the digest of SCANNER_PASSWORD (settings) and of each password tried.
ENV_PASSWORD_SALT = "ticketshop.scanning.env-password"  # noqa: S105 (a salt)
