"""The documentation follows the declarations: every setting's environment variable is in .env.example and in the
README's configuration table, so a provider's new setting cannot go undocumented."""

from __future__ import annotations

from pathlib import Path

import pytest

from imagegen.config import SPECS

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.env)
def test_every_setting_is_documented(spec):
    assert f"\n{spec.env}=" in (ROOT / ".env.example").read_text(), f"{spec.env} is missing from .env.example"
    assert f"`{spec.env}`" in (ROOT / "README.md").read_text(), f"{spec.env} is missing from the README"
