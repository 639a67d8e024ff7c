"""Settings for the ticket shop.

Everything comes from the environment (or a `.env` file beside `manage.py`),
with defaults that run the demo: SQLite under `var/`, the built-in Swish
simulator and e-mail to the console. `DJANGO_ENV=production` turns the
defaults off and makes missing secrets fail at start-up.
See https://docs.djangoproject.com/en/5.2/ref/settings/ for each setting.
"""

import os
import secrets
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.crypto import salted_hmac

from ticketshop.scanning.salts import ENV_PASSWORD_SALT
from ticketshop.security.startup import (
    check_rate,
    secret_key_problem,
    signing_key_problem,
    whole_number,
)

BASE_DIR = Path(__file__).resolve().parent.parent.parent
# The demo's own files (SQLite database, secret key, mail); created with the
# demo's secret key, the one file written when the settings load.
VAR_DIR = Path(os.environ.get("TICKETSHOP_VAR_DIR", BASE_DIR / "var"))

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    env.read_env(str(BASE_DIR / ".env"))

DJANGO_ENV = env.str("DJANGO_ENV", default="demo")
PRODUCTION = DJANGO_ENV == "production"
DEBUG = env.bool("DJANGO_DEBUG", default=False)


def _demo_secret_key() -> str:
    """Return the demo's own secret key, generated once under var/."""
    path = VAR_DIR / "secret_key"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
# Production refuses to start with a guessable key (short, or with few
# different characters: see security.startup) or with DEBUG (which shows
# settings and tracebacks to anyone); a system check cannot stop gunicorn,
# which runs only the shop's own, so these are raised here.
if PRODUCTION:
    if problem := secret_key_problem(SECRET_KEY):
        raise ImproperlyConfigured(problem)
    if DEBUG:
        raise ImproperlyConfigured("DJANGO_DEBUG must be off in production.")
if not SECRET_KEY:
    SECRET_KEY = _demo_secret_key()

ALLOWED_HOSTS = env.list(
    "DJANGO_ALLOWED_HOSTS",
    default=[] if PRODUCTION else ["127.0.0.1", "localhost", "[::1]", "testserver"],
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_tasks",
    "django_tasks_db",
    "axes",
    "ticketshop.statemachine",
    "ticketshop.leases",
    "ticketshop.security",
    "ticketshop.events",
    "ticketshop.orders",
    "ticketshop.books",
    "ticketshop.payments",
    "ticketshop.delivery",
    "ticketshop.scanning",
    "ticketshop.shop",
    "ticketshop.ops",
    "ticketshop.backoffice",
    "ticketshop.release",
    "ticketshop.waitlist",
]

MIDDLEWARE = [
    "ticketshop.ops.requestid.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "ticketshop.security.middleware.CrossSiteRequestMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # History rows of a staff member's admin request name them.
    "ticketshop.statemachine.actors.StaffActorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a lockout into its response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "ticketshop.urls"
WSGI_APPLICATION = "ticketshop.wsgi.application"
# Paths are served with and without the trailing slash, never redirected.
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # Project-wide overrides (the admin's base_site.html).
        "DIRS": [BASE_DIR / "src" / "ticketshop" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

# Database: https://docs.djangoproject.com/en/5.2/ref/databases/
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
_db = DATABASES["default"]
# Test databases carry the process id so that several test runs on one
# machine never share (and destroy) each other's database.
_test_suffix = f"{os.getpid()}"
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE takes SQLite's write lock at BEGIN, so the capacity count and
    # the insert of a reservation can never interleave with another writer;
    # WAL lets readers go on meanwhile. The busy timeout is the lock timeout.
    _db.setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": env.float("SQLITE_BUSY_TIMEOUT", default=5.0),
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                " PRAGMA foreign_keys=ON;"
            ),
        }
    )
    # A file, not ":memory:", so that live-server threads have connections of
    # their own and lock the way production does.
    _db["TEST"] = {"NAME": str(VAR_DIR / f"test-{_test_suffix}.sqlite3")}
