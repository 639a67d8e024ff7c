"""What the benchmark scripts share: Django set-up, gunicorn, formatting."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def with_database(url: str, name: str) -> str:
    """Return the database URL with its database name replaced."""
    return urlunsplit(urlsplit(url)._replace(path="/" + name))


def setup_django(env: dict[str, str]) -> None:
    os.environ.update(env)
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()


def setup_django_in_process() -> None:
    """Django in this process, on a fresh var folder: the shop's settings
    (its SQLite database there, unless DATABASE_URL names another), with a
    throw-away secret key and warnings only unless the environment says
    otherwise."""
    os.environ["TICKETSHOP_VAR_DIR"] = tempfile.mkdtemp()
    os.environ["DJANGO_SETTINGS_MODULE"] = "ticketshop.settings"
    os.environ.setdefault("DJANGO_SECRET_KEY", "x" * 60)
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    setup_django({})


def bench_event(now, *, seats: int, **fields):
    """The in-process benchmarks' event: nine days after ``now``, on sale
    until the day before, at most 8 tickets per payment (``fields``: any
    other of its fields)."""
    from datetime import timedelta

    from ticketshop.events.models import ChapterEvent

    return ChapterEvent.objects.create(
        title="E",
        event_at=now + timedelta(days=9),
        sales_stop_at=now + timedelta(days=8),
        seats=seats,
        max_tickets_per_payment=8,
        swish_message="x",
        **fields,
    )


def start_server(
    args, env: dict[str, str], workdir: Path, ready_path: str
) -> subprocess.Popen:
    """Start gunicorn as the args say; return once ``ready_path`` answers 200."""
    cmd = [
        str(BIN / "gunicorn"),
        "ticketshop.wsgi",
        f"--bind=127.0.0.1:{args.port}",
        f"--workers={args.workers}",
        f"--worker-class={args.worker_class}",
        f"--threads={args.threads}",
        "--backlog=2048",
        "--graceful-timeout=5",
        # Others on this machine run gunicorn too: no shared control socket.
        "--no-control-socket",
    ]
    log = (workdir / "gunicorn.log").open("w")
    server = subprocess.Popen(
        cmd, cwd=ROOT, env={**os.environ, **env}, stdout=log, stderr=log
    )
    url = f"http://127.0.0.1:{args.port}{ready_path}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited; see {workdir / 'gunicorn.log'}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return server
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    server.terminate()
    raise SystemExit("gunicorn did not answer within 60 s")


def stop_server(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def fmt_ms(us: float) -> str:
    return f"{us / 1000:.1f} ms"


def pg_connect(url: str):
    """An autocommit psycopg connection to the PostgreSQL database of url."""
    import psycopg

    parts = urlsplit(url)
    return psycopg.connect(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
        user=parts.username or "postgres",
        password=parts.password,
        dbname=parts.path.lstrip("/") or "postgres",
        autocommit=True,
    )


def pg_admin(url: str, sql: str) -> None:
    """Run one statement (CREATE/DROP DATABASE) on url's server."""
    with pg_connect(url) as conn:
        conn.execute(sql)


def drop_run(args, workdir) -> None:
    """After a run of release.py or queue_release.py: drop its PostgreSQL
    database, and its folder unless --keep asked to keep it."""
    import shutil
    import sys

    if args.database == "postgres":
        pg_admin(
            args.database_url,
            f'DROP DATABASE IF EXISTS "{args.db_name}" WITH (FORCE)',
        )
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        print(f"kept {workdir}", file=sys.stderr)
