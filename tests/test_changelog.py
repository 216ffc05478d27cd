"""Releases: every tag `vX.Y.Z` of the template has its CHANGELOG.md entry, newest first,
each saying what changes for projects and which migrations run; the releases the
migration tests update from are the ones the changelog names; the README names the
Copier release the template pins.
"""

from __future__ import annotations

import re
import subprocess

import test_migrations
from questionnaire import CONFIG, REPO

CHANGELOG = (REPO / "CHANGELOG.md").read_text()
HEADING = re.compile(r"^## (v\d+\.\d+\.\d+) \((.+)\)$", re.MULTILINE)


def entries() -> dict[str, str]:
    """Each release's entry: its version, then the text up to the next heading."""
    parts = HEADING.split(CHANGELOG)[1:]
    return {parts[i]: parts[i + 1] + parts[i + 2] for i in range(0, len(parts), 3)}


def numbers(version: str) -> tuple[int, ...]:
    return tuple(int(n) for n in version[1:].split("."))


def test_the_changelog_lists_releases_newest_first_each_with_its_migrations() -> None:
    versions = list(entries())
    assert versions, "no release in CHANGELOG.md"
    assert versions == sorted(versions, key=numbers, reverse=True)
    assert len(set(versions)) == len(versions)
    for version, text in entries().items():
        assert "\nMigrations:" in text, f"{version}: no 'Migrations:' line"


def test_every_tag_of_the_template_has_its_entry_on_its_commit() -> None:
    tags = subprocess.run(
        ["git", "tag", "--list", "v*"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    assert [tag for tag in tags if tag not in entries()] == []
    for version, text in entries().items():
        tagged_at = re.match(r"tagged at ([0-9a-f]+)\)", text)
        if version in tags and tagged_at:
            commit = subprocess.run(
                ["git", "rev-list", "-n", "1", version], cwd=REPO, capture_output=True, text=True
            ).stdout
            assert commit.startswith(tagged_at.group(1)), f"{version} is tagged elsewhere"


def test_the_migration_tests_update_from_the_releases_the_changelog_names() -> None:
    named = dict(re.findall(r"^## (v[\d.]+) \(tagged at ([0-9a-f]+)\)$", CHANGELOG, re.M))
    tested = {
        "v1.0.0": test_migrations.MAPPING_RELEASE,
        "v1.1.0": test_migrations.FOLDER_RELEASE,
        "v1.2.0": test_migrations.UNLOCKED_RELEASE,
        "v1.3.0": test_migrations.NAMED_CHECKS_RELEASE,
        "v1.4.0": test_migrations.SINGLE_RESOURCE_RELEASE,
    }
    assert {v: c[: len(named.get(v, ""))] for v, c in tested.items()} == named


def test_versioned_migrations_have_their_release() -> None:
    versions = [m["version"] for m in CONFIG["_migrations"] if "version" in m]
    assert [v for v in versions if v not in entries()] == []


def test_the_readme_names_the_pinned_copier() -> None:
    readme = (REPO / "README.md").read_text()
    pinned = CONFIG["copier_version"]["default"]
    assert set(re.findall(r"copier==([\d.]+)", readme)) == {pinned}
    assert f"{pinned} is the release the tests pin" in readme
