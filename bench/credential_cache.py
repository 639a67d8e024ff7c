#!/usr/bin/env python3
"""Time a scanner's password check: the first (slow hasher) against later ones.

Creates a throw-away SQLite database in a temporary TICKETSHOP_VAR_DIR and one
scanner account whose password is hashed with the settings' own hasher
(Django's PBKDF2, as in production). Each round forgets what this process
verified, times the first ``authenticate_scanner`` (which runs the hasher)
and then --later checks of the same password (which find the verified
credential and only read the accounts), and prints the medians and the ratio.

    .venv/bin/python bench/credential_cache.py --rounds 10 --later 20

See bench/README.md ("credential_cache").
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct horse battery"  # noqa: S105 (a throw-away bench account)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--later", type=int, default=20)
    return parser.parse_args(argv)


def setup_django(var_dir: str) -> None:
    os.environ["TICKETSHOP_VAR_DIR"] = var_dir
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("SCANNER_PASSWORD", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ticketshop.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def main(argv=None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="credential-cache-") as var_dir:
        setup_django(var_dir)
        from django.conf import settings
        from django.contrib.auth.hashers import get_hasher, make_password

        from ticketshop.scanning.credentials import (
            authenticate_scanner,
            verified_credentials,
        )
        from ticketshop.scanning.models import ScannerAccount

        account = ScannerAccount.objects.create(
            name="Bench door", password=make_password(PASSWORD)
        )
        assert authenticate_scanner(password=PASSWORD).account_id == account.pk
        first, later = [], []
        for _ in range(args.rounds):
            verified_credentials.clear()
            started = time.perf_counter()
            authenticate_scanner(password=PASSWORD)
            first.append(time.perf_counter() - started)
            started = time.perf_counter()
            for _ in range(args.later):
                authenticate_scanner(password=PASSWORD)
            later.append((time.perf_counter() - started) / args.later)
        hasher = get_hasher()
        result = {
            "hasher": f"{hasher.algorithm} ({getattr(hasher, 'iterations', '')})",
            "database": settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1],
            "rounds": args.rounds,
            "later_per_round": args.later,
            "python": sys.version.split()[0],
            "cpus": os.cpu_count(),
            "load_average_1min": round(os.getloadavg()[0], 2),
            "first_median_ms": round(statistics.median(first) * 1000, 2),
            "first_max_ms": round(max(first) * 1000, 2),
            "later_median_ms": round(statistics.median(later) * 1000, 3),
            "later_max_ms": round(max(later) * 1000, 3),
            "first_over_later": round(
                statistics.median(first) / statistics.median(later)
            ),
        }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
