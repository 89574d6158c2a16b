"""``anchor stack``: one bundle file of a stacked credential and its parts; and how ``anchor verify`` shows one.

The stack modules are imported only when used: ``anchor verify`` of receipts does not pay for them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from anchor.cli.terminal import echo, printable
from anchor.credentials import load_credential_file
from anchor.files import write_private_bytes

if TYPE_CHECKING:
    from anchor.verifier import Verification, Verifier
    from anchor.verifier.stacks import StackVerification

__all__ = ["name_parts", "show_stack", "stack", "stack_source"]

_MARKS = {
    "passed": click.style("✓", fg="green"),
    "failed": click.style("✗", fg="red", bold=True),
    "not-checked": click.style("–", dim=True),
}
_VERDICT_COLOUR = {"VALID": "green", "INVALID": "red", "ERROR": "yellow"}
#: Receipt check codes of a result that may be a stack bundle read as a receipt.
_BUNDLE_CODES = frozenset({"not-a-receipt", "unreadable"})


#: The receipts of a stack's parts, as command-line arguments.
_PART_RECEIPTS = click.argument(
    "parts",
    nargs=-1,
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    metavar="PART_RECEIPT...",
)


@click.command()
@click.argument("stacked", type=click.Path(exists=True, dir_okay=False, path_type=Path), metavar="STACKED_RECEIPT")
@_PART_RECEIPTS
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="BUNDLE.json",
    help="The bundle file to write (private to you: it holds personal data).",
)
def stack(stacked: Path, parts: tuple[Path, ...], out: Path) -> None:
    """Bundle a stacked credential's receipt with the receipts of the parts it names.

    STACKED_RECEIPT is the receipt of a credential whose achievement stacks others (stackability
    mode "stack", the parts named by id and digest in its relatedResource). PART_RECEIPT... are the
    receipts of exactly those parts, in any order. Refused, naming the part: a part it does not name,
    a named part missing, a part given twice, or a part anchored with another digest. The bundle
    (format anchor-stack-v1) is what `anchor verify BUNDLE.json` checks.
    """
    from anchor.sharing.stacks import build_bundle

    stacked_receipt = load_credential_file(stacked, validate=False)
    part_receipts = [load_credential_file(path, validate=False) for path in parts]
    bundle = build_bundle(stacked_receipt, part_receipts)
    text = json.dumps(bundle.to_json(), ensure_ascii=False, indent=2) + "\n"
    write_private_bytes(out, text.encode("utf-8"))
    echo(f"wrote {printable(out)}: the stacked credential and {len(bundle.parts)} parts")


@click.command("name-parts")
@click.argument("credential", type=click.Path(exists=True, dir_okay=False, path_type=Path), metavar="CREDENTIAL")
@_PART_RECEIPTS
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="STACKED.json",
    help="The credential to write, its parts named (then `anchor issue STACKED.json`).",
)
def name_parts(credential: Path, parts: tuple[Path, ...], out: Path) -> None:
    """For an issuer: make CREDENTIAL stack the credentials of PART_RECEIPT... before issuing it.

    Writes CREDENTIAL with its achievement's stackability mode set to "stack" and a relatedResource
    entry per part (its id and the digest its receipt anchors), in the order given. Verify the part
    receipts first (`anchor verify PART_RECEIPT...`): this only reads them. Then issue the result as
    any credential (`anchor issue STACKED.json`); the learner bundles its receipt with the parts'
    (`anchor stack`). Refused (exit 2): a part that is not a receipt, a part without an id, or a
    credential without its EU elements.
    """
    from anchor.credentials.related import with_parts

    document = load_credential_file(credential, validate=False)
    part_receipts = [load_credential_file(path, validate=False) for path in parts]
    stacked = with_parts(document, part_receipts)
    write_private_bytes(out, (json.dumps(stacked, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))
    echo(f"wrote {printable(out)}: {printable(credential)} stacking {len(part_receipts)} parts")


def stack_source(
    verifier: Verifier, result: Verification, data: bytes | None = None
) -> Verification | StackVerification:
    """``result`` of a receipt, or, when its input is a stack bundle read as a receipt, the stack's result.

    ``data`` is the input when it was not a file (standard input); else the file ``result.source`` is read
    again. Costs nothing for a usable receipt: only a result whose receipt check found no receipt is looked
    at again.
    """
    first = result.checks[0]
    source = result.source
    if result.verdict.value != "ERROR" or first.code not in _BUNDLE_CODES or source is None:
        return result
    if data is None:
        from anchor.sharing.stacks import MAX_STACK_BYTES  # imported only for a result that may be a bundle's

        try:
            with Path(source).open("rb") as stream:
                data = stream.read(MAX_STACK_BYTES + 1)
        except OSError:
            return result
    return stack_data(verifier, data, source) or result


def stack_data(verifier: Verifier, data: bytes, source: str) -> StackVerification | None:
    """The stack result of ``data`` when it is a stack bundle, else None."""
    from anchor.verifier.stacks import verify_if_stack

    return verify_if_stack(verifier, data, source=source)


def show_stack(result: StackVerification, *, compact: bool = False) -> None:
    """The stack: its title, total workload and levels, each check, each part, and the verdict."""
    verdict = result.verdict.value
    colour = _VERDICT_COLOUR[verdict]
    label = result.status if result.status == verdict else f"{result.status} ({verdict})"
    if compact:
        head = click.style(printable(label), fg=colour, bold=True)
        echo(f"{head} {printable(result.source or '')}: stack: {printable(result.summary)}")
        return
    if result.source:
        echo(click.style(printable(result.source), bold=True) + " (stack)")
    summary = result.stacked.credential if result.stacked else None
    if summary is not None:
        levels = sorted({level for level in result.part_levels if level is not None})
        facts = [
            summary.learner,
            summary.title,
            f"parts: {result.workload.text}" if result.workload and result.workload.text else None,
            f"EQF {summary.eqf_level}" if summary.eqf_level is not None else None,
            f"parts at EQF {', '.join(str(level) for level in levels)}" if levels else None,
        ]
        echo("  " + printable(" · ".join(fact for fact in facts if fact)))
    width = max(len(check.title) for check in result.checks)
    for check in result.checks:
        echo(f"  {_MARKS[check.state.value]} {check.title.ljust(width)}  {printable(check.reason)}")
    for part in result.parts:
        state = part.result.status if part.result else "MISSING"
        workload = part.result.credential.workload if part.result and part.result.credential else None
        extra = f" · {workload}" if workload else ""
        problems = f" — {'; '.join(part.problems)}" if part.problems else ""
        echo(printable(f"    {state}: {part.label}{extra}{problems}"))
    echo(
        f"  {click.style(printable(label), fg=colour, bold=True)}"
        + ("" if result.valid else f": {printable(result.summary)}")
    )
    for warning in result.warnings:
        echo(f"  {click.style('warning:', fg='yellow', bold=True)} {printable(warning)}")
