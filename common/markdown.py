"""Markdown pieces of a generated report: tables, sections with figures, and the complexity
table of a paper's model variants. A leaf module: it knows no paper and no report layout."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Section:
    title: str
    body: str
    figures: list[tuple[str, str]] = field(default_factory=list)  # (caption, path relative to REPORT.md)


def md_table(header: list[str], body: list[list[str]]) -> str:
    def esc(s):
        return str(s).replace("|", "\\|").replace("\n", " ")
    lines = ["| " + " | ".join(esc(h) for h in header) + " |",
             "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(esc(c) for c in row) + " |" for row in body]
    return "\n".join(lines)


def complexity_section(paper: str, models: dict, title: str, unit: str) -> Section:
    """Parameters and MACs of every model variant (``common.complexity.ModelVariant`` by name),
    with the counting rule, for REPORT.md."""
    from common.complexity import COUNTING_RULE, count_model

    rows = []
    for key, variant in models.items():
        c = count_model(variant.build())
        expected = variant.expected_params
        rows.append([key, f"{c.params:,}", f"{c.trainable_params:,}",
                     "–" if expected is None else f"{expected:,} ({variant.counted})", f"{c.macs:,}", variant.note])
    return Section(title, md_table(["variant", "params", "trainable", "spec count",
                                    f"MACs per {unit}", "what"], rows)
                   + f"\n\nCounting rule: {COUNTING_RULE}\n\nPer layer: "
                   f"`repro complexity {paper} --layers`.")
