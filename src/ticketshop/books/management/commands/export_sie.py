"""Write the SIE 4i file of the receipts of a date range (docs/books.md).

manage.py export_sie --from 2026-12-01 --to 2026-12-06 --by day -o dec.si
"""

from datetime import date

from django.core.management.base import BaseCommand, CommandError

from ticketshop.books.forms import MAX_RANGE_DAYS
from ticketshop.books.sie import GROUPINGS, export_sie


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"not a date (YYYY-MM-DD): {value!r}") from exc


class Command(BaseCommand):
    help = "Write the receipts of a date range as an SIE 4i file of vouchers."

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="start", required=True, help="YYYY-MM-DD")
        parser.add_argument("--to", dest="end", required=True, help="YYYY-MM-DD")
        parser.add_argument(
            "--by",
            choices=GROUPINGS,
            default="day",
            help="one voucher per day or per show night",
        )
        parser.add_argument("-o", "--output", required=True, help="the file to write")

    def handle(self, *args, start, end, by, output, **options):
        start, end = _day(start), _day(end)
        if end < start:
            raise CommandError("--to is before --from")
        if (end - start).days >= MAX_RANGE_DAYS:
            raise CommandError(f"choose at most {MAX_RANGE_DAYS} days")
        content = export_sie(start=start, end=end, by=by)
        with open(output, "wb") as handle:
            handle.write(content)
        self.stderr.write(f"wrote {output} ({len(content)} bytes)")
