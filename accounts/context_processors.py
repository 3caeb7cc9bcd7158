"""What the header needs on every page: the links a person's role opens."""

from portal import roles


def navigation(request) -> dict:
    """`nav_admin`: whether the header offers the admin's pages (Sign-in throttles)."""
    user = getattr(request, "user", None)
    return {"nav_admin": user is not None and roles.is_admin(user)}
