"""Processing of a document: its stages, their statuses and what they found.

Statuses follow Argyle's enum. ``unauthorized`` means the tenant has switched the stage off;
``idle`` that it waits for a worker; ``failed`` carries a reason. ``generation`` counts the
times the document was (re)queued: a worker stores its results only if no newer request to
process the document arrived while it worked.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

SETTINGS_KEY = "processing"


class Stage(enum.StrEnum):
    CLASSIFICATION = "classification"
    OCR = "ocr"
    AUTHENTICITY = "authenticity"


class StageStatus(enum.StrEnum):
    UNAUTHORIZED = "unauthorized"
    IDLE = "idle"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class ProcessingSettings:
    """A tenant's choices: which stages run, whether a confident classification may replace
    the declared type (Argyle's behaviour), and whether extracted text is searchable."""

    classification: bool = True
    ocr: bool = True
    authenticity: bool = True
    classification_overwrites_type: bool = False
    searchable_text: bool = False

    def enabled(self, stage: Stage) -> bool:
        return bool(getattr(self, stage.value))

    def as_dict(self) -> dict[str, bool]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    @classmethod
    def of(cls, raw: Mapping[str, Any] | None) -> ProcessingSettings:
        raw = raw or {}
        return cls(**{k: bool(raw[k]) for k in cls.__dataclass_fields__ if k in raw})

    @classmethod
    def of_tenant(cls, tenant_settings: Mapping[str, Any]) -> ProcessingSettings:
        """The processing part of a tenant's settings (kept under ``processing``)."""
        return cls.of(tenant_settings.get(SETTINGS_KEY))


@dataclass(frozen=True, slots=True)
class Processing:
    """What a document shows of its processing (stored with the document)."""

    stages: dict[Stage, StageStatus] = field(
        default_factory=lambda: dict.fromkeys(Stage, StageStatus.IDLE)
    )
    reasons: dict[Stage, str] = field(default_factory=dict)
    generation: int = 0
    extracted: dict[str, Any] = field(default_factory=dict)
    classification: dict[str, Any] | None = None
    authenticity_score: int | None = None
    signals: list[dict[str, Any]] = field(default_factory=list)
    processed_at: str | None = None
    # ``assessed`` (with a score) or ``not_assessed`` (none, and ``authenticity_reason``
    # says why); None until the stage has run.
    authenticity_status: str | None = None
    authenticity_reason: str | None = None

    def queued(self, settings: ProcessingSettings) -> Processing:
        """Waiting for a worker again: enabled stages idle, the others unauthorized."""
        return replace(
            self,
            stages={
                stage: StageStatus.IDLE if settings.enabled(stage) else StageStatus.UNAUTHORIZED
                for stage in Stage
            },
            reasons={
                stage: "switched off for this tenant"
                for stage in Stage
                if not settings.enabled(stage)
            },
            generation=self.generation + 1,
        )

    def started(self) -> Processing:
        return replace(
            self,
            stages={
                stage: StageStatus.IN_PROGRESS if status is StageStatus.IDLE else status
                for stage, status in self.stages.items()
            },
        )

    def failed(self, reason: str) -> Processing:
        """Every stage that was to run, failed for ``reason`` (a job given up on)."""
        stages = dict(self.stages)
        reasons = dict(self.reasons)
        for stage, status in stages.items():
            if status in (StageStatus.IDLE, StageStatus.IN_PROGRESS):
                stages[stage] = StageStatus.FAILED
                reasons[stage] = reason
        return replace(self, stages=stages, reasons=reasons)

    def as_dict(self) -> dict[str, Any]:
        return {
            "stages": {stage.value: status.value for stage, status in self.stages.items()},
            "reasons": {stage.value: reason for stage, reason in self.reasons.items()},
            "generation": self.generation,
            "extracted": self.extracted,
            "classification": self.classification,
            "authenticity_score": self.authenticity_score,
            "signals": self.signals,
            "processed_at": self.processed_at,
            "authenticity_status": self.authenticity_status,
            "authenticity_reason": self.authenticity_reason,
        }

    @classmethod
    def of(cls, raw: Mapping[str, Any] | None) -> Processing:
        if not raw:
            return cls()
        stages = _ALL_IDLE.copy()
        for name, status in (raw.get("stages") or {}).items():
            stages[_member(_STAGES, Stage, name)] = _member(_STATUSES, StageStatus, status)
        return cls(
            stages=stages,
            reasons={
                _member(_STAGES, Stage, k): str(v) for k, v in (raw.get("reasons") or {}).items()
            },
            generation=int(raw.get("generation") or 0),
            extracted=dict(raw.get("extracted") or {}),
            classification=raw.get("classification"),
            authenticity_score=raw.get("authenticity_score"),
            signals=list(raw.get("signals") or []),
            processed_at=raw.get("processed_at"),
            authenticity_status=raw.get("authenticity_status"),
            authenticity_reason=raw.get("authenticity_reason"),
        )


# Every listed document is read through ``Processing.of``: members found by value in a dict
# cost a fifth of the enums' own look-up (which still judges a value that is not one).
_STAGES: dict[Any, Stage] = {stage.value: stage for stage in Stage}
_STATUSES: dict[Any, StageStatus] = {status.value: status for status in StageStatus}
_ALL_IDLE = dict.fromkeys(Stage, StageStatus.IDLE)
E = TypeVar("E", bound=enum.Enum)


def _member(members: Mapping[Any, E], kind: type[E], value: Any) -> E:
    try:
        return members[value]
    except (KeyError, TypeError):  # not a member, or not even hashable: the enum says why
        return kind(value)
