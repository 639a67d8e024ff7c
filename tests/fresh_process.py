"""Run a few lines of Python in a fresh process with the shop's settings,
from a clean environment (no Swish, Django or base-URL variables inherited)."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Load the settings as a management command does.
SETUP = "import django; django.setup()"
# Load the WSGI application as gunicorn does (settings, then start-up checks).
WSGI = "import ticketshop.wsgi"


def run_fresh(code: str, var_dir, **env) -> subprocess.CompletedProcess:
    environ = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SWISH_", "DJANGO_", "PUBLIC_BASE_URL"))
    }
    environ.update(
        TICKETSHOP_VAR_DIR=str(var_dir),
        PYTHONPATH=str(ROOT / "src"),
        DJANGO_SETTINGS_MODULE="ticketshop.settings",
    )
    environ.update(env)
    return subprocess.run(  # noqa: S603
        [sys.executable, "-c", code],
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