else:
    if _db["ENGINE"] == "django.db.backends.postgresql":
        # Django's backend, its health check without a round trip while the
        # server has said nothing (ticketshop/db/postgresql/base.py).
        _db["ENGINE"] = "ticketshop.db.postgresql"
    _db["CONN_HEALTH_CHECKS"] = env.bool("CONN_HEALTH_CHECKS", default=True)
    # A database that does not answer fails the request fast (503 "Busy")
    # instead of holding a worker thread.
    _db.setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT", default=3)
    )
    # The few statements of every reservation are prepared on the server
    # (db.sql.prepared_cursor; every other statement is bound on the client
    # as Django does by default). Behind a pooler in transaction mode that
    # cannot keep prepared statements, DATABASE_PREPARED_STATEMENTS=false.
    _db["OPTIONS"].setdefault(
        "prepare_threshold",
        5 if env.bool("DATABASE_PREPARED_STATEMENTS", default=True) else None,
    )
    _db["TEST"] = {"NAME": f"test_ticketshop_{_test_suffix}"}
# Connections are kept between requests on both databases: opening an SQLite
# connection (with the PRAGMAs above) and closing it took a sixth of a
# reservation's CPU time in bench/rush.py.
_db["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
ATOMIC_REQUESTS = False
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Seconds to wait for the event's seat lock before answering 503 "Busy".
SEAT_LOCK_TIMEOUT_SECONDS = env.float("SEAT_LOCK_TIMEOUT_SECONDS", default=3.0)
BUSY_RETRY_AFTER_SECONDS = whole_number(env, "BUSY_RETRY_AFTER_SECONDS", 2, minimum=1)
# PostgreSQL: a new reservation (a hold, no money) commits without waiting for
# its WAL to reach the disk (synchronous_commit=off for that transaction
# only), so the event's seat lock is not held through a disk flush. A crash
# of the database server (not a restart) may forget the last holds of the
# final fraction of a second, whole; SQLite's WAL with synchronous=NORMAL
# makes the same trade. Payments and every other write still wait. See
# README "How reservations work" and bench/README.md (issue 12).
RESERVATION_SYNCHRONOUS_COMMIT = env.bool(
    "RESERVATION_SYNCHRONOUS_COMMIT", default=False
)
# Each worker process renders GET /get_chapterevents/ at most this often, so
# tickets_left may be this many seconds old (0: count on every request). See
# orders.selectors.cached_chapterevents and bench/README.md ("rush").
CHAPTEREVENTS_CACHE_SECONDS = env.float("CHAPTEREVENTS_CACHE_SECONDS", default=1.0)

AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation."
        "UserAttributeSimilarityValidator"
    },
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Admin logins: django-axes locks a username from one address out for
# AXES_COOLOFF_TIME after AXES_FAILURE_LIMIT wrong passwords (logged by
# axes and kept in the admin under "Axes").
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = whole_number(env, "ADMIN_LOGIN_FAILURE_LIMIT", 10, minimum=1)
AXES_COOLOFF_TIME = timedelta(
    minutes=whole_number(env, "ADMIN_LOGIN_LOCKOUT_MINUTES", 15, minimum=1)
)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "ticketshop.security.clients.axes_client_ip"
AXES_LOCKOUT_CALLABLE = "ticketshop.security.lockout.lockout_response"
AXES_RESET_ON_SUCCESS = True

# A buyer's session lives in a signed cookie: no database write per buyer,
# any number of stateless app processes; it holds only an unguessable order
# token. A signed-in session (admin, back office) lives in the database, so
# that logging out ends every copy of its cookie (security/sessions.py).
SESSION_ENGINE = "ticketshop.security.sessions"
SESSION_COOKIE_NAME = "sessionid"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=PRODUCTION)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# HTTPS only in production: redirect plain HTTP, and tell browsers (HSTS) to
# never use it again for this host. Set SECURE_HSTS_SECONDS=0 to turn HSTS
# off while trying a new domain; preload commits the domain to browsers' lists.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=PRODUCTION)
SECURE_HSTS_SECONDS = env.int(
    "SECURE_HSTS_SECONDS", default=365 * 24 * 3600 if PRODUCTION else 0
)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool(
    "SECURE_HSTS_INCLUDE_SUBDOMAINS", default=PRODUCTION
)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=PRODUCTION)
# Upper bound; each buyer's session is set to expire a while after the
# reservation (see orders.sessions.SESSION_GRACE).
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=24 * 3600)

# CORS for the original front end on another origin, with cookies.
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_ALLOW_CREDENTIALS = True
CORS_ALLOW_METHODS = ["GET", "POST", "PUT", "OPTIONS"]
CORS_ALLOW_HEADERS = [
    "content-type",
    *env.list("CORS_EXTRA_HEADERS", default=["bypass-tunnel-reminder"]),
]

