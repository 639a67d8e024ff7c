"""gunicorn settings of the shop's app servers (image, systemd, make run).

Each can be overridden on the command line or by GUNICORN_CMD_ARGS.
"""

import os
import shutil

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# A request may wait up to SEAT_LOCK_TIMEOUT_SECONDS plus a Swish call
# (SWISH_HTTP_TIMEOUT_SECONDS); anything past this is stuck.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
# Longer than Caddy keeps an idle upstream connection (its `transport http`
# `keepalive`, 30 s in deploy/Caddyfile): Caddy closes an idle connection
# before gunicorn does, so it never sends a request down one gunicorn has
# just closed (a 502 Caddy cannot retry for a POST). See docs/production.md.
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "75"))
graceful_timeout = 10
accesslog = "-"
# The access log line carries the request id the shop answers with.
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms rid=%({x-request-id}o)s'
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def on_starting(server):
    """Start each app server with empty per-process metric files."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        shutil.rmtree(directory, ignore_errors=True)
        os.makedirs(directory, exist_ok=True)


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
