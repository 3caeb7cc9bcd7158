"""What the header needs on every page: the links a person's role opens."""

from accounts import roles


def navigation(request) -> dict:
    """`nav_admin`: whether the header offers the admin's pages (Sign-in throttles);
    `nav_admin_site`: whether it links the Django admin."""
    user = getattr(request, "user", None)
    if user is None:
        return {"nav_admin": False, "nav_admin_site": False}
    return {"nav_admin": roles.is_admin(user), "nav_admin_site": roles.can_open_admin_site(user)}