LANGUAGE_CODE = "sv"
LANGUAGES = [("sv", "Svenska"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "src" / "ticketshop" / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="Europe/Stockholm")
USE_I18N = True
USE_TZ = True
# English dates as ISO or day-month, never US month/day (formats/en/).
FORMAT_MODULE_PATH = ["ticketshop.formats"]

STATIC_URL = "static/"
# Where collectstatic puts the files production serves; the demo serves
# them from the apps (WHITENOISE_USE_FINDERS) and needs no such folder.
STATIC_ROOT = (
    env.str("STATIC_ROOT", default=str(VAR_DIR / "staticfiles") if PRODUCTION else "")
    or None
)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = not PRODUCTION

REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
    "EXCEPTION_HANDLER": "ticketshop.api_errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Ticket shop API",
    "DESCRIPTION": "The public API of the ticket shop (see api-contract.md).",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI served from the sidecar package, not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Background work: django-tasks with its database backend.
TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        # "swish-reads": the reads of refunds from Swish (a run_worker on
        # it also runs the payments' read loops, payments/reads.py); every
        # run_worker --queue-name '*' runs both.
        "QUEUES": ["default", "swish-reads"],
    }
}

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "ticketshop_cache",
        # The scanner throttle's counters live here: do not cull them at
        # Django's default of 300 entries.
        "OPTIONS": {"MAX_ENTRIES": 100_000},
    }
}
# Redis, when configured, replaces the database cache for every process.
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES["default"] = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
    }

# Door scanning. SCANNER_PASSWORD, if set, is accepted besides the scanner
# accounts; only its keyed digest is kept.
_scanner_password = env.str("SCANNER_PASSWORD", default="")
SCANNER_PASSWORD_DIGEST = (
    salted_hmac(
        ENV_PASSWORD_SALT,
        _scanner_password,
        secret=SECRET_KEY,
        algorithm="sha256",
    ).hexdigest()
    if _scanner_password
    else ""
)
del _scanner_password
# Seconds a process trusts a scanner password after the slow hash check.
SCANNER_CREDENTIAL_CACHE_SECONDS = whole_number(
    env, "SCANNER_CREDENTIAL_CACHE_SECONDS", 300, minimum=0
)
# Seconds a process reuses its read of the active scanner accounts for a
# scan (a round trip fewer per scan on PostgreSQL). An account deactivated
# or changed in another process stops working there within this time; in
# the same process at once. 0: read them on every scan.
SCANNER_ACCOUNTS_CACHE_SECONDS = env.float(
    "SCANNER_ACCOUNTS_CACHE_SECONDS", default=1.0
)
# How long a scanner password verified once stays known to every process
# (a door that logged in keeps scanning while its address is throttled).
SCANNER_KNOWN_GOOD_SECONDS = whole_number(
    env, "SCANNER_KNOWN_GOOD_SECONDS", 12 * 3600, minimum=0
)
# Wrong scanner passwords per client address before 429, and
# the window (see scanning.throttle). Limits are read here, so a mistyped
# one refuses to start instead of failing every request later.
SCANNER_THROTTLE_LIMIT = whole_number(env, "SCANNER_THROTTLE_LIMIT", 10, minimum=1)
SCANNER_THROTTLE_WINDOW_SECONDS = whole_number(
    env, "SCANNER_THROTTLE_WINDOW_SECONDS", 60, minimum=1
)
# Ed25519 key that signs the tickets' QR payloads (base64url of its 32 raw
# bytes; `manage.py ticket_signing_key --generate` prints one). Required in
# production (a system check); the demo generates one into this file on
# first use. See ticketshop.orders.signing.
TICKET_SIGNING_KEY = env.str("TICKET_SIGNING_KEY", default="")
if PRODUCTION and (problem := signing_key_problem(TICKET_SIGNING_KEY)):
    # Else every ticket e-mail and QR code would fail, not the start.
    raise ImproperlyConfigured(problem)
