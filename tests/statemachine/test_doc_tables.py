"""The docs' transition tables are the machines' own (rendered from code by
`manage.py render_docs`), and the renderer catches a stale or unknown table."""

import pytest
from django.core.management import CommandError, call_command

from ticketshop.statemachine import tables

ARCHITECTURE = tables.pages()[0].parent / "docs" / "architecture.md"


@pytest.mark.parametrize(
    "page",
    [p for p in tables.pages() if tables.markers(p.read_text(encoding="utf-8"))],
    ids=lambda p: p.name,
)
def test_every_marked_table_is_the_machines_own(page):
    text = page.read_text(encoding="utf-8")
    assert tables.render(text) == text, (
        f"{page.name} is stale: run `.venv/bin/python manage.py render_docs`"
    )


def test_the_architecture_page_shows_the_machines():
    names = tables.markers(ARCHITECTURE.read_text(encoding="utf-8"))
    assert {"order", "ticket_delivery", "outgoing_mail"} <= set(names)
    assert len(names) == len(set(names))


def test_a_stale_table_is_rewritten_and_its_words_kept(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "# Mail\n\nBefore.\n\n<!-- table:outgoing_mail -->\n| old | table |\n"
        "<!-- /table -->\n\nAfter.\n"
    )
    with pytest.raises(CommandError, match="stale"):
        call_command("render_docs", page, check=True)
    assert "| old | table |" in page.read_text()
    call_command("render_docs", page)
    text = page.read_text()
    assert "| old | table |" not in text
    assert "| send | any | SENT |" in text
    assert text.startswith("# Mail\n\nBefore.\n\n") and text.endswith("\n\nAfter.\n")
    call_command("render_docs", page, check=True)  # up to date now


def test_a_marker_naming_no_machine_fails(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("<!-- table:no_such_machine -->\n<!-- /table -->\n")
    with pytest.raises(CommandError, match="no_such_machine"):
        call_command("render_docs", page, check=True)


def test_the_order_table_is_the_lifecycles():
    from ticketshop.orders import lifecycle

    assert tables.tables()["order"]() == lifecycle.describe_transitions()
