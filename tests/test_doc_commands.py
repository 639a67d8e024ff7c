"""Every shell command shown in the docs runs or resolves (the rule is in
tests/doc_commands.py and docs/development.md), and the checker catches a
doc with a wrong make target, a missing script or a mistyped option."""

import pytest

from tests.doc_commands import (
    PAGES,
    ROOT,
    blocks,
    command_lines,
    problems,
    simple_commands,
)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_command_in_the_docs_runs_or_resolves(page):
    text = page.read_text(encoding="utf-8")
    assert problems(text, page.relative_to(ROOT).as_posix()) == []


def test_the_docs_show_commands_at_all():
    # The rule has teeth only if the checker finds the commands to check.
    found = [
        words
        for page in PAGES
        for block in blocks(page.read_text(encoding="utf-8"))
        for _, line in command_lines(block)
        for words in simple_commands(line)
    ]
    assert len(found) > 50
    assert ["make", "test"] in found


def sh(*lines: str) -> str:
    return "# Page\n\n```sh\n" + "\n".join(lines) + "\n```\n"


@pytest.mark.parametrize(
    "snippet, why",
    [
        (sh("make tset"), "make has no target 'tset'"),
        (sh("make run", "make lint docs"), "make has no target 'docs'"),
        (sh(".venv/bin/python bench/no_such_bench.py --repeat 5"), "no script"),
        (sh("deploy/no-such.sh /var/backups"), "does not exist"),
        (sh("deploy/gunicorn.conf.py"), "is not executable"),
        (
            sh("cp deploy/systemd/nothing.service /etc/systemd/system/"),
            "does not exist",
        ),
        (
            sh(".venv/bin/python manage.py no_such_command"),
            "no command 'no_such_command'",
        ),
        (
            sh("python manage.py import_events --no-such-flag x.json"),
            "refuses the arguments",
        ),
        (
            sh(".venv/bin/python bench/render_email.py --no-such-option 3"),
            "names no --no-such-option",
        ),
        (sh(".venv/bin/pytest -m nonsense tests/test_docs.py"), "no marker 'nonsense'"),
        (sh(".venv/bin/pytest tests/no_such_test.py"), "does not exist"),
        (sh(".venv/bin/no-such-tool --version"), "not in the virtualenv"),
        (sh("mkae run"), "unknown command 'mkae'"),
        (
            sh("curl -s http://127.0.0.1:8000/no_such_endpoint/"),
            "serves no /no_such_endpoint/",
        ),
        (
            sh("systemctl restart ticketshop-nothing"),
            "no unit ticketshop-nothing.service",
        ),
        (sh("docker compose exec web9 python manage.py migrate"), "no service 'web9'"),
        (
            sh("docker compose exec web1 python manage.py no_such"),
            "no command 'no_such'",
        ),
        (sh("sudo -u postgres mkae"), "unknown command 'mkae'"),
        (sh("X=$(.venv/bin/python -c 'import no_such_module')"), "fails"),
        (sh("make run && mkae test"), "unknown command 'mkae'"),
        ("```console\n$ make tset\nmake: *** No rule\n```\n", "no target 'tset'"),
        ("```bash\nmake \\\n  tset\n```\n", "no target 'tset'"),
    ],
)
def test_the_checker_finds_a_wrong_command(snippet, why):
    found = problems(snippet)
    assert found and any(why in line for line in found), found


@pytest.mark.parametrize(
    "snippet",
    [
        sh("make test PYTEST_ARGS=-x   # a comment", "make lock UPGRADE=1"),
        sh(".venv/bin/python manage.py import_events events.json   # or - for stdin"),
        sh(".venv/bin/python manage.py check_consistency --help"),
        sh("curl -s 'http://127.0.0.1:8000/get_chapterevents?format=json'"),
        sh("TOKEN=$(curl -s http://127.0.0.1:8000/start_payment/ | tr -d '\"')"),
        sh("set -a; . /etc/ticketshop/env; set +a", "echo 'A=b' >> /etc/default/caddy"),
        sh("systemctl enable --now ticketshop-web ticketshop-worker@2 caddy"),
        sh(".venv/bin/pytest -m 'live and not e2e' tests/test_docs.py::test_x"),
        "```console\n$ make test\n12 passed\n```\n",
        '```json\n{"not": "a command"}\n```\n',
        "```\nmkae: not a shell block\n```\n",
    ],
)
def test_the_checker_leaves_good_commands_alone(snippet):
    assert problems(snippet) == []
