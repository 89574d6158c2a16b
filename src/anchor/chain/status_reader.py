"""Many ``credentialStatus`` questions in one ``eth_call``: the deployless status reader.

``contracts/readers/CredentialStatusReader.sol`` is never deployed. Its creation code, followed by its
ABI-encoded constructor arguments (the registry and the questions), is the data of an ``eth_call`` without a
``to`` address; the node runs the constructor, which asks the registry ``credentialStatus`` for each question
with a STATICCALL, and returns ``abi.encode(CredentialCheck[])`` as the call's result (the "deployless"
pattern of Multicall: no deployment, no change to the registry, on geth, bor, erigon and anvil alike). Each
answer is the registry's own, word for word what a ``credentialStatus`` call of its own returns, so it is
decoded and checked by the same code (:meth:`~anchor.chain.registry_abi.RegistryAbi.decode_status`).

Why: a node spends most of an ``eth_call``'s time around the call (parsing, state at the block, the EVM set
up), not in it; anvil spends about a third as much per credential this way, and the verifier encodes one
call instead of many.

Bounds: at most :data:`MAX_QUESTIONS` questions and :data:`MAX_CALL_BYTES` bytes of call data per call (under
EIP-3860's 49,152-byte limit on creation code, which nodes apply to a call without ``to``); the answer must be
exactly ``64 + 192 * n`` bytes with the offsets and length of ``n`` answers, and anything else is refused whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import NamedTuple

from anchor.chain.abi_codec import AbiEncodingError, encode
from anchor.chain.artifacts import load_artifact
from anchor.errors import ChainError

#: The reader contract's artifact name.
READER = "CredentialStatusReader"
#: Most questions in one reader call.
MAX_QUESTIONS = 64
#: Most bytes of call data (creation code and arguments) in one reader call: EIP-3860 limits creation code to
#: 49,152 bytes, and nodes apply the limit to a call without ``to`` too.
MAX_CALL_BYTES = 45_000
#: Words of one ``credentialStatus`` answer (a ``CredentialCheck``: six static fields).
ANSWER_WORDS = 6
_WORD = 32
#: The reader's constructor arguments.
ARGUMENTS = ("address", "(uint256,uint256,bytes32,bytes32[])[]")


class StatusQuestion(NamedTuple):
    """One credential's ``credentialStatus`` arguments."""

    batch_id: int
    leaf_index: int
    """The credential's index in its batch (``index`` is a tuple's method)."""
    digest: str
    """0x and 64 hex digits."""
    proof: tuple[str, ...]
    """The Merkle proof: 0x and 64 hex digits each."""


class ReaderAnswerError(ChainError):
    """A reader call's answer does not have the shape of the answers to its questions."""


class StatusReader:
    """Encodes reader calls and splits their answers (the creation code from the committed artifact)."""

    def __init__(self, creation_code: str) -> None:
        if not (creation_code.startswith("0x") and len(creation_code) > 2):
            raise ChainError("the status reader's artifact has no creation code")
        self.creation_code = creation_code.lower()
        self._code_bytes = (len(creation_code) - 2) // 2

    @staticmethod
    def size(question: StatusQuestion) -> int:
        """Bytes ``question`` adds to a reader call's data: its offset, three words, the proof's offset, length and
        nodes."""
        return _WORD * (6 + len(question.proof))

    def groups(self, questions: Sequence[StatusQuestion]) -> list[list[int]]:
        """Positions of ``questions`` cut into reader calls, in order: each at most :data:`MAX_QUESTIONS` and
        :data:`MAX_CALL_BYTES`."""
        base = self._code_bytes + 3 * _WORD  # the registry, the array's offset, its length
        groups: list[list[int]] = []
        current: list[int] = []
        size = base
        for position, question in enumerate(questions):
            more = self.size(question)
            if current and (len(current) == MAX_QUESTIONS or size + more > MAX_CALL_BYTES):
                groups.append(current)
                current, size = [], base
            current.append(position)
            size += more
        if current:
            groups.append(current)
        return groups

    def call_data(self, registry: str, questions: Sequence[StatusQuestion]) -> str:
        """The ``eth_call`` data (0x-hex) that asks ``registry`` about ``questions``: the creation code, then
        ``abi.encode(registry, queries)`` (:func:`encoded_arguments`)."""
        return self.creation_code + encoded_arguments(registry, questions)

    @staticmethod
    def answers(data: str, count: int) -> list[str]:
        """The ``count`` answers in a reader call's result ``data`` (0x-hex), each as a ``credentialStatus`` call
        would have returned it; :class:`ReaderAnswerError` unless ``data`` is exactly ``count`` answers."""
        raw = bytes.fromhex(data[2:]) if data.startswith("0x") else b""
        expected = 2 * _WORD + count * ANSWER_WORDS * _WORD
        if len(raw) != expected:
            raise ReaderAnswerError(
                f"the status reader answered {len(raw)} bytes for {count} credentials (expected {expected})"
            )
        offset, length = int.from_bytes(raw[:_WORD], "big"), int.from_bytes(raw[_WORD : 2 * _WORD], "big")
        if offset != _WORD or length != count:
            raise ReaderAnswerError(
                f"the status reader answered an array at offset {offset} of {length} answers for {count} credentials"
            )
        size = ANSWER_WORDS * _WORD
        body = raw[2 * _WORD :]
        return ["0x" + body[start : start + size].hex() for start in range(0, len(body), size)]


