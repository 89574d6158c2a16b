"""anchor.credentials.examples: the generator yields valid, realistic, reproducible credentials."""

from __future__ import annotations

import itertools
import json
import unicodedata
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest

from anchor.credentials import (
    credential_digest,
    issuer_country,
    issuer_id,
    learner_name,
    valid_from,
    valid_until,
    validate_credential,
)
from anchor.credentials.examples import ISSUERS, generate_credentials, issuer_for_country


def strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [*value.keys(), *itertools.chain.from_iterable(strings(item) for item in value.values())]
    if isinstance(value, list):
        return list(itertools.chain.from_iterable(strings(item) for item in value))
    return [value] if isinstance(value, str) else []


@pytest.mark.parametrize("seed", [0, 1, 2024])
def test_generated_credentials_are_valid(seed: int) -> None:
    for credential in generate_credentials(150, seed=seed):
        validate_credential(credential)


def test_every_issuer_and_course_validates() -> None:
    for issuer in ISSUERS:
        seen = set()
        for credential in generate_credentials(60, seed=7, issuer=issuer):
            validate_credential(credential)
            assert issuer_id(credential) == issuer.id
            seen.add(credential["credentialSubject"]["achievement"]["id"])
        assert len(seen) == len(issuer.courses), issuer.name


def test_generation_is_deterministic_for_a_seed() -> None:
    first = list(generate_credentials(50, seed=3))
    assert first == list(generate_credentials(50, seed=3))
    assert first != list(generate_credentials(50, seed=4))
    assert [credential_digest(c) for c in first] == [credential_digest(c) for c in generate_credentials(50, seed=3)]


def test_a_prefix_does_not_depend_on_the_count() -> None:
    assert list(generate_credentials(10, seed=5)) == list(generate_credentials(100, seed=5))[:10]


def test_ids_salts_and_digests_are_unique() -> None:
    credentials = list(generate_credentials(5000, seed=11))
    assert len({c["id"] for c in credentials}) == 5000
    assert len({c["credentialSubject"]["id"] for c in credentials}) == 5000
    assert len({c["anchorSalt"] for c in credentials}) == 5000
    assert len({credential_digest(c) for c in credentials}) == 5000


def test_the_mix_is_realistic() -> None:
    credentials = list(generate_credentials(3000, seed=1))
    countries = Counter(issuer_country(c) for c in credentials)
    assert set(countries) == {"DE", "FR", "PL", "FI", "ES", "PT", "GR", "IT"}
    assert min(countries.values()) > 150
    expiring = [c for c in credentials if valid_until(c) is not None]
    assert 0 < len(expiring) < len(credentials)
    for credential in expiring:
        until = valid_until(credential)
        assert until is not None
        assert until > valid_from(credential)
    dates = [valid_from(c) for c in credentials]
    assert min(dates) >= datetime(2025, 1, 6, tzinfo=UTC)
    assert max(dates) < datetime(2026, 1, 6, tzinfo=UTC)
    names = {learner_name(c) for c in credentials}
    assert len(names) > 300
    assert any(not name.isascii() for name in names)


def test_text_is_already_nfc() -> None:
    for credential in generate_credentials(500, seed=2):
        for text in strings(credential):
            assert unicodedata.is_normalized("NFC", text), text


def test_credentials_share_no_mutable_objects() -> None:
    first, second = generate_credentials(2, seed=0, issuer=issuer_for_country("FI"))
    snapshot = json.dumps(second, sort_keys=True)
    first["issuer"]["address"]["addressCountryCode"] = "SE"
    first["credentialSubject"]["achievement"]["euMicroCredential"]["learningOutcomes"].append("x")
    first["credentialSubject"]["achievement"]["resultDescription"][0]["allowedValue"].clear()
    first["@context"].clear()
    first["type"].clear()
    assert json.dumps(second, sort_keys=True) == snapshot
    assert next(generate_credentials(1, seed=0, issuer=issuer_for_country("FI")))["@context"]


def test_options() -> None:
    assert list(generate_credentials(0)) == []
    unsalted = next(generate_credentials(1, salted=False))
    assert "anchorSalt" not in unsalted
    validate_credential(unsalted)
    start = datetime(2028, 2, 1, tzinfo=UTC)  # a leap year: 29 February + N years must stay a real date
    for credential in generate_credentials(400, seed=9, issuer=issuer_for_country("PL"), start=start):
        validate_credential(credential)
    with pytest.raises(ValueError, match="count must be at least 0"):
        list(generate_credentials(-1))
    with pytest.raises(ValueError, match="no example issuer in 'SE'"):
        issuer_for_country("SE")
