import json

from django.core.management.base import BaseCommand, CommandError

from ticketshop.swish_simulator import faults


class Command(BaseCommand):
    help = (
        "Make the Swish simulator slow or flaky at run time (every process "
        "serving it sees the change at its next call), or show its faults "
        "and the calls each operation received. Without options: show."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--operation",
            action="append",
            choices=[*faults.OPERATIONS, "all"],
            help="the operation to change (repeatable; default all)",
        )
        parser.add_argument("--delay", type=float, default=0.0, help="seconds")
        parser.add_argument(
            "--error-rate", type=float, default=0.0, help="share answered 503 (0-1)"
        )
        parser.add_argument(
            "--drop-rate",
            type=float,
            default=0.0,
            help="share whose connection is dropped (0-1)",
        )
        parser.add_argument(
            "--for",
            dest="seconds",
            type=float,
            default=None,
            help="the fault lapses after this many seconds (default: never)",
        )
        parser.add_argument(
            "--clear", action="store_true", help="no fault on any operation"
        )
        parser.add_argument(
            "--reset-calls", action="store_true", help="set the call counts to 0"
        )

    def handle(self, *args, **options):
        operations = options["operation"] or []
        changing = (
            operations
            or options["delay"]
            or options["error_rate"]
            or options["drop_rate"]
            or options["seconds"] is not None
        )
        if options["clear"] and changing:
            raise CommandError("--clear takes no fault options")
        if options["clear"]:
            faults.clear()
        elif changing:
            if not operations or "all" in operations:
                operations = list(faults.OPERATIONS)
            try:
                faults.set_faults(
                    operations,
                    delay_seconds=options["delay"],
                    error_rate=options["error_rate"],
                    drop_rate=options["drop_rate"],
                    seconds=options["seconds"],
                )
            except faults.FaultError as exc:
                raise CommandError(str(exc)) from None
        if options["reset_calls"]:
            faults.reset_calls()
        self.stdout.write(json.dumps(faults.state(), indent=2))
