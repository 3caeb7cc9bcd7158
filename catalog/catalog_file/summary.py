"""What a sync changed, for printing and for the caller's audit record."""

from dataclasses import dataclass, field
from enum import StrEnum


class Action(StrEnum):
    CREATED = "created"
    RESTORED = "restored"
    UPDATED = "updated"
    ARCHIVED = "archived"


@dataclass(frozen=True)
class Change:
    action: Action
    kind: str  # cluster, checklist, service, environment
    name: str
    fields: tuple[str, ...] = ()  # catalog keys that changed (updates only)

    @property
    def target(self) -> str:
        """`environment production: rollout_timeout, urls` (the line without its action)."""
        text = f"{self.kind} {self.name}"
        return f"{text}: {', '.join(self.fields)}" if self.fields else text

    def __str__(self) -> str:
        return f"{self.action} {self.target}"


@dataclass
class SyncSummary:
    changes: list[Change] = field(default_factory=list)

    def add(self, action: Action, kind: str, name: str, fields: tuple[str, ...] = ()) -> None:
        self.changes.append(Change(action, kind, name, fields))

    def of(self, action: Action) -> list[Change]:
        return [change for change in self.changes if change.action == action]

    @property
    def created(self) -> list[Change]:
        return self.of(Action.CREATED)

    @property
    def updated(self) -> list[Change]:
        return self.of(Action.UPDATED)

    @property
    def archived(self) -> list[Change]:
        return self.of(Action.ARCHIVED)

    @property
    def restored(self) -> list[Change]:
        return self.of(Action.RESTORED)

    @property
    def has_changes(self) -> bool:
        return bool(self.changes)

    def lines(self) -> list[str]:
        """One line per change, in the order applied; `no changes` when there were none."""
        return [str(change) for change in self.changes] or ["no changes"]

    def as_dict(self) -> dict[str, list[str]]:
        """JSON-ready, e.g. for an AuditEvent's detail: {"created": ["service web"], ...}."""
        return {action.value: [change.target for change in self.of(action)] for action in Action}
