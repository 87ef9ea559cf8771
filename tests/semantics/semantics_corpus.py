"""Shared helpers for the semantics corpus tests (programs, check lines, divergences)."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
TOOLCHAINS = ("glibc", "musl")
CHECK_LINE = re.compile(r"^(?P<name>[a-z0-9_]+): ret=-?\d+ errno=(?:0|E[A-Z0-9]+)$")


def corpus_programs() -> list[str]:
    """Every corpus program: the stems of tests/semantics/*.c."""
    return sorted(p.stem for p in HERE.glob("*.c"))


def check_name(line: str) -> str | None:
    m = CHECK_LINE.match(line)
    return m.group("name") if m else None


@dataclass(frozen=True)
class Divergence:
    program: str
    reason: str
    check: str | None = None
    toolchain: str | None = None

    def applies(self, program: str, toolchain: str) -> bool:
        return self.program == program and self.toolchain in (None, toolchain)


def load_divergences(path: Path = HERE / "divergences.toml") -> list[Divergence]:
    data = tomllib.loads(path.read_text())
    out = []
    for i, entry in enumerate(data.get("divergence", [])):
        unknown = set(entry) - {"program", "reason", "check", "toolchain"}
        if unknown:
            raise ValueError(f"divergences.toml entry {i}: unknown keys {sorted(unknown)}")
        if not entry.get("program") or not str(entry.get("reason", "")).strip():
            raise ValueError(f"divergences.toml entry {i}: program and reason are required")
        if entry.get("toolchain") not in (None, *TOOLCHAINS):
            raise ValueError(f"divergences.toml entry {i}: bad toolchain {entry['toolchain']!r}")
        out.append(
            Divergence(
                entry["program"], entry["reason"], entry.get("check"), entry.get("toolchain")
            )
        )
    return out
