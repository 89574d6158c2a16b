"""EU micro-credentials as Open Badges 3.0 credentials: strict parsing, validation, canonical form, digest.

The public API, re-exported here from the modules that hold one concern each:

- :mod:`~anchor.credentials.model`: the format (which Open Badges field holds which EU element), its
  constants and version check;
- :mod:`~anchor.credentials.strict_json`: parsing credential text as strict I-JSON, normalised to NFC;
- :mod:`~anchor.credentials.schema`: the JSON Schema and its two engines (jsonschema-rs decides, Python
  jsonschema, imported only then, explains a rejection);
- :mod:`~anchor.credentials.rules`: the rules JSON Schema cannot express;
- :mod:`~anchor.credentials.validation`: all checks in order, and reading a credential file;
- :mod:`~anchor.credentials.digest`: salt, canonical form (RFC 8785) and keccak256 digest;
- :mod:`~anchor.credentials.accessors`: reading fields and validity dates.

:mod:`~anchor.credentials.receipt` (a credential with its anchoring proof) and
:mod:`~anchor.credentials.examples` (generated demo credentials) are imported by their own path. The
package is pure: it imports nothing from the chain side.
"""

from __future__ import annotations

from anchor.credentials.accessors import (
    credential_id,
    credential_title,
    is_expired,
    is_not_yet_valid,
    issuer_country,
    issuer_id,
    issuer_name,
    learner_id,
    learner_name,
    valid_from,
    valid_until,
)
from anchor.credentials.digest import (
    canonical_bytes,
    canonical_json,
    credential_digest,
    hashed_view,
    issuer_proofs,
    new_salt,
    salt_bytes,
    with_salt,
)
from anchor.credentials.model import (
    ANCHOR_PROOF_TYPE,
    CONTEXTS,
    CONTEXTS_V2,
    CREDENTIAL_TYPES,
    EXCLUDED_KEYS,
    EXTENSION_CONTEXT,
    EXTENSION_CONTEXT_V2,
    FORMAT_KEY,
    FORMAT_V1,
    FORMAT_V2,
    FORMAT_V3,
    KNOWN_FORMATS,
    MAX_CREDENTIAL_BYTES,
    OB_CONTEXT,
    SALT_KEY,
    VC_CONTEXT,
    Credential,
    format_version,
)
from anchor.credentials.model import lookup as lookup  # for the verifier; not part of __all__
from anchor.credentials.schema import credential_context_document, credential_schema
from anchor.credentials.strict_json import parse_credential
from anchor.credentials.validation import load_credential_file, validate_credential

__all__ = [
    "ANCHOR_PROOF_TYPE",
    "CONTEXTS",
    "CONTEXTS_V2",
    "CREDENTIAL_TYPES",
    "EXCLUDED_KEYS",
    "EXTENSION_CONTEXT",
    "EXTENSION_CONTEXT_V2",
    "FORMAT_KEY",
    "FORMAT_V1",
    "FORMAT_V2",
    "FORMAT_V3",
    "KNOWN_FORMATS",
    "MAX_CREDENTIAL_BYTES",
    "OB_CONTEXT",
    "SALT_KEY",
    "VC_CONTEXT",
    "Credential",
    "canonical_bytes",
    "canonical_json",
    "credential_context_document",
    "credential_digest",
    "credential_id",
    "credential_schema",
    "credential_title",
    "format_version",
    "hashed_view",
    "is_expired",
    "is_not_yet_valid",
    "issuer_country",
    "issuer_id",
    "issuer_name",
    "issuer_proofs",
    "learner_id",
    "learner_name",
    "load_credential_file",
    "new_salt",
    "parse_credential",
    "salt_bytes",
    "valid_from",
    "valid_until",
    "validate_credential",
    "with_salt",
]
