"""Compiled contract artifacts, committed so that issuers and verifiers never need a compiler.

Regenerate with ``anchor build``; ``anchor build --check`` proves they match ``contracts/``.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from anchor.errors import ArtifactError
from anchor.files import package_data

ARTIFACT_FORMAT = "anchor-artifact-v1"


@cache
def load_artifact(name: str) -> dict[str, Any]:
    """The artifact of contract ``name`` (ABI, bytecode, compiler version and settings, sources hash)."""
    # package_data, not importlib.resources or pkgutil: the same data, without importing tempfile, shutil, zipfile
    # (every verifier reads the registry's ABI from here: a one-receipt `anchor verify` starts faster)
    try:
        data = package_data(__name__, f"{name}.json")
    except OSError:
        data = None
    if data is None:
        raise ArtifactError(f"no compiled artifact for contract {name!r}: run `anchor build`")
    try:
        artifact: dict[str, Any] = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ArtifactError(f"artifact {name}.json is not valid JSON: {error}") from error
    if artifact.get("format") != ARTIFACT_FORMAT:
        raise ArtifactError(f"artifact {name}.json has format {artifact.get('format')!r}, expected {ARTIFACT_FORMAT}")
    return artifact
