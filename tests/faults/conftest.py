"""The fault suite runs on PostgreSQL (`make test` with a postgres
DATABASE_URL, as .ci/run does), against a cluster of its own."""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from .harness import PgCluster, pg_bindir


def pytest_collection_modifyitems(config, items):
    """On a database other than PostgreSQL the fault suite is left out of
    the run (deselected, not skipped: a skip in CI means something is
    missing, and .ci/skips.py fails the run on one). The engine decides, not
    the spelling of DATABASE_URL (psql://, pgsql:// and postgres:// alike)."""
    from django.conf import settings

    here = Path(__file__).parent
    on_postgres = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    no_pg = pytest.mark.skip(reason="fault suite: initdb/pg_ctl not installed")
    kept, dropped = [], []
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.faults)
            if not on_postgres:
                dropped.append(item)
                continue
            if pg_bindir() is None:
                item.add_marker(no_pg)
        kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture(scope="module")
def cluster():
    workdir = Path(tempfile.mkdtemp(prefix="ticketshop-faults-"))
    os.chmod(workdir, 0o755)  # noqa: S103 - the postgres user must enter it
    pg = PgCluster(workdir / "pg")
    pg.init()
    try:
        yield pg
    finally:
        pg.stop("immediate")
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def workdir(tmp_path):
    return tmp_path


@pytest.fixture
def database(cluster, request):
    """A fresh database of the throw-away cluster for one test."""
    name = "shop_" + request.node.name.lower().replace("[", "_").replace("]", "")[:40]
    cluster.psql(f'DROP DATABASE IF EXISTS "{name}"')
    cluster.psql(f'CREATE DATABASE "{name}"')
    return cluster.url(name)
