from django import forms

from accounts.scopes import Scope

EXPIRY_CHOICES = [(30, "30 days"), (90, "90 days"), (365, "a year"), ("", "never")]


class PersonalTokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What it is for, e.g. “release script”.")
    expires_in_days = forms.TypedChoiceField(
        choices=EXPIRY_CHOICES, coerce=int, empty_value=None, initial=90, required=False,
        label="Expires in",
    )  # fmt: skip


class CITokenForm(forms.Form):
    """The admin's form for a CI token: a named identity, its scopes and environments."""

    name = forms.SlugField(max_length=60, help_text="The CI identity, e.g. github-actions.")
    # Each scope by the name the README and the API's 403s use, then what it allows.
    scopes = forms.MultipleChoiceField(
        choices=[(scope, f"{scope} — {label}") for scope, label in Scope.choices],
        widget=forms.CheckboxSelectMultiple,
    )
    environments = forms.CharField(
        required=False, help_text=f"Comma-separated names {Scope.DEPLOYMENTS_WRITE} may deploy to."
    )
    expires_in_days = forms.TypedChoiceField(
        choices=EXPIRY_CHOICES, coerce=int, empty_value=None, initial=365, required=False
    )

    def clean_environments(self) -> list[str]:
        raw = self.cleaned_data["environments"]
        return [name.strip() for name in raw.split(",") if name.strip()]
