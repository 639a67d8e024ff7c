import json
import sys

from django.core.management.base import BaseCommand, CommandError

from ticketshop.events.importing import ImportFileError, import_events


class Command(BaseCommand):
    help = (
        "Create ticket types and events from a JSON file (format in "
        "docs/organisers.md) and print the new ids as JSON."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="path of the JSON file, or - for stdin")

    def handle(self, *args, file, **options):
        try:
            if file == "-":
                data = json.load(sys.stdin)
            else:
                with open(file, encoding="utf-8") as handle:
                    data = json.load(handle)
        except OSError as exc:
            raise CommandError(f"cannot read {file}: {exc}") from exc
        except json.JSONDecodeError as exc:
            raise CommandError(f"{file} is not valid JSON: {exc}") from exc
        try:
            created = import_events(data=data)
        except ImportFileError as exc:
            raise CommandError(f"{file}: {exc} (nothing was created)") from exc
        self.stdout.write(json.dumps(created))