def encoded_arguments(registry: str, questions: Sequence[StatusQuestion]) -> str:
    """``abi.encode(address registry, (uint256,uint256,bytes32,bytes32[])[] queries)`` as hex, written directly.

    The layout is fixed, so the words are joined as text (about a tenth of the generic encoder's time, which
    :func:`~anchor.chain.abi_codec.encode` gives byte for byte: a test compares them); each value is checked
    as the generic encoder checks it (:class:`~anchor.chain.abi_codec.AbiEncodingError` otherwise).
    """
    words = [encode(["address"], [registry]).hex(), _WORD_64, f"{len(questions):064x}"]
    offset = _WORD * len(questions)  # the items' offsets count from the start of the array's items
    tails: list[str] = []
    for question in questions:
        words.append(f"{offset:064x}")
        proof = question.proof
        tails += (_uint(question.batch_id), _uint(question.leaf_index), _hash(question.digest), _WORD_128)
        tails += (f"{len(proof):064x}", _hashes(proof))
        offset += _WORD * (5 + len(proof))
    encoded = "".join(words) + "".join(tails)
    try:
        bytes.fromhex(encoded)  # every digit at once, at C speed
    except ValueError:
        for question in questions:
            for value in (question.digest, *question.proof):
                if not _HEX.issuperset(value[2:]):
                    raise AbiEncodingError(f"bytes32 takes 0x and 64 hex digits, not {value!r:.80}") from None
        raise
    return encoded


_WORD_64 = f"{64:064x}"
_WORD_128 = f"{128:064x}"
_HEX = frozenset("0123456789abcdefABCDEF")


def _uint(value: int) -> str:
    if type(value) is not int or not 0 <= value < 1 << 256:
        raise AbiEncodingError(f"uint256 takes an int from 0 to 2**256 - 1, not {value!r:.80}")
    return f"{value:064x}"


def _hashes(values: Sequence[str]) -> str:
    """The digits of 0x-hex bytes32 values, joined (whether they are hex digits is checked with the whole
    encoding)."""
    if not all(isinstance(value, str) and len(value) == 66 and value.startswith("0x") for value in values):
        raise AbiEncodingError(f"bytes32[] takes 0x and 64 hex digits each, not {list(values)!r:.80}")
    digits = "".join(values).replace("0x", "")  # hex digits hold no x: only the prefixes go
    if len(digits) != 64 * len(values):
        raise AbiEncodingError(f"bytes32[] takes 0x and 64 hex digits each, not {list(values)!r:.80}")
    return digits.lower()


def _hash(value: str) -> str:
    """The 64 digits of a 0x-hex bytes32 (whether they are hex digits is checked with the whole encoding)."""
    if not (isinstance(value, str) and len(value) == 66 and value.startswith("0x")):
        raise AbiEncodingError(f"bytes32 takes 0x and 64 hex digits, not {value!r:.80}")
    return value[2:].lower()


@cache
def status_reader() -> StatusReader:
    """The reader of the committed artifact (read once)."""
    return StatusReader(str(load_artifact(READER)["bytecode"]))
