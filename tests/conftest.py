import pytest
from rest_framework.test import APIClient


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def post_json(client):
    """POST a JSON body through Django's test client (keeps the session cookie)."""

    def post(path, body, **kwargs):
        return client.post(path, body, content_type="application/json", **kwargs)

    return post
