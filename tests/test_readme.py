"""The README's configuration table is the operator's reference: every setting is in it."""

from pathlib import Path

from guanxi.config import Settings

README = Path(__file__).resolve().parents[1] / "README.md"


def test_the_readme_lists_every_setting():
    text = README.read_text(encoding="utf-8")
    missing = [f"GUANXI_{name.upper()}" for name in Settings.model_fields if f"`GUANXI_{name.upper()}`" not in text]
    assert not missing, f"add these to the README's configuration table: {missing}"