TICKET_SIGNING_KEY_FILE = env.str(
    "TICKET_SIGNING_KEY_FILE", default=str(VAR_DIR / "ticket_signing_key")
)
# Reverse proxies in front of the app that append to X-Forwarded-For; 0:
# rate limits and throttles count REMOTE_ADDR and never trust that header.
# SCANNER_PROXY_COUNT is its older name, still read.
TRUSTED_PROXY_COUNT = whole_number(
    env,
    "TRUSTED_PROXY_COUNT",
    whole_number(env, "SCANNER_PROXY_COUNT", 0, minimum=0),
    minimum=0,
)
SCANNER_PROXY_COUNT = TRUSTED_PROXY_COUNT
# A fair release: the draw waits this long after its window closes, and a
# join counts from when it reached the proxy (its X-Request-Start, set by the
# proxy) up to this far back, so that a join sent inside the window but
# queued in front of a busy app server is still drawn (docs/sale-modes.md).
RELEASE_ARRIVAL_GRACE_SECONDS = whole_number(
    env, "RELEASE_ARRIVAL_GRACE_SECONDS", 15, minimum=0
)
# Behind a proxy that ends TLS, its X-Forwarded-Proto tells Django that the
# request came over HTTPS (else SECURE_SSL_REDIRECT would redirect forever).
if TRUSTED_PROXY_COUNT > 0:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Reservations per client address, e.g. "20/min" (also /s, /h, /10min);
# unset = no limit. See the README's "Limits against hoarding".
RESERVATION_RATE_LIMIT = check_rate(
    "RESERVATION_RATE_LIMIT", env.str("RESERVATION_RATE_LIMIT", default="")
)
# Joins of fair-release queues per client address (docs/sale-modes.md), like
# RESERVATION_RATE_LIMIT; unset = no limit.
RELEASE_JOIN_RATE_LIMIT = check_rate(
    "RELEASE_JOIN_RATE_LIMIT", env.str("RELEASE_JOIN_RATE_LIMIT", default="")
)
# A lapsed or declined hold is renewed by start_payment at most this many
# times, and never past this many minutes after the first reservation; each
# renewal counts against RESERVATION_RATE_LIMIT (docs/sessions-and-holds.md).
HOLD_RENEWAL_LIMIT = env.int("HOLD_RENEWAL_LIMIT", default=3)
HOLD_RENEWAL_MINUTES = env.int("HOLD_RENEWAL_MINUTES", default=45)
# Paths that take unsafe requests from anywhere: Swish calls back from its
# own servers (and the body is never trusted; see payments.settle).
CROSS_SITE_EXEMPT_PATHS = [r"^/swish/callback/?$"]

# The demo writes each e-mail as a file under var/mail/ (filemail:// takes an
# absolute path after three slashes: filemail:////srv/shop/mail).
EMAIL_CONFIG = env.email_url("EMAIL_URL", default=f"filemail:///{VAR_DIR / 'mail'}")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="biljetter@example.org")

# --- Delivery: the ticket e-mail (ticketshop.delivery) ---------------------
# Seconds an SMTP connection may stall before the attempt counts as failed.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)
# Organiser text of the ticket e-mail and its receipt.
DELIVERY_ORGANISER_NAME = env.str("DELIVERY_ORGANISER_NAME", default="Demoföreningen")
DELIVERY_ORGANISER_ADDRESS = env.str(
    "DELIVERY_ORGANISER_ADDRESS", default="Exempelvägen 1, 114 28 Stockholm"
)
DELIVERY_VAT_NUMBER = env.str("DELIVERY_VAT_NUMBER", default="SE000000000001")
# Percent of VAT the back office's own estimates use (the event dashboard's
# VAT figure, the bookkeeping spreadsheet). Receipts, the ticket e-mail and
# the SIE file use the organiser's VAT status and each ticket type's rate.
DELIVERY_VAT_RATE = env.str("DELIVERY_VAT_RATE", default="6")
DELIVERY_SUPPORT_EMAIL = env.str("DELIVERY_SUPPORT_EMAIL", default=DEFAULT_FROM_EMAIL)
# Who is e-mailed when money needs a person (Swish paid for an order the shop
# could not complete): a comma-separated list; empty = every active user with
# an address who may refund orders.
ORGANISER_ALERT_EMAILS = env.list("ORGANISER_ALERT_EMAILS", default=[])
DELIVERY_LOGO_URL = env.str("DELIVERY_LOGO_URL", default="")
DELIVERY_TERMS_URL = env.str("DELIVERY_TERMS_URL", default="")
# The e-mail's opening paragraph per language; empty = the built-in text.
DELIVERY_INTRO = {
    "sv": env.str("DELIVERY_INTRO_SV", default=""),
    "en": env.str("DELIVERY_INTRO_EN", default=""),
}
# Language of ticket e-mails of orders that do not know the buyer's (one of LANGUAGES).
DELIVERY_LANGUAGE = env.str("DELIVERY_LANGUAGE", default="sv")
# Retries of a failed send: base * 2**(attempt-1) seconds, capped, then give up.
DELIVERY_RETRY_BASE_SECONDS = env.int("DELIVERY_RETRY_BASE_SECONDS", default=60)
DELIVERY_RETRY_MAX_SECONDS = env.int("DELIVERY_RETRY_MAX_SECONDS", default=3600)
DELIVERY_MAX_ATTEMPTS = env.int("DELIVERY_MAX_ATTEMPTS", default=20)
# A sending worker's lease on an e-mail, renewed while it sends: a worker
# killed mid-send has its e-mail sent by another about this long later.
DELIVERY_LEASE_SECONDS = env.int("DELIVERY_LEASE_SECONDS", default=60)
# How often (across all workers) e-mails of dead workers are looked for.
DELIVERY_REQUEUE_EVERY_SECONDS = env.int("DELIVERY_REQUEUE_EVERY_SECONDS", default=60)

