"""The demo runs on its own copy of the sample rules, so the routing rules page never edits the repository."""

from __future__ import annotations

from pathlib import Path

from cti.sim._demo import DEMO_RULES, own_rules_copy


def test_the_sample_is_copied_once_and_an_admin_s_edits_are_kept(tmp_path: Path) -> None:
    copy = tmp_path / "var" / "demo-routing.yaml"
    assert own_rules_copy(copy) == copy
    assert copy.read_text() == DEMO_RULES.read_text()
    copy.write_text(copy.read_text() + "# edited on the routing page\n")
    assert own_rules_copy(copy) == copy
    assert copy.read_text().endswith("# edited on the routing page\n")
