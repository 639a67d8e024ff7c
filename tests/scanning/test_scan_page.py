"""The /scan/ page renders, and serves the QR library only when it is installed."""

import pytest

from ticketshop.scanning import views

pytestmark = pytest.mark.django_db


def test_scan_page_renders_with_its_script(client):
    response = client.get("/scan/")

    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="password"' in page
    assert "scanning/scan.js" in page
    assert 'id="scan-messages"' in page


def test_page_says_whether_the_qr_library_is_installed(client, monkeypatch, tmp_path):
    monkeypatch.setattr(
        views, "QR_LIBRARY_FILES", {"barcode-detector.js": tmp_path / "missing.js"}
    )
    assert 'data-qr-library="0"' in client.get("/scan/").content.decode()
    assert client.get("/scan/lib/barcode-detector.js").status_code == 404

    (tmp_path / "missing.js").write_text("window.x = 1;")
    assert 'data-qr-library="1"' in client.get("/scan/").content.decode()
    response = client.get("/scan/lib/barcode-detector.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert b"".join(response.streaming_content) == b"window.x = 1;"


def test_only_known_library_files_are_served(client):
    assert client.get("/scan/lib/..%2F..%2Fmanage.py").status_code == 404
    assert client.get("/scan/lib/settings.py").status_code == 404
