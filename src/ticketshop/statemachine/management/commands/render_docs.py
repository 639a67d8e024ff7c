"""Rewrite the state machines' tables in the docs from the code."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ticketshop.statemachine import tables


class Command(BaseCommand):
    help = (
        "Rewrite every table between <!-- table:NAME --> and <!-- /table --> in"
        " README.md and docs/*.md from the state machine NAME (--check: change"
        " nothing, exit 1 if a page is stale)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "pages", nargs="*", type=Path, help="pages to render (default: all)"
        )
        parser.add_argument(
            "--check",
            action="store_true",
            help="change nothing; fail if a page differs from its render",
        )

    def handle(self, *args, pages, check, **options):
        stale = []
        for page in pages or tables.pages():
            text = page.read_text(encoding="utf-8")
            try:
                rendered = tables.render(text)
            except tables.UnknownTable as error:
                raise CommandError(f"{page}: {error.args[0]}") from None
            if rendered == text:
                continue
            stale.append(page)
            if not check:
                page.write_text(rendered, encoding="utf-8")
                self.stdout.write(f"rendered {page}")
        if check and stale:
            raise CommandError(
                "stale tables (run `manage.py render_docs`): "
                + ", ".join(str(p) for p in stale)
            )
        if not stale:
            self.stdout.write("the tables are up to date")
