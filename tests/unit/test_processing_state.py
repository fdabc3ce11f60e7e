"""A document's processing state: queued, started, failed, and the stored form of it and of
a tenant's processing settings."""

from __future__ import annotations

from dataclasses import replace

import pytest

from kycvault.domain.processing import (
    SETTINGS_KEY,
    Processing,
    ProcessingSettings,
    Stage,
    StageStatus,
)

IDLE, BUSY, DONE, FAILED, OFF = (
    StageStatus.IDLE,
    StageStatus.IN_PROGRESS,
    StageStatus.COMPLETED,
    StageStatus.FAILED,
    StageStatus.UNAUTHORIZED,
)


def statuses(processing: Processing) -> dict[str, str]:
    return {stage.value: status.value for stage, status in processing.stages.items()}


def test_a_new_document_waits_with_every_stage_idle() -> None:
    fresh = Processing()
    assert fresh.stages == dict.fromkeys(Stage, IDLE)
    assert fresh.reasons == {}
    assert fresh.generation == 0
    assert fresh.authenticity_score is None


def test_queued_with_every_stage_enabled_makes_them_idle_and_counts_a_generation() -> None:
    done = Processing(stages=dict.fromkeys(Stage, DONE), generation=4)
    queued = done.queued(ProcessingSettings())
    assert queued.stages == dict.fromkeys(Stage, IDLE)
    assert queued.reasons == {}
    assert queued.generation == 5
    assert done.generation == 4  # a new value; the old one is unchanged


def test_queued_marks_a_disabled_stage_unauthorized_with_the_reason() -> None:
    settings = ProcessingSettings(ocr=False, authenticity=False)
    queued = Processing().queued(settings)
    assert statuses(queued) == {
        "classification": "idle",
        "ocr": "unauthorized",
        "authenticity": "unauthorized",
    }
    assert queued.reasons == {
        Stage.OCR: "switched off for this tenant",
        Stage.AUTHENTICITY: "switched off for this tenant",
    }


def test_queued_again_forgets_the_reasons_of_the_last_run() -> None:
    failed = Processing().queued(ProcessingSettings(classification=False)).failed("corrupt")
    assert failed.reasons[Stage.OCR] == "corrupt"
    requeued = failed.queued(ProcessingSettings())
    assert requeued.stages == dict.fromkeys(Stage, IDLE)
    assert requeued.reasons == {}
    assert requeued.generation == 2


def test_queued_keeps_the_last_results_on_show_until_the_next_run_stores_its_own() -> None:
    done = Processing(authenticity_score=70, signals=[{"code": "x"}], processed_at="t")
    queued = done.queued(ProcessingSettings())
    assert (queued.authenticity_score, queued.signals, queued.processed_at) == (
        70,
        [{"code": "x"}],
        "t",
    )


def test_started_moves_idle_stages_in_progress_only() -> None:
    queued = Processing().queued(ProcessingSettings(classification=False))
    started = queued.started()
    assert statuses(started) == {
        "classification": "unauthorized",
        "ocr": "in_progress",
        "authenticity": "in_progress",
    }
    assert started.reasons == queued.reasons
    assert started.generation == queued.generation


def test_started_leaves_finished_stages_alone() -> None:
    mixed = Processing(
        stages={Stage.CLASSIFICATION: DONE, Stage.OCR: FAILED, Stage.AUTHENTICITY: IDLE}
    )
    assert statuses(mixed.started()) == {
        "classification": "completed",
        "ocr": "failed",
        "authenticity": "in_progress",
    }


def test_failed_marks_every_stage_that_was_to_run_with_the_reason() -> None:
    started = Processing().queued(ProcessingSettings(authenticity=False)).started()
    failed = started.failed("the image cannot be decoded: it is damaged or truncated")
    assert statuses(failed) == {
        "classification": "failed",
        "ocr": "failed",
        "authenticity": "unauthorized",
    }
    assert failed.reasons == {
        Stage.CLASSIFICATION: "the image cannot be decoded: it is damaged or truncated",
        Stage.OCR: "the image cannot be decoded: it is damaged or truncated",
        Stage.AUTHENTICITY: "switched off for this tenant",
    }


def test_failed_also_takes_stages_still_idle() -> None:
    failed = Processing().queued(ProcessingSettings()).failed("given up")
    assert failed.stages == dict.fromkeys(Stage, FAILED)


def test_failed_leaves_completed_failed_and_unauthorized_stages_alone() -> None:
    earlier = Processing(
        stages={Stage.CLASSIFICATION: DONE, Stage.OCR: FAILED, Stage.AUTHENTICITY: OFF},
        reasons={Stage.OCR: "first reason", Stage.AUTHENTICITY: "switched off for this tenant"},
    )
    assert earlier.failed("second reason") == earlier


def test_failed_is_not_a_new_generation() -> None:
    started = Processing().queued(ProcessingSettings()).started()
    assert started.failed("x").generation == started.generation == 1


def test_a_full_state_survives_its_stored_form() -> None:
    state = replace(
        Processing().queued(ProcessingSettings(ocr=False)).started().failed("broken"),
        extracted={"pages": 1, "mrz": {"layout": "TD3"}},
        classification={"type": "passport", "confidence": 0.97},
        authenticity_score=55,
        signals=[{"code": "duplicate_file", "weight": 35, "fired": True}],
        processed_at="2026-05-01T10:00:00+00:00",
    )
    stored = state.as_dict()
    assert stored["stages"] == {
        "classification": "failed",
        "ocr": "unauthorized",
        "authenticity": "failed",
    }
    assert stored["reasons"]["ocr"] == "switched off for this tenant"
    assert stored["generation"] == 1
    assert Processing.of(stored) == state


@pytest.mark.parametrize("raw", [None, {}])
def test_nothing_stored_reads_as_a_new_document(raw: dict[str, object] | None) -> None:
    assert Processing.of(raw) == Processing()


def test_a_partial_stored_form_fills_missing_stages_as_idle() -> None:
    partial = Processing.of({"stages": {"ocr": "completed"}, "generation": 3})
    assert statuses(partial) == {
        "classification": "idle",
        "ocr": "completed",
        "authenticity": "idle",
    }
    assert partial.generation == 3
    assert partial.signals == []


def test_settings_default_to_every_stage_and_no_overwrite_or_search() -> None:
    settings = ProcessingSettings()
    assert all(settings.enabled(stage) for stage in Stage)
    assert settings.as_dict() == {
        "classification": True,
        "ocr": True,
        "authenticity": True,
        "classification_overwrites_type": False,
        "searchable_text": False,
    }


def test_settings_say_which_stage_is_enabled() -> None:
    settings = ProcessingSettings(ocr=False)
    assert [stage for stage in Stage if not settings.enabled(stage)] == [Stage.OCR]


def test_settings_survive_their_stored_form() -> None:
    settings = ProcessingSettings(authenticity=False, searchable_text=True)
    assert ProcessingSettings.of(settings.as_dict()) == settings


def test_settings_read_from_a_tenant_ignore_what_they_do_not_know() -> None:
    tenant = {SETTINGS_KEY: {"ocr": False, "colour": "blue"}, "other": {"ocr": True}}
    assert ProcessingSettings.of_tenant(tenant) == ProcessingSettings(ocr=False)
    assert ProcessingSettings.of_tenant({}) == ProcessingSettings()
    assert ProcessingSettings.of(None) == ProcessingSettings()
