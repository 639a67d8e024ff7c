"""Recompute a fair release's draw from what was published.

    manage.py verify_draw draw.json
    manage.py verify_draw https://shop.example.org/api/queue/draw/?chapter_event=7

Reads the published draw (a file, ``-`` for standard input, or a URL), checks
that the seed matches the commitment shown before the window opened, and
that sorting the entry ids by HMAC-SHA256(key=seed, message=id) gives the
published order. Exit code 0 when both hold, 1 when not. Needs nothing of
the shop's database: anyone with the file can run the same recipe
(docs/how-the-release-works.md has it in a few lines of Python).
"""

import hashlib
import hmac
import json
import sys
import urllib.request

from django.core.management.base import BaseCommand, CommandError


def recompute(seed: str, entries: list[str]) -> list[str]:
    key = bytes.fromhex(seed)
    return sorted(
        entries, key=lambda i: hmac.new(key, i.encode(), hashlib.sha256).hexdigest()
    )


def check(draw: dict) -> list[str]:
    """The problems of a published draw (empty: it checks out)."""
    problems = []
    seed = draw.get("seed")
    if not seed:
        return ["not drawn yet: the published draw has no seed"]
    commitment = hashlib.sha256(bytes.fromhex(seed)).hexdigest()
    if commitment != draw.get("seed_commitment"):
        problems.append(
            f"the seed's SHA-256 is {commitment}, not the published commitment"
            f" {draw.get('seed_commitment')}"
        )
    entries = list(draw.get("entries") or [])
    expected = recompute(seed, entries)
    if expected != entries:
        first = next(
            i for i, (a, b) in enumerate(zip(expected, entries, strict=True)) if a != b
        )
        problems.append(
            f"the order differs from the recipe at place {first + 1}:"
            f" {entries[first]} published, {expected[first]} expected"
        )
    return problems


class Command(BaseCommand):
    help = "Check a published draw: its seed against the commitment, and its order."

    def add_arguments(self, parser):
        parser.add_argument("source", help="a file, - for standard input, or a URL")

    def handle(self, *args, source: str, **options):
        try:
            if source == "-":
                raw = sys.stdin.read()
            elif source.startswith(("http://", "https://")):
                with urllib.request.urlopen(source, timeout=30) as response:  # noqa: S310
                    raw = response.read().decode()
            else:
                with open(source, encoding="utf-8") as file:
                    raw = file.read()
            draw = json.loads(raw)
        except (OSError, ValueError) as exc:
            raise CommandError(f"cannot read the draw: {exc}") from exc
        problems = check(draw)
        if problems:
            for problem in problems:
                self.stderr.write(problem)
            sys.exit(1)
        self.stdout.write(
            f"OK: the seed matches its commitment and the {len(draw['entries'])}"
            " entries are in the order the recipe gives."
        )
