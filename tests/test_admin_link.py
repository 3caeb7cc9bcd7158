"""The header links the Django admin (where CI tokens are issued) for admins it lets in,
and for no one else."""

import pytest

ADMIN_LINK = '<a href="/admin/">Admin</a>'


@pytest.fixture
def staff_admin(carol):
    carol.is_staff = True  # as the demo's ada, and as `createsuperuser` makes one
    carol.save()
    return carol


def test_an_admin_finds_the_admin_pages_in_the_header_of_every_page(client, staff_admin):
    client.force_login(staff_admin)
    for path in ("/", "/tokens/"):
        assert ADMIN_LINK in client.get(path).content.decode(), path
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/tokens/apitoken/add/").status_code == 200


@pytest.mark.parametrize("persona", ["alice", "bob", "oscar"])
def test_people_without_the_admin_role_see_no_admin_link_even_as_staff(client, persona, request):
    user = request.getfixturevalue(persona)
    user.is_staff = True  # staff alone is not the admin role
    user.save()
    client.force_login(user)
    assert 'href="/admin/"' not in client.get("/").content.decode()


def test_an_admin_the_django_admin_would_refuse_is_not_sent_there(client, carol):
    client.force_login(carol)  # the admin role, but not staff: /admin/ sends her to sign in
    assert 'href="/admin/"' not in client.get("/").content.decode()
    assert client.get("/admin/").status_code == 302


def test_a_signed_out_visitor_sees_no_admin_link(client):
    assert 'href="/admin/"' not in client.get("/login/").content.decode()
