# One image for the app servers (gunicorn) and the task workers (run_worker).
# Build: docker build -t ticketshop .   Run: see compose.yaml and the README.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app/src \
    DJANGO_SETTINGS_MODULE=ticketshop.settings \
    TICKETSHOP_VAR_DIR=/var/lib/ticketshop \
    STATIC_ROOT=/app/static \
    PROMETHEUS_MULTIPROC_DIR=/tmp/prometheus \
    LOG_FORMAT=json

# pg_dump/pg_restore for the backup commands run inside the container.
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --home-dir /app \
       --shell /usr/sbin/nologin shop

WORKDIR /app
# Exact versions with hashes (make lock); nothing unpinned is installed.
COPY requirements.lock ./
RUN pip install --require-hashes --no-deps -r requirements.lock

COPY manage.py ./
COPY deploy/gunicorn.conf.py ./deploy/
COPY src ./src
# Static files are collected into the image (served by WhiteNoise); the
# build needs no secrets, so it runs with the demo settings.
RUN mkdir -p /var/lib/ticketshop /tmp/prometheus \
    && TICKETSHOP_VAR_DIR=/tmp/build DJANGO_ENV=demo \
       python manage.py collectstatic --noinput --verbosity 0 \
    && rm -rf /tmp/build \
    && chown -R shop:shop /var/lib/ticketshop /tmp/prometheus

USER shop
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz?scope=web', timeout=2).status != 200)"]
# The app server; the worker runs the same image with
#   python manage.py run_worker --queue-name '*'
CMD ["gunicorn", "ticketshop.wsgi", "--config", "deploy/gunicorn.conf.py"]
