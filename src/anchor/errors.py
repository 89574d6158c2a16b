"""The exception hierarchy of anchor.

Every error the package raises on purpose is an :class:`AnchorError`::

    AnchorError
    ├── InvalidInputError          bad input from a caller or a file (CLI exit code 2)
    │   ├── MerkleInputError       a value, encoding, index or proof a tree cannot take
    │   ├── UnknownFormatError     a dump, receipt or credential of an unknown format version
    │   ├── CredentialParseError   text that is not strict I-JSON
    │   ├── CredentialValidationError  a credential that breaks the schema (lists every problem)
    │   └── CredentialConflictError    credential ids already issued with other content
    ├── CompilerError              the Solidity compiler is missing or rejected the sources
    │   └── CompilerNotFoundError  neither a native solc nor the pinned solcjs is available
    ├── ArtifactError              a compiled contract artifact is missing or inconsistent
    ├── SigningKeyError            a key is missing, locked, or not allowed on this chain
    ├── ChainError                 the RPC endpoint is unreachable, on the wrong chain, or a transaction failed
    │   └── ContractRevertError    the registry refused a call with one of its custom errors
    ├── DeploymentError            no registry is known for a chain, or a deployment record is unusable
    ├── NodeError                  the local anvil node cannot be found, started or stopped
    ├── StoreError                 the issuer database is unreachable, of a newer schema, or refused a change
    └── InvariantError             an internal bug: a result failed its own check

Bad input is never reported as an internal bug, and an internal bug is never
reported as bad input.

Narrower errors live beside the code that raises them (``anchor.web.app.ApiError``,
``anchor.chain.transactions.NonceTakenError``...), always under one of these. Nothing
raises a bare ``ValueError`` on purpose; :class:`InvalidInputError` is also a
``ValueError``, so ``except ValueError`` keeps catching bad input.
"""

from __future__ import annotations

from dataclasses import dataclass


class AnchorError(Exception):
    """Root of every error raised on purpose by anchor."""


class InvalidInputError(AnchorError, ValueError):
    """Input from a caller, a file or the network that anchor cannot accept."""


class MerkleInputError(InvalidInputError):
    """A Merkle tree was given a value, encoding, index or proof it cannot take."""


class UnknownFormatError(InvalidInputError):
    """A document declares a format or version this release does not know."""


class CredentialParseError(InvalidInputError):
    """Credential text is not strict I-JSON (duplicate keys, NaN, lone surrogates...)."""


@dataclass(frozen=True)
class FieldProblem:
    """One problem with one field of a credential.

    ``path`` is a JSON-pointer-like location such as ``/credentialSubject/achievement/name``;
    ``message`` says what is wrong with the value found there.
    """

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path or '/'}: {self.message}"


class CredentialValidationError(InvalidInputError):
    """A credential breaks the schema; ``problems`` lists every problem found, not just the first."""

    def __init__(self, problems: list[FieldProblem], source: str | None = None) -> None:
        self.problems = list(problems)
        self.source = source
        where = f"{source}: " if source else ""
        lines = "\n".join(f"  - {problem}" for problem in self.problems)
        count = len(self.problems)
        super().__init__(f"{where}invalid credential ({count} problem{'s' if count != 1 else ''}):\n{lines}")


class CredentialConflictError(InvalidInputError):
    """Credential ids already in the issuer database with other content; nothing was queued.

    ``conflicts`` maps each such id to what holds it (``"queued"``, ``"batch 3 (anchored)"``...).
    """

    def __init__(self, conflicts: dict[str, str]) -> None:
        self.conflicts = dict(conflicts)
        shown = "; ".join(f"{key} ({held})" for key, held in list(self.conflicts.items())[:5])
        more = f" and {len(self.conflicts) - 5} more" if len(self.conflicts) > 5 else ""
        super().__init__(
            f"{len(self.conflicts)} credential id(s) already issued with other content: {shown}{more}; "
            "a changed credential needs a new id"
        )


class CompilerError(AnchorError):
    """The Solidity compiler is missing or rejected the sources."""


class CompilerNotFoundError(CompilerError):
    """Neither a native solc (py-solc-x) nor the pinned npm solcjs can be run."""


class ArtifactError(AnchorError):
    """A compiled contract artifact is missing, unreadable or does not match its sources."""


class SigningKeyError(AnchorError):
    """A signing key is missing, cannot be unlocked, or may not be used on this chain."""


class ChainError(AnchorError):
    """The RPC endpoint is unreachable or on the wrong chain, or a transaction failed."""


class ContractRevertError(ChainError):
    """The registry refused a transaction or call with a custom error.

    ``name`` and ``args`` are the decoded error; the message is a readable sentence.
    """

    def __init__(self, message: str, name: str | None = None, args: dict[str, object] | None = None) -> None:
        super().__init__(message)
        self.name = name
        self.error_args = dict(args or {})


class DeploymentError(AnchorError):
    """No registry is known for a chain, or a recorded deployment is unusable."""


class NodeError(AnchorError):
    """The local anvil node cannot be found, started or stopped (missing binary, port taken, bad state)."""


class StoreError(AnchorError):
    """The issuer database is unreachable, has a schema newer than this release, or refused a change."""


class InvariantError(AnchorError):
    """An internal bug: a result failed the check anchor runs on it before returning it."""
