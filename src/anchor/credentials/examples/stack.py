"""The shipped stack example: a 15-ECTS certificate made of three 5-ECTS micro-credentials from two issuers.

The data file ``stack-industrielle-datenanalyse.json`` beside this module holds the certificate of the
Technische Hochschule Mainfranken (DE) and its three parts: two of its own micro-credentials and one of the
Akademia Techniczna w Łodzi (PL), all of one learner (the same ``credentialSubject.id``). The parts are what
their issuers submit (unsalted ``anchor-credential-v1``); the certificate, stackability mode ``stack``, still
lacks its ``relatedResource``: it can name its parts only once they are anchored
(:func:`anchor.credentials.related.with_parts`).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Final

from anchor.credentials.model import Credential

__all__ = ["STACK_EXAMPLE_FILE", "StackExample", "stack_example"]

STACK_EXAMPLE_FILE: Final = "stack-industrielle-datenanalyse.json"


@dataclass(frozen=True)
class StackExample:
    """The learner's id, the certificate (its parts not yet named) and the three parts, in order."""

    learner: str
    certificate: Credential
    parts: tuple[Credential, ...]


@cache
def _data() -> dict[str, Any]:
    text = resources.files(__package__ or "anchor.credentials.examples").joinpath(STACK_EXAMPLE_FILE)
    data: dict[str, Any] = json.loads(text.read_text(encoding="utf-8"))
    return data


def stack_example(issuer_dids: Mapping[str, str] | None = None) -> StackExample:
    """Fresh copies of the example; ``issuer_dids`` replaces issuer ids (``{"did:web:...": "did:key:..."}``)."""
    data = copy.deepcopy(_data())
    credentials: list[Credential] = [data["certificate"], *data["parts"]]
    for credential in credentials:
        issuer = credential["issuer"]
        issuer["id"] = (issuer_dids or {}).get(issuer["id"], issuer["id"])
    return StackExample(data["learner"], credentials[0], tuple(credentials[1:]))
