"""Compiled contract artifacts, committed so that issuers and verifiers never need a compiler.

Regenerate with ``anchor build``; ``anchor build --check`` proves they match ``contracts/``.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from anchor.errors import ArtifactError

ARTIFACT_FORMAT = "anchor-artifact-v1"


@cache
def load_artifact(name: str) -> dict[str, Any]:
    """The artifact of contract ``name`` (ABI, bytecode, compiler version and settings, sources hash)."""
    resource = resources.files(__name__).joinpath(f"{name}.json")
    if not resource.is_file():
        raise ArtifactError(f"no compiled artifact for contract {name!r}: run `anchor build`")
    try:
        artifact: dict[str, Any] = json.loads(resource.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ArtifactError(f"artifact {name}.json is not valid JSON: {error}") from error
    if artifact.get("format") != ARTIFACT_FORMAT:
        raise ArtifactError(f"artifact {name}.json has format {artifact.get('format')!r}, expected {ARTIFACT_FORMAT}")
    return artifact
