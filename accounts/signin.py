"""Sign-in under throttles: the login form asks here before it checks a password.

An account (its username, case-insensitive: attempts at "Alice" and "alice" count
together) and the client address are throttled apart: the account's throttle stops
guessing one person's password from many addresses, the address's stops one address
guessing many accounts' passwords.
"""

from accounts.throttling import Kind, Throttle, engaged, forget, record_failure


def refusal(username: str | None, address: str) -> Throttle | None:
    """The throttle that refuses this attempt before its password is checked, or None."""
    if username:
        throttle = engaged(Kind.SIGNIN_ACCOUNT, username.strip().lower())
        if throttle is not None:
            return throttle
    return engaged(Kind.SIGNIN_ADDRESS, address)


def failed(username: str | None, address: str) -> Throttle | None:
    """Count a wrong username or password; the throttle it engaged, if it did."""
    by_account = record_failure(Kind.SIGNIN_ACCOUNT, username.strip().lower()) if username else None
    by_address = record_failure(Kind.SIGNIN_ADDRESS, address)
    return by_account or by_address


def succeeded(username: str) -> None:
    """A right password: the account's failures and back-off are forgotten (not the
    address's, or one account an attacker holds would reset the count for all others)."""
    forget(Kind.SIGNIN_ACCOUNT, username.strip().lower())
