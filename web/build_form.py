"""The service page's "Build release" form: its fields, whether this person may use
it, whether builds can run here at all, and where a refusal of `request_build` is
shown (beside the field it is about)."""

import re
from dataclasses import dataclass

from django import forms
from django.conf import settings

from accounts import roles
from catalog.models import Service
from releases.models import Release
from releases.registration import ReleaseError

DEFAULT_REF = "main"
# A branch, tag or commit as git takes it: no spaces or control characters, and never
# a leading "-" (it would reach `git clone` as an option).
GIT_REF = re.compile(r"^[A-Za-z0-9_./@{}^~+-]{1,200}\Z")
NO_ENGINE = (
    "Builds need a Docker engine, and none is configured: set DOCKER_HOST "
    "(e.g. unix:///run/docker.sock) for the portal and its build worker, then restart them. "
    "Until then register images built elsewhere (manage.py register_release)."
)


class BuildReleaseForm(forms.Form):
    version = forms.CharField(
        max_length=100,
        error_messages={"required": "Give the new release a version, e.g. 2.1.0."},
    )
    git_ref = forms.CharField(
        label="Git ref",
        max_length=200,
        initial=DEFAULT_REF,
        error_messages={"required": "Name the branch, tag or commit to build, e.g. main."},
    )
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def clean_version(self) -> str:
        return self.cleaned_data["version"].strip()

    def clean_git_ref(self) -> str:
        ref = self.cleaned_data["git_ref"].strip()
        if ref.startswith("-") or not GIT_REF.match(ref):
            raise forms.ValidationError(
                f"{ref!r} is not a git ref: use a branch, tag or commit sha "
                "(letters, digits and . _ / - @ ^ ~; not starting with -)."
            )
        return ref

    def clean(self):
        if not docker_configured():
            raise forms.ValidationError(NO_ENGINE)
        return super().clean()

    existing = None  # the release a refused version already names, linked beside the field

    def refused(self, error: ReleaseError, service: Service | None = None) -> None:
        """Show `request_build`'s refusal beside the field it is about."""
        message = str(error)
        data = self.cleaned_data
        if "already exists" in message:
            field = "version"
            if service is not None:
                self.existing = Release.objects.filter(
                    service=service, version=data.get("version", "")
                ).first()
        elif repr(data.get("version", "")) in message:
            field = "version"
        elif repr(data.get("git_ref", "")) in message or " ref" in message:
            field = "git_ref"
        else:
            field = None
        self.add_error(field, message)


DEMO_NO_ENGINE = (
    "In the demo (make run), install docker.io, docker-registry and busybox-static and "
    "run it as root: it then starts an engine and a registry of its own."
)


@dataclass(frozen=True)
class BuildPanel:
    may_build: bool
    engine_ready: bool
    form: BuildReleaseForm

    @property
    def no_engine(self) -> str:
        return f"{NO_ENGINE} {DEMO_NO_ENGINE}" if settings.DEV_MODE else NO_ENGINE


def docker_configured() -> bool:
    """Whether the portal has a Docker engine to build on (DOCKER_HOST set, not empty)."""
    return bool(settings.DOCKER_HOST)


def build_panel(service: Service, user, form: BuildReleaseForm | None = None) -> BuildPanel:
    """What the service page's build section shows to this person."""
    return BuildPanel(
        may_build=roles.can_build(user, service),
        engine_ready=docker_configured(),
        form=form if form is not None else BuildReleaseForm(),
    )
