"""The /scan/ page renders, and serves the QR library only when it is installed."""

import json
import re

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


def script_messages(page: str) -> dict:
    found = re.search(r'id="scan-messages"[^>]*>(.*?)</script>', page, re.S)
    return json.loads(found.group(1))


def test_scan_page_is_swedish_for_a_swedish_browser(client):
    page = client.get("/scan/", HTTP_ACCEPT_LANGUAGE="sv-SE,sv;q=0.9").content.decode()

    assert '<html lang="sv">' in page
    assert "Biljettskanner" in page
    assert "Skannerlösenord" in page
    assert script_messages(page)["unknown"] == "Okänd biljett"
    assert "Start scanning" not in page


def test_scan_page_is_english_for_an_english_browser(client):
    page = client.get("/scan/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()

    assert '<html lang="en">' in page
    assert "Start scanning" in page
    assert script_messages(page)["unknown"] == "Unknown ticket"


def test_scan_page_gives_its_script_the_shops_time_zone(client, settings):
    settings.TIME_ZONE = "Europe/Stockholm"

    page = client.get("/scan/").content.decode()

    assert 'data-time-zone="Europe/Stockholm"' in page


def test_service_worker_is_served_under_scan_for_its_scope(client):
    response = client.get("/scan/sw.js")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/javascript"
    assert b"caches.open" in b"".join(response.streaming_content)


def test_public_key_is_served_to_scanners(client, settings):
    from ticketshop.orders.signing import public_key_text

    response = client.get("/scan/public_key")

    assert response.status_code == 200
    assert response.json() == {"algorithm": "Ed25519", "public_key": public_key_text()}
