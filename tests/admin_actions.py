"""Admin actions go through their confirmation page, as a person would."""


def confirmed(client, url, chosen) -> dict:
    """Show an admin action's confirmation page for ``chosen``; return the
    form its "Yes" button posts (with the page's signed snapshot)."""
    page = client.post(url, chosen)
    context = page.context
    snapshot = context["snapshot"] if context and "snapshot" in context else ""
    return {**chosen, "post": "yes", "snapshot": snapshot}
