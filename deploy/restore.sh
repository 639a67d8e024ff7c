#!/bin/sh
# Restore a dump of deploy/backup.sh into an EMPTY database, then check it.
#   DATABASE_URL=postgres://…/shop_restored deploy/restore.sh backup.dump
# Stop the app servers and workers first if you restore over the live name.
set -eu
: "${DATABASE_URL:?DATABASE_URL must be set (the empty target database)}"
dump=${1:?usage: restore.sh <dump file>}
PYTHON=${PYTHON:-.venv/bin/python}

pg_restore --exit-on-error --no-owner --no-privileges --single-transaction \
    --dbname="$DATABASE_URL" "$dump"
"$PYTHON" manage.py migrate --noinput
"$PYTHON" manage.py check_consistency
