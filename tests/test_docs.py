"""The format documentation is checked: every YAML example in docs/gazetteer.md loads as part of
a rules directory without an error, and does what the text around it says."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import yaml

from normalize import Normalizer
from normalize.rules import RuleSet

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "gazetteer.md"


def _examples() -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


def _doc_rules(tmp_path: Path) -> Path:
    """The shipped rules with the gazetteer replaced by the document's examples."""
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules, ignore=shutil.ignore_patterns("gazetteer"))
    (rules / "gazetteer").mkdir()
    for i, block in enumerate(_examples()):
        name = "protected.yaml" if "protected" in yaml.safe_load(block) else f"example{i}.yaml"
        (rules / "gazetteer" / name).write_text(block, encoding="utf-8")
    return rules


def test_the_gazetteer_format_page_has_examples_of_entries_protected_phrases_and_extensions():
    blocks = [yaml.safe_load(b) for b in _examples()]
    assert any("protected" in b for b in blocks)
    items = [e for b in blocks for e in b.get("entries", [])]
    assert any("name" in e for e in items) and any("extends" in e for e in items)


def test_every_gazetteer_example_loads_without_an_issue(tmp_path):
    rs = RuleSet.load(_doc_rules(tmp_path))
    assert [str(i) for i in rs.issues] == []


def test_the_documented_examples_do_what_the_page_says(tmp_path):
    n = Normalizer(_doc_rules(tmp_path), flagger=False)
    # a garble of the entry and a variant added by the extends: item are both rewritten
    assert n.clean("Andrej Doubt met the press.").text == "Andrzej Duda met the press."
    assert n.clean("Andrzeij Duda met the press.").text == "Andrzej Duda met the press."
    # the extension's never phrase holds
    assert n.clean("They live on Andrzeij Duda Street.").text == "They live on Andrzeij Duda Street."
    # a protected phrase is never touched
    assert "Georgie Fame" in n.clean("Georgie Fame sang in Tbilisi, Georgia.").text
