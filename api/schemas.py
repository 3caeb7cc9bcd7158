"""The API's request and response shapes (pydantic, through Django Ninja)."""

from datetime import datetime
from typing import Annotated, Literal

from ninja import Schema
from pydantic import AfterValidator, Field, StringConstraints, model_validator


def _storable(text: str) -> str:
    """Text PostgreSQL can store: no NUL, valid UTF-8 (no lone surrogates)."""
    if "\x00" in text:
        raise ValueError("must not contain NUL characters")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid UTF-8 text") from None
    return text


NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.+-]{0,99}$"
Name = Annotated[str, StringConstraints(pattern=NAME_PATTERN)]
Text = Annotated[str, StringConstraints(max_length=10_000), AfterValidator(_storable)]
ShortText = Annotated[str, StringConstraints(max_length=500), AfterValidator(_storable)]
GitSha = Annotated[str, StringConstraints(pattern=r"^[0-9a-fA-F]{7,40}$")]
# Large enough for any row, small enough for a PostgreSQL bigint.
Id = Annotated[int, Field(ge=1, le=2**62)]
Seq = Annotated[int, Field(ge=0, le=2**62)]


class Error(Schema):
    error: str
    detail: object | None = None


class ReleaseIn(Schema):
    service: Annotated[Name, Field(examples=["web"])]
    version: Annotated[Name, Field(examples=["2.1.0"])]
    image: Annotated[
        ShortText | None, Field(examples=["registry.example:5000/vizora-web:2.1.0"])
    ] = None
    git_ref: Annotated[ShortText | None, Field(examples=["v2.1.0"])] = None
    git_sha: Annotated[str, StringConstraints(pattern=r"^([0-9a-f]{7,40})?$")] = ""
    notes: Text = ""

    @model_validator(mode="after")
    def one_source(self):
        if (self.image is None) == (self.git_ref is None):
            raise ValueError("give exactly one of image (a pushed image) or git_ref (to build)")
        return self


class ReleaseOut(Schema):
    service: str
    version: str
    state: str
    image: str
    git_sha: str
    git_ref: str
    reason: str
    notes: str
    created_at: datetime
    url: str
    log_url: str


class BuildLine(Schema):
    seq: int
    text: str
    at: datetime


class BuildLogOut(Schema):
    lines: list[BuildLine]
    last_seq: int
    is_final: bool
    has_more: bool


class CIResultIn(Schema):
    git_sha: Annotated[GitSha, Field(examples=["3f2a9c1"])]
    state: Literal["passed", "failed"]
    url: ShortText = ""


class CIResultOut(Schema):
    id: int
    git_sha: str
    state: str
    url: str
    reported_by: str
    reported_at: datetime


class DeploymentIn(Schema):
    service: Annotated[Name, Field(examples=["web"])]
    version: Annotated[Name, Field(examples=["1.0.0"])]
    environment: Annotated[Name, Field(examples=["production"])]
    # A release rolled back from that environment goes there again only when asked so
    # explicitly, with the reason (kept on the deployment and audited).
    confirm_repromotion: bool = False
    repromotion_reason: ShortText = ""

    @model_validator(mode="after")
    def repromotion_says_why(self):
        if self.confirm_repromotion and not self.repromotion_reason.strip():
            raise ValueError(
                "repromotion_reason is required with confirm_repromotion: say why the "
                "release may go again where it was rolled back"
            )
        if self.repromotion_reason.strip() and not self.confirm_repromotion:
            raise ValueError("repromotion_reason is only read with confirm_repromotion: true")
        return self


class StepOut(Schema):
    kind: str
    label: str
    state: str
    attempt: int
    started_at: datetime | None
    finished_at: datetime | None


class ChecklistItemOut(Schema):
    id: int
    phase: str
    text: str
    mode: str
    state: str
    evidence: str
    answered_by: str | None
    answered_at: datetime | None
    note: str


class ApprovalOut(Schema):
    user: str
    decision: str
    comment: str
    at: datetime


class DeploymentOut(Schema):
    id: int
    service: str
    version: str
    image: str
    environment: str
    state: str
    reason: str
    is_final: bool
    cancel_requested: bool
    trigger: str
    requested_by: str | None
    repromotion_reason: str = ""  # why a release rolled back from there went there again
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    url: str
    steps: list[StepOut]
    checklist: list[ChecklistItemOut]
    approvals: list[ApprovalOut]
    required_approvals: int


class LogLineOut(Schema):
    seq: int
    step: str | None
    text: str
    at: datetime


class DeploymentLogOut(Schema):
    lines: list[LogLineOut]
    last_seq: int
    is_final: bool
    has_more: bool


class DecisionIn(Schema):
    decision: Literal["approve", "reject"]
    comment: Text = ""

    @model_validator(mode="after")
    def reject_says_why(self):
        if self.decision == "reject" and not self.comment.strip():
            raise ValueError("comment is required to reject: the requester reads it")
        return self


class ApprovalCreated(Schema):
    deployment_id: int
    user: str
    decision: str
    comment: str
    at: datetime


class AnswerIn(Schema):
    answer: Literal["passed", "failed", "waived"]
    note: Text = ""
    reason: Text = ""

    @model_validator(mode="after")
    def waiver_says_why(self):
        if self.answer == "waived" and not (self.reason or self.note).strip():
            raise ValueError("reason is required to waive an item; it is kept")
        return self


class RunningService(Schema):
    service: str
    version: str
    image: str
    deployment_id: int | None  # the deployment that put it there (the dashboard's cell)
    since: datetime | None
    cluster: str | None = None  # the cell's verdict: matches, drifted, missing, …
    cluster_summary: str = ""  # "runs 1.2.0", "since 03:12:40"


class EnvironmentOut(Schema):
    name: str
    position: int
    promotes_from: str | None
    locked: bool
    services: list[RunningService]
