"""Named personas reused by every permission test (as healthchecks' alice/bob/charlie)."""

from django.contrib.auth.models import Group, User

PERSONAS = {
    "alice": "engineer",
    "bob": "lead",
    "carol": "admin",
    "oscar": None,  # signed in, but in no role group: an outsider
}


def make_persona(username: str, role: str | None) -> User:
    user = User.objects.create_user(username=username, password=f"{username}-password")
    if role:
        # get_or_create: transactional tests flush the groups the migration made.
        user.groups.add(Group.objects.get_or_create(name=role)[0])
    return user
