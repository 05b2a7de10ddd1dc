"""Choosing the version both clusters serve: DR's priority order decides, the source must serve it."""

from __future__ import annotations

from tasks.discover.version_negotiation import common_version


def test_drs_preferred_version_wins_when_the_source_serves_it() -> None:
    assert (
        common_version(source_versions=["v1", "v1beta1"], destination_versions=["v1beta1", "v1"]) == "v1beta1"
    )


def test_the_next_dr_version_the_source_serves_is_chosen() -> None:
    assert (
        common_version(source_versions=["v1beta1"], destination_versions=["v2", "v1", "v1beta1"]) == "v1beta1"
    )


def test_no_common_version_is_none() -> None:
    assert common_version(source_versions=["v2"], destination_versions=["v1", "v1beta1"]) is None
    assert common_version(source_versions=[], destination_versions=["v1"]) is None
