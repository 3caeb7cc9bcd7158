"""Browsers ask for /favicon.ico on pages that link no icon (the API's JSON, error pages
of other apps): it leads to the portal's icon instead of a 404 warning in make run's log."""

import pytest


@pytest.mark.django_db
def test_favicon_ico_leads_to_the_portals_icon_without_signing_in(client):
    response = client.get("/favicon.ico")

    assert response.status_code == 301
    assert response["Location"].endswith("favicon.svg")


def test_every_page_links_the_icon():
    from django.template.loader import get_template

    assert 'rel="icon" href="/static/favicon.svg"' in get_template("base.html").render({})
