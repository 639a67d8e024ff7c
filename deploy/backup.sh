#!/bin/sh
# Back up the shop's PostgreSQL database (custom format, consistent while
# the shop sells: pg_dump reads one snapshot) and keep the last KEEP dumps.
#   DATABASE_URL=postgres://… BACKUP_DIR=/var/backups/ticketshop deploy/backup.sh
# Restore: deploy/restore.sh <dump> (see the README's "Production").
set -eu
: "${DATABASE_URL:?DATABASE_URL must be set}"
BACKUP_DIR=${BACKUP_DIR:-/var/backups/ticketshop}
KEEP=${KEEP:-48}

mkdir -p "$BACKUP_DIR"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
target="$BACKUP_DIR/ticketshop-$stamp.dump"
pg_dump --format=custom --no-owner --no-privileges --file="$target.partial" "$DATABASE_URL"
mv "$target.partial" "$target"
echo "backup written: $target"

# Keep the newest $KEEP dumps.
# (The names sort by time.)
find "$BACKUP_DIR" -maxdepth 1 -name 'ticketshop-*.dump' | sort -r | tail -n +"$((KEEP + 1))" |
    while IFS= read -r old; do rm -f -- "$old"; done
