"""Settings shared by the end-to-end test modules."""

from __future__ import annotations

import pytest

# The helper modules hold assertions of their own: have pytest rewrite them too, so that a
# failing check explains itself as it did when the helpers lived in the test modules.
pytest.register_assert_rewrite(
    "tests.e2e.argyle.support",
    "tests.e2e.documents_support",
    "tests.e2e.downloads_support",
    "tests.e2e.kycgenie_support",
    "tests.e2e.problem_support",
    "tests.e2e.sila.support",
    "tests.e2e.subjects_support",
    "tests.e2e.uploads_support",
)
