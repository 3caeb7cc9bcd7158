"""The login form: Django's, asking the sign-in throttles before any password check."""

from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.views.decorators.debug import sensitive_variables

from accounts import signin
from accounts.throttling import address_of, now


class ThrottledAuthenticationForm(AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "Your username and password didn't match. Try again.",
    }

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        self.throttle = None  # set when the attempt is refused by a throttle

    @sensitive_variables()
    def clean(self):
        username = self.cleaned_data.get("username")
        address = address_of(self.request)
        self.throttle = signin.refusal(username, address)
        if self.throttle is not None:
            raise ValidationError(self.throttle.refusal(now()), code="throttled")
        try:
            cleaned = super().clean()
        except ValidationError:
            if username and self.cleaned_data.get("password"):
                self.throttle = signin.failed(username, address)
            if self.throttle is not None:  # this failure engaged it: say so at once
                raise ValidationError(self.throttle.refusal(now()), code="throttled") from None
            raise
        if self.user_cache is not None:
            assert username is not None  # AuthenticationForm signs in only with a username
            signin.succeeded(username)
        return cleaned


class ThrottledAdminAuthenticationForm(ThrottledAuthenticationForm, AdminAuthenticationForm):
    """The Django admin's own login page is a second door to the same passwords."""
