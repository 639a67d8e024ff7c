"""Users in each role, events, and an issued order for the back-office tests."""

import importlib

import pytest
from django.apps import apps as django_apps
from django.contrib.auth.models import Group, User
from django.db import transaction

from tests.factories import event_with_types
from ticketshop.backoffice import services
from ticketshop.orders.models import PaymentMethod

_roles = importlib.import_module("ticketshop.backoffice.migrations.0002_roles")


@pytest.fixture(autouse=True)
def roles(django_db_blocker, request):
    """The groups of the roles migration (a transactional test's flush
    deletes them; made again by the migration's own function)."""
    if not any(m.name == "django_db" for m in request.node.iter_markers()):
        if "db" not in request.fixturenames:
            return
    if not Group.objects.filter(name="organiser").exists():
        _roles.create_roles(django_apps, None)


def user_in(role: str | None, name: str) -> User:
    user = User.objects.create_user(name, f"{name}@example.org", "pw", is_staff=True)
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def organiser(db):
    return user_in("organiser", "organiser")


@pytest.fixture
def treasurer(db):
    return user_in("treasurer", "treasurer")


@pytest.fixture
def door_manager(db):
    return user_in("door manager", "door")


@pytest.fixture
def show(db):
    """An event of 10 seats with two types (199 and 99 kr)."""
    return event_with_types(seats=10, prices=("199", "99"), title="Fysikalen 2026")


def issue(user, event, counts, *, method=PaymentMethod.COMPLIMENTARY, **kwargs):
    return services.issue_tickets(
        user=user,
        request=services.IssueRequest(
            event_id=event.pk,
            counts=counts,
            name=kwargs.pop("name", "Åsa Öberg"),
            email=kwargs.pop("email", "asa@example.org"),
            method=method,
            **kwargs,
        ),
    )


def in_transaction(fn):
    with transaction.atomic():
        return fn()


def previewed(client, url, form):
    """Post ``form`` for its preview; return the preview page and the form
    with the preview's snapshot, ready for its "Yes" button."""
    page = client.post(url, form)
    context = page.context
    snapshot = context["snapshot"] if context and "snapshot" in context else ""
    return page, {**form, "snapshot": snapshot, "confirm": "yes"}
