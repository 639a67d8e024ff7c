#!/usr/bin/env bash
# The demo shop's processes, as `make run` starts them (and the slow-client
# test, tests/security/test_slow_clients.py, with ports of its own):
#   Caddy         HOST:PORT          the front proxy (deploy/Caddyfile.local)
#   gunicorn      127.0.0.1:APP_PORT the shop, reached only through Caddy
#   gunicorn      HOST:SIM_PORT      the Swish simulator (SWISH_ENVIRONMENT=simulator)
#   run_worker                       the task worker
# Runs until one of them exits or it is stopped (Ctrl-C, SIGTERM); then it
# stops all of them.
set -u

BIN=${BIN:-.venv/bin}
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}
APP_PORT=${APP_PORT:-8002}
SIM_PORT=${SIM_PORT:-8001}
PYTHON=${PYTHON:-$BIN/python}
export HOST PORT APP_UPSTREAM="127.0.0.1:$APP_PORT"

pids=()
stop() {
	trap - EXIT INT TERM
	if [ ${#pids[@]} -gt 0 ]; then
		kill "${pids[@]}" 2>/dev/null
		wait "${pids[@]}" 2>/dev/null
	fi
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mode="${SWISH_ENVIRONMENT:-$(sed -n 's/^SWISH_ENVIRONMENT=//p' .env 2>/dev/null | tail -n 1)}"
if [ "${mode:-simulator}" = simulator ]; then
	# The simulator is Swish to the shop: a gunicorn of its own, so the
	# shop's calls to "Swish" never wait for the shop's own threads.
	export SWISH_API_URL="${SWISH_API_URL:-http://$HOST:$SIM_PORT/swish-simulator/swish-cpcapi/api/}"
	echo "Swish simulator: http://$HOST:$SIM_PORT/swish-simulator/"
	"$BIN/gunicorn" ticketshop.wsgi --bind "$HOST:$SIM_PORT" --workers 1 \
		--threads 8 --graceful-timeout 5 --no-control-socket &
	pids+=($!)
fi

"$PYTHON" manage.py run_worker --queue-name '*' &
pids+=($!)

# Behind one proxy: the client's address is the last X-Forwarded-For entry.
# Keep-alive longer than Caddy's idle upstream connections (Caddyfile.local):
# see deploy/gunicorn.conf.py.
TRUSTED_PROXY_COUNT="${TRUSTED_PROXY_COUNT:-1}" \
	"$BIN/gunicorn" ticketshop.wsgi --bind "127.0.0.1:$APP_PORT" \
	--workers "${GUNICORN_WORKERS:-2}" --threads "${GUNICORN_THREADS:-4}" --access-logfile - --graceful-timeout 5 --no-control-socket \
	--keep-alive 75 &
pids+=($!)

"$BIN/caddy" run --adapter caddyfile --config deploy/Caddyfile.local &
pids+=($!)

# Until the first of them ends (a port already taken, say).
wait -n