# Shop: the buyer's pages (ticketshop.shop). Branding comes from here so that
# another association can run the shop without touching templates.
SHOP_ASSOCIATION_NAME = env.str("SHOP_ASSOCIATION_NAME", default="Demoföreningen")
# Colours as #rrggbb; text on them is black or white, whichever contrasts more.
SHOP_PRIMARY_COLOUR = env.str("SHOP_PRIMARY_COLOUR", default="#1d3f72")
SHOP_ACCENT_COLOUR = env.str("SHOP_ACCENT_COLOUR", default="#f2b705")
# Empty = the logo bundled with the shop.
SHOP_LOGO_URL = env.str("SHOP_LOGO_URL", default="")
# Empty = the shop's own demo terms page at /terms/.
SHOP_TERMS_URL = env.str("SHOP_TERMS_URL", default="")
# Events (and limited ticket types) with at most this many left read "few left".
SHOP_FEW_LEFT_THRESHOLD = env.int("SHOP_FEW_LEFT_THRESHOLD", default=20)

# Logs: one line per record on stderr; LOG_FORMAT=json writes one JSON
# object per line (python-json-logger) for a log collector. Every record
# carries the request id (X-Request-ID; "-" outside requests).
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # Expected client errors become one line; control characters in any
    # message are escaped (client input must not forge log lines).
    "filters": {
        "request_id": {"()": "ticketshop.ops.logcontext.RequestIdFilter"},
        "client_errors": {"()": "ticketshop.ops.logcontext.ClientErrorFilter"},
        "escape": {"()": "ticketshop.ops.logcontext.EscapeControlFilter"},
    },
    "formatters": {
        "plain": {
            "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
        },
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level"},
            "timestamp": False,
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "plain",
            "filters": ["request_id", "client_errors", "escape"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.server": {"level": "WARNING"},
    },
}
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured("LOG_FORMAT must be plain or json.")

# --- Operations (ticketshop.ops): health, metrics, workers -------------------
# GET /metrics needs "Authorization: Bearer <METRICS_TOKEN>"; unset, only a
# client straight on loopback is served, never through a proxy (with
# TRUSTED_PROXY_COUNT set or any X-Forwarded-*/Forwarded/Via header).
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# How often each worker beats its heartbeat and looks for due periodic jobs.
WORKER_MAINTENANCE_SECONDS = env.float("WORKER_MAINTENANCE_SECONDS", default=10.0)
# How often the workers draw due fair releases and admit the next entries
# (one worker per period, a lease decides).
RELEASE_TICK_SECONDS = env.float("RELEASE_TICK_SECONDS", default=2.0)

# --- Swish -------------------------------------------------------------------
# Owned by the payments app; see the README's "Swish" section.
# SWISH_ENVIRONMENT: "simulator" (default: the built-in stand-in, served by
# this same server under /swish-simulator/), "mss" (Swish's own test server
# with its public test certificates) or "production" (cpc.getswish.net).
SWISH_ENVIRONMENT = env.str("SWISH_ENVIRONMENT", default="simulator")
# Checked at start-up, with the rest of the Swish settings, by the system
# checks in ticketshop.payments.checks (the WSGI application refuses to start
# on an error): e.g. the simulator never runs with DJANGO_ENV=production.
# Where buyers and Swish reach this shop; the callback URL is built from it
# (PUBLIC_BASE_URL + /swish/callback/). Swish itself calls back only to HTTPS
# on port 443 without SNI; the simulator also accepts plain HTTP on loopback.
PUBLIC_BASE_URL = env.str(
    "PUBLIC_BASE_URL", default=f"http://127.0.0.1:{env.int('PORT', default=8000)}"
).rstrip("/")
# Overrides of the Swish API base (…/swish-cpcapi/api/) and the callback URL;
# empty = derived from SWISH_ENVIRONMENT and PUBLIC_BASE_URL.
SWISH_API_URL = env.str("SWISH_API_URL", default="")
SWISH_CALLBACK_URL = env.str("SWISH_CALLBACK_URL", default="")
# Client certificate (PEM), its unencrypted key (PEM) and the CA bundle that
# verifies Swish's server; "mss" defaults to the test files shipped with getswish.
SWISH_CERT_PATH = env.str("SWISH_CERT_PATH", default="")
SWISH_KEY_PATH = env.str("SWISH_KEY_PATH", default="")
SWISH_CA_PATH = env.str("SWISH_CA_PATH", default="")
# The merchant's Swish number (the certificate's CN in production).
SWISH_PAYEE_ALIAS = env.str(
    "SWISH_PAYEE_ALIAS",
    default="" if SWISH_ENVIRONMENT == "production" else "1234679304",
)
SWISH_HTTP_TIMEOUT_SECONDS = env.float("SWISH_HTTP_TIMEOUT_SECONDS", default=10.0)
# --- Swish calls: connect timeout, bound in flight (issue 14) ---
# Connecting to Swish fails fast (a read may take SWISH_HTTP_TIMEOUT_SECONDS).
SWISH_CONNECT_TIMEOUT_SECONDS = env.float("SWISH_CONNECT_TIMEOUT_SECONDS", default=3.0)
# The app server's threads per process (deploy/gunicorn.conf.py reads the
# same variable). Swish calls in flight per process are bounded below it:
# GUNICORN_THREADS - 1 (at least 1), so a slow Swish always leaves a thread
# for /healthz, reservations and the door; beyond the bound start_payment
# answers 503 "Busy" with Retry-After.
GUNICORN_THREADS = whole_number(env, "GUNICORN_THREADS", 4, minimum=1)
# An optional lower cap on that bound (0: none, the derived bound alone).
SWISH_MAX_IN_FLIGHT = whole_number(env, "SWISH_MAX_IN_FLIGHT", 0, minimum=0)
# With every slot taken, a payment start waits this long at most for one,
# and only while every call in flight is younger than this (Swish keeping
# pace); a slower Swish gets 503 "Busy" at once (0: never wait).
SWISH_SLOT_WAIT_SECONDS = env.float("SWISH_SLOT_WAIT_SECONDS", default=1.0)
# --- end of issue 14's Swish call settings ---
# Following a payment (payments/reads.py): the task worker reads it from
# Swish when a callback names it, and on a schedule while it is open: first
# between SWISH_READ_AFTER_SECONDS and twice that after its creation (or the
# last callback), then backing off (doubling) up to
# SWISH_READ_MAX_INTERVAL_SECONDS between reads. Request threads never read.
SWISH_READ_AFTER_SECONDS = env.float("SWISH_READ_AFTER_SECONDS", default=15.0)
SWISH_READ_MAX_INTERVAL_SECONDS = env.float(
    "SWISH_READ_MAX_INTERVAL_SECONDS", default=120.0
)
# Read loops of each run_worker: threads that read the Swish payments whose
# read is due (payments/reads.py), apart from the e-mails' loop.
SWISH_READ_THREADS = whole_number(env, "SWISH_READ_THREADS", 4, minimum=1)
# Reconciliation reads a request again only if nobody read it this recently.
SWISH_POLL_INTERVAL_SECONDS = env.float("SWISH_POLL_INTERVAL_SECONDS", default=3.0)
# Reconciliation: a request Swish still calls CREATED after this long is
# cancelled (Swish ends unpaid requests within about 6 minutes).
SWISH_PENDING_TIMEOUT_SECONDS = env.int("SWISH_PENDING_TIMEOUT_SECONDS", default=600)
SWISH_RECONCILE_EVERY_SECONDS = env.int("SWISH_RECONCILE_EVERY_SECONDS", default=60)
# Refunds: sent by the task workers, at least this many seconds apart across
# all of them (Swish asks for one second between refunds; a lease row counts it).
SWISH_REFUND_SPACING_SECONDS = env.float("SWISH_REFUND_SPACING_SECONDS", default=1.0)
# A refund of a payment made more than this many months ago is refused before
# it is sent (Swish refunds payments of the last 13 months: a month's margin).
SWISH_REFUND_MAX_AGE_MONTHS = env.int("SWISH_REFUND_MAX_AGE_MONTHS", default=12)
# A refund Swish has taken (CREATED, VALIDATED, DEBITED) but not paid back
# after this many hours is shown as stuck in the back office and /metrics.
SWISH_REFUND_STUCK_HOURS = env.float("SWISH_REFUND_STUCK_HOURS", default=24.0)
# The simulator (SWISH_ENVIRONMENT=simulator only). AUTOPAY unset = wait for
# the payer's click on /swish-simulator/pay/<token>/.
SWISH_SIMULATOR_AUTOPAY_SECONDS = env.float(
    "SWISH_SIMULATOR_AUTOPAY_SECONDS", default=None
)
SWISH_SIMULATOR_TIMEOUT_SECONDS = env.float(
    "SWISH_SIMULATOR_TIMEOUT_SECONDS", default=180.0
)
# Delay of the asynchronous MSS error triggers (message = TM01, DS24, …).
SWISH_SIMULATOR_ERROR_DELAY_SECONDS = env.float(
    "SWISH_SIMULATOR_ERROR_DELAY_SECONDS", default=4.0
)
# Failure switches, not part of Swish's own test server.
SWISH_SIMULATOR_DROP_CALLBACKS = env.bool(
    "SWISH_SIMULATOR_DROP_CALLBACKS", default=False
)
SWISH_SIMULATOR_DOUBLE_CALLBACKS = env.bool(
    "SWISH_SIMULATOR_DOUBLE_CALLBACKS", default=False
)
# "" | "500" | "timeout" (hang, create nothing) | "timeout-after-create"
SWISH_SIMULATOR_FAIL_CREATE = env.str("SWISH_SIMULATOR_FAIL_CREATE", default="")
SWISH_SIMULATOR_HANG_SECONDS = env.float("SWISH_SIMULATOR_HANG_SECONDS", default=30.0)
# Each refund step (CREATED -> DEBITED -> PAID) takes this long, as in MSS.
SWISH_SIMULATOR_REFUND_STEP_SECONDS = env.float(
    "SWISH_SIMULATOR_REFUND_STEP_SECONDS", default=4.0
)
# Refund failure switch: "" | "500" | "timeout" (hang, create nothing) |
# "timeout-after-create" | an MSS refund error code (RF07, BANKIDCL, FF10,
# DS24): created, then ends in ERROR with it.
SWISH_SIMULATOR_FAIL_REFUND = env.str("SWISH_SIMULATOR_FAIL_REFUND", default="")
if SWISH_ENVIRONMENT == "simulator":
    INSTALLED_APPS.append("ticketshop.swish_simulator")

# --- Swish: minimum amount, the buyer's way back, the QR code (issue 14) ------
# Swish refuses amounts below this (AM06): a ticket type may cost 0 kr (the
# order is confirmed without Swish) or at least this much, never in between.
# Swish's own rule, not deployment configuration, so not read from the env.
SWISH_MIN_AMOUNT = Decimal("1.00")
# How long the link that brings the buyer back from the Swish app (the
# callbackurl of swish://paymentrequest) shows the order, in seconds.
SHOP_RETURN_LINK_MAX_AGE_SECONDS = env.int(
    "SHOP_RETURN_LINK_MAX_AGE_SECONDS", default=24 * 3600
)
# Swish's QR service for a payment request token (production only; the
# simulator and MSS draw the QR code locally). Empty: always draw locally.
SWISH_QR_SERVICE_URL = env.str(
    "SWISH_QR_SERVICE_URL",
    default="https://mpc.getswish.net/qrg-swish/api/v1/commerce"
    if SWISH_ENVIRONMENT == "production"
    else "",
)
# How long the pay page's QR code waits for that service before drawing it
# locally instead.
SWISH_QR_TIMEOUT_SECONDS = env.float("SWISH_QR_TIMEOUT_SECONDS", default=1.5)
