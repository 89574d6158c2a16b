"""``anchor verify`` of a tar archive of receipts (issue 13): every ``*.json`` member verified in place.

On anvil (the verifier tests' world: valid, revoked, expired, not final, look-alike... receipts): archives of one
receipt folder made by GNU tar (gnu, posix, ustar formats) and by Python's tarfile (ustar, GNU, PAX) give
exactly the folder's results, each named ``<archive>:<member>``; long names (PAX ``path``, GNU ``L``, the
ustar prefix), a member tampered inside the archive, worker processes, a directory holding an archive and
the command's text and JSON. Without a chain: hostile archives (bad checksum, truncated, a lone zero block,
no magic, a member declaring 9 GiB, an oversized or malformed PAX header, a global header setting a path,
symbolic and hard links, FIFOs) are refused or reported where they break, never read into memory whole.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import tarfile
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from anchor.cli import main
from anchor.config import Settings
from anchor.credentials import MAX_CREDENTIAL_BYTES
from anchor.verifier import Verdict, Verification, Verifier, receipt_from_link, trusted_from_deployments
from anchor.verifier.archive import MAX_EXTENDED_HEADER, ArchiveMember, archive_members
from anchor.verifier.bulk import CHUNK, verify_paths

from support.verifier_world import NOW, World, build_world

#: A member name longer than the ustar name field (100 bytes) and than its prefix split allows.
LONG = "urn_uuid_" + "0123456789abcdef" * 8 + ".json"
#: A path longer than 100 bytes that ustar splits into prefix and name.
DEEP = "d" * 90 + "/deep.json"


@pytest.fixture(scope="module")
def world(anvil: Settings) -> World:
    return build_world(anvil)


@pytest.fixture(scope="module")
def folder(world: World, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``<root>/batch-1/``: every receipt of the world, a tampered one, one in a deep folder, one long-named."""
    root = tmp_path_factory.mktemp("receipts")
    batch = root / "batch-1"
    (batch / DEEP).parent.mkdir(parents=True)
    for name in world.receipts:
        (batch / f"{name}.json").write_text(world.text(name), encoding="utf-8")
    tampered = world.receipt("valid2")
    tampered["credentialSubject"]["name"] = "Someone Else"
    (batch / "tampered.json").write_text(json.dumps(tampered), encoding="utf-8")
    (batch / "not-json.json").write_text("{", encoding="utf-8")
    (batch / DEEP).write_text(world.text("valid3"), encoding="utf-8")
    (batch / LONG).write_text(world.text("revoked"), encoding="utf-8")
    (batch / "notes.txt").write_text("not a receipt", encoding="utf-8")
    return batch


def _members(batch: Path, *, long: bool) -> list[str]:
    names = sorted(str(path.relative_to(batch.parent)) for path in batch.rglob("*") if path.is_file())
    return [name for name in names if long or LONG not in name]


def _verify(world: World, sources: list[Any], processes: int = 1) -> list[Verification]:
    trusted = trusted_from_deployments(world.settings.deployments_dir)
    with Verifier([world.rpc_url], trusted) as verifier:
        return list(verify_paths(verifier, sources, processes=processes, threads=2, now=NOW))


def _without_source(result: Verification) -> dict[str, Any]:
    document = result.to_json()
    document.pop("source", None)
    return document


@pytest.fixture(scope="module")
def folder_results(world: World, folder: Path) -> dict[str, dict[str, Any]]:
    """The folder's results by member name (``batch-1/...``), each receipt verified as a file."""
    paths = [str(folder.parent / name) for name in _members(folder, long=True) if name.endswith(".json")]
    return {
        str(Path(path).relative_to(folder.parent)): _without_source(result)
        for path, result in zip(paths, _verify(world, paths), strict=True)
    }


def _gnu_tar(folder: Path, archive: Path, form: str) -> None:
    names = _members(folder, long=form != "ustar")
    subprocess.run(["tar", f"--format={form}", "-cf", str(archive), "-C", str(folder.parent), *names], check=True)


def _python_tar(folder: Path, archive: Path, form: int) -> None:
    with tarfile.open(archive, "w", format=form) as made:
        for name in _members(folder, long=form != tarfile.USTAR_FORMAT):
            made.add(folder.parent / name, arcname=name)


MAKERS = {
    "gnu-tar-gnu": lambda folder, archive: _gnu_tar(folder, archive, "gnu"),
    "gnu-tar-posix": lambda folder, archive: _gnu_tar(folder, archive, "posix"),
    "gnu-tar-ustar": lambda folder, archive: _gnu_tar(folder, archive, "ustar"),
    "tarfile-ustar": lambda folder, archive: _python_tar(folder, archive, tarfile.USTAR_FORMAT),
    "tarfile-gnu": lambda folder, archive: _python_tar(folder, archive, tarfile.GNU_FORMAT),
    "tarfile-pax": lambda folder, archive: _python_tar(folder, archive, tarfile.PAX_FORMAT),
}


@pytest.mark.parametrize("maker", sorted(MAKERS))
def test_an_archive_gives_the_folders_results(
    world: World, folder: Path, folder_results: dict[str, dict[str, Any]], tmp_path: Path, maker: str
) -> None:
    archive = tmp_path / "batch-1.tar"
    MAKERS[maker](folder, archive)
    members = archive_members(str(archive))
    names = [member.name for member in members]
    expected = [name for name in _members(folder, long="ustar" not in maker) if name.endswith(".json")]
    assert sorted(names) == expected  # every receipt, the notes and folders left out, long names whole
    assert all(member.problem is None for member in members)
    results = _verify(world, list(members))
    assert [result.source for result in results] == [f"{archive}:{name}" for name in names]
    for name, result in zip(names, results, strict=True):
        assert _without_source(result) == folder_results[name], name
    verdicts = {name: result.verdict for name, result in zip(names, results, strict=True)}
    assert verdicts["batch-1/valid.json"] is verdicts[f"batch-1/{DEEP}"] is Verdict.VALID
    assert verdicts["batch-1/tampered.json"] is verdicts["batch-1/revoked.json"] is Verdict.INVALID
    assert verdicts["batch-1/not-json.json"] is Verdict.ERROR
    if "ustar" not in maker:
        assert results[names.index(f"batch-1/{LONG}")].status == "REVOKED"


def _python_archive(folder: Path, archive: Path, names: list[str] | None = None) -> list[ArchiveMember]:
    with tarfile.open(archive, "w", format=tarfile.PAX_FORMAT) as made:
        for name in names or _members(folder, long=True):
            made.add(folder.parent / name, arcname=name)
    return archive_members(str(archive))


def test_a_member_tampered_inside_the_archive_fails_as_the_tampered_file(
    world: World, folder: Path, tmp_path: Path
) -> None:
    archive = tmp_path / "batch-1.tar"
    members = {member.name: member for member in _python_archive(folder, archive)}
    valid = members["batch-1/valid.json"]
    data = bytearray(archive.read_bytes())
    text = bytes(data[valid.offset : valid.offset + valid.size])
    title = json.dumps(json.loads(text)["credentialSubject"]["achievement"]["name"]).encode()
    other = title[:1] + (b"X" if title[1:2] != b"X" else b"Y") + title[2:]  # the same length: headers stay valid
    changed = text.replace(title, other, 1)
    data[valid.offset : valid.offset + valid.size] = changed
    archive.write_bytes(bytes(data))
    as_file = tmp_path / "valid-tampered.json"
    as_file.write_bytes(bytes(changed))
    from_archive, from_file = _verify(world, [valid, str(as_file)])
    assert from_archive.verdict is Verdict.INVALID
    assert _without_source(from_archive) == _without_source(from_file)
    assert from_archive.source == f"{archive}:batch-1/valid.json"


def test_worker_processes_read_members_as_in_process(world: World, folder: Path, tmp_path: Path) -> None:
    many = tmp_path / "many"
    many.mkdir()
    names = ["valid", "revoked", "expired", "pending"]
    for number in range(2 * CHUNK + 4):
        (many / f"{number:04d}.json").write_text(world.text(names[number % len(names)]), encoding="utf-8")
    archive = tmp_path / "many.tar"
    subprocess.run(["tar", "-cf", str(archive), "-C", str(tmp_path), "many"], check=True)
    members = archive_members(str(archive))
    assert len(members) == 2 * CHUNK + 4
    here = _verify(world, list(members))
    forked = _verify(world, list(members), processes=2)
    assert [result.to_json() for result in forked] == [result.to_json() for result in here]
    assert sum(result.verdict is Verdict.VALID for result in here) == len(members) // 4


def run(world: World, *args: str) -> Result:
    env = {"ANCHOR_HOME": str(world.home), "ANCHOR_NODE_PORT": str(world.settings.node_port)}
    return CliRunner().invoke(main, ["verify", *args], env=env, catch_exceptions=False)


def test_the_command_names_archive_and_member_text_and_json(world: World, folder: Path, tmp_path: Path) -> None:
    archive = tmp_path / "batch-1.tar"
    members = _python_archive(folder, archive)
    count = len(members)
    text = run(world, str(archive))
    assert text.exit_code == 2, text.output  # not-json.json is unusable
    assert f"{count} receipts: " in text.output
    assert f"REVOKED {archive}:batch-1/revoked.json: " in text.output
    assert f"{archive}:batch-1/not-json.json: " in text.output
    document = json.loads(run(world, "--json", str(archive)).output)
    assert [item["source"] for item in document["results"]] == [member.source for member in members]
    one = tmp_path / "one.tar"
    _python_archive(folder, one, ["batch-1/valid.json"])
    single = run(world, "--json", str(one))
    assert single.exit_code == 0, single.output
    assert json.loads(single.output)["source"] == f"{one}:batch-1/valid.json"
    link = run(world, "--link", str(one))
    assert link.exit_code == 0, link.output
    assert json.loads(receipt_from_link(link.output.strip())) == world.receipts["valid"]


def test_a_directory_verifies_the_archives_below_it(world: World, folder: Path, tmp_path: Path) -> None:
    top = tmp_path / "receipts"
    (top / "31337").mkdir(parents=True)
    _python_archive(folder, top / "31337" / "batch-1.tar", ["batch-1/valid.json", "batch-1/expired.json"])
    (top / "31337" / "batch-2").mkdir()
    (top / "31337" / "batch-2" / "r.json").write_text(world.text("valid2"), encoding="utf-8")
    result = run(world, "--json", str(top))
    assert result.exit_code == 1, result.output
    document = json.loads(result.output)
    archive = top / "31337" / "batch-1.tar"
    assert [(item["source"], item["status"]) for item in document["results"]] == [
        (f"{archive}:batch-1/valid.json", "VALID"),
        (f"{archive}:batch-1/expired.json", "EXPIRED"),
        (str(top / "31337" / "batch-2" / "r.json"), "VALID"),
    ]


def test_a_broken_archive_is_one_error_after_the_members_before_it(world: World, folder: Path, tmp_path: Path) -> None:
    archive = tmp_path / "batch-1.tar"
    members = _python_archive(folder, archive, ["batch-1/valid.json", "batch-1/valid2.json", "batch-1/valid3.json"])
    second = members[1].offset - 512  # the second member's header
    data = bytearray(archive.read_bytes())
    data[second + 140] ^= 1  # in its mtime: the checksum no longer matches
    archive.write_bytes(bytes(data))
    result = run(world, str(archive))
    assert result.exit_code == 2, result.output
    assert "2 receipts: 1 valid, 0 invalid, 1 error" in result.output
    assert f"bad header checksum at byte {second}" in result.output


# ---------------------------------------------------------------------- hostile archives (no chain needed)


def _header(name: bytes, size: int, kind: bytes = b"0", *, magic: bytes = b"ustar\x0000", link: bytes = b"") -> bytes:
    """A ustar header block with a correct checksum (``size`` in octal, or base-256 from 8 GiB)."""
    block = bytearray(512)
    block[: len(name)] = name
    block[100:108] = b"0000600\0"
    block[108:116] = block[116:124] = b"0000000\0"
    block[124:136] = b"%011o\0" % size if size < 8**11 else b"\x80" + size.to_bytes(11, "big")
    block[136:148] = b"00000000000\0"
    block[156:157] = kind
    block[157 : 157 + len(link)] = link
    block[257:265] = magic
    block[148:156] = b" " * 8
    block[148:156] = b"%06o\0 " % sum(block)
    return bytes(block)


def _member(name: str, data: bytes, kind: bytes = b"0") -> bytes:
    return _header(name.encode(), len(data), kind) + data + bytes(-len(data) % 512)


END = bytes(1024)
RECEIPT = b'{"not": "checked here"}'


def _scan(tmp_path: Path, data: bytes) -> list[ArchiveMember]:
    archive = tmp_path / "hostile.tar"
    archive.write_bytes(data)
    return archive_members(str(archive))


def test_a_member_declaring_9_gib_is_its_own_error_and_is_never_read(tmp_path: Path) -> None:
    archive = tmp_path / "huge.tar"
    huge = 9 << 30  # base-256 size: more than 11 octal digits hold
    with archive.open("wb") as stream:
        stream.write(_header(b"batch-1/huge.json", huge))
        stream.seek(512 + huge)  # a sparse file: nothing written, nothing allocated on disk
        stream.write(_member("batch-1/next.json", RECEIPT) + END)
    try:
        tracemalloc.start()
        try:
            members = archive_members(str(archive))
            # checked before anything reads: a reader that took the member would allocate its 9 GiB
            assert [member.name for member in members] == ["batch-1/huge.json", "batch-1/next.json"]
            assert members[0].problem == (
                f"not a readable JSON receipt: the member is {huge} bytes, more than the limit of "
                f"{MAX_CREDENTIAL_BYTES} (not read)"
            )
            assert members[1].problem is None
            assert members[1].offset == 1024 + huge
            with Verifier(["http://127.0.0.1:9"], ["0x" + "11" * 20]) as verifier:  # no receipt asks a chain here
                results = list(verify_paths(verifier, members, processes=1, now=NOW))
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    finally:
        archive.unlink()
    assert peak < 8 << 20
    assert [result.source for result in results] == [f"{archive}:batch-1/huge.json", f"{archive}:batch-1/next.json"]
    assert [result.verdict for result in results] == [Verdict.ERROR, Verdict.ERROR]
    assert results[0].summary == members[0].problem[:1].upper() + members[0].problem[1:]
    assert results[1].status == "NOT A RECEIPT"  # read and parsed: the member after the skipped 9 GiB


def test_links_fifos_and_devices_named_as_receipts_are_reported_not_followed(tmp_path: Path) -> None:
    source = tmp_path / "batch-1"
    source.mkdir()
    (source / "r.json").write_bytes(RECEIPT)
    (source / "link.json").symlink_to("/etc/passwd")
    os.link(source / "r.json", source / "hard.json")
    os.mkfifo(source / "fifo.json")
    (source / "sub.json").mkdir()  # a directory named like a receipt: skipped, as a folder walk descends it
    archive = tmp_path / "links.tar"
    subprocess.run(["tar", "-cf", str(archive), "-C", str(tmp_path), "batch-1"], check=True)
    members = {member.name: member for member in archive_members(str(archive))}
    assert "batch-1/sub.json" not in members
    assert "batch-1/sub.json/" not in members
    assert members["batch-1/link.json"].problem == (
        "not verified: a symbolic link to '/etc/passwd', not a regular file"
    )
    assert members["batch-1/fifo.json"].problem == "not verified: a FIFO, not a regular file"
    linked = [name for name in ("batch-1/r.json", "batch-1/hard.json") if members[name].problem]
    assert len(linked) == 1  # GNU tar stores the second name of a file as a hard link to the first
    problem = members[linked[0]].problem
    assert problem is not None
    assert "a hard link to" in problem


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (_member("a.json", RECEIPT), "truncated archive: it ends at byte 1024 without the two zero blocks"),
        (_member("a.json", RECEIPT) + bytes(512), "truncated archive: one zero block at byte 1024"),
        (_member("a.json", RECEIPT)[:520], "truncated archive: member 'a.json' at byte 0 declares 23 bytes"),
        (_member("a.json", RECEIPT)[:300], "truncated archive: it ends at byte 300, inside a header at byte 0"),
        (bytes(512) + _member("a.json", RECEIPT) + END, "a lone zero block at byte 0, followed by more data"),
        (_header(b"a.json", 0, magic=b"\0" * 8) + END, "the block at byte 0 is not a ustar or GNU tar header"),
        (_header(b"a.json", 0)[:130] + b"9" + _header(b"a.json", 0)[131:] + END, "bad header checksum at byte 0"),
        (_header(b"x", MAX_EXTENDED_HEADER + 1, b"x") + END, "more than the limit of 65536"),
        (_member("x", b"12 path=a\n", b"x") + END, "malformed record in the PAX header at byte 0: bad length"),
        (_member("x", b"8 path=\n9 path=b\n", b"x"), "gives 'path' twice"),
        (_member("g", b"15 path=a.json\n", b"g") + END, "the global header at byte 0 sets a path"),
        (_member("l", b"", b"2") + _member("x.json", b"1", b"5") + END, "a directory at byte 512 declares 1 bytes"),
        (_member("x", b"17 path=a\0b.json\n", b"x") + _member("a.json", RECEIPT) + END, "holds a NUL byte"),
        (_member("x", b"12 size=-20\n", b"x") + _member("a.json", RECEIPT) + END, "is not a decimal number"),
    ],
    ids=[
        "no-end",
        "one-zero-block",
        "data-cut",
        "header-cut",
        "lone-zero",
        "no-magic",
        "checksum",
        "pax-too-large",
        "pax-bad-length",
        "pax-key-twice",
        "global-path",
        "directory-data",
        "nul-in-name",
        "pax-negative-size",
    ],
)
def test_a_hostile_archive_is_refused_where_it_breaks(tmp_path: Path, data: bytes, problem: str) -> None:
    members = _scan(tmp_path, data)
    last = members[-1]
    assert last.problem is not None
    assert problem in last.problem, last.problem
    assert last.code == "bad-archive"
    assert all(member.problem is None for member in members[:-1])


def test_size_fields_are_octal_only(tmp_path: Path) -> None:
    header = bytearray(_header(b"a.json", len(RECEIPT)))
    header[124:136] = b"0000000002x\0"  # not octal; the checksum made to match
    header[148:156] = b" " * 8
    header[148:156] = b"%06o\0 " % sum(header)
    members = _scan(tmp_path, bytes(header) + RECEIPT + bytes(-len(RECEIPT) % 512) + END)
    assert members[0].problem is not None
    assert "size field of the header at byte 0 is not an octal number" in (members[0].problem)


def test_an_unreadable_archive_is_one_error(tmp_path: Path) -> None:
    [missing] = archive_members(str(tmp_path / "missing.tar"))
    assert missing.problem is not None
    assert missing.problem.startswith("cannot read")
    assert missing.source == str(tmp_path / "missing.tar")
    [folder] = archive_members(str(tmp_path))
    assert folder.problem == f"{tmp_path} is not a regular file"


def test_a_fifo_named_as_an_archive_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    import threading

    fifo = tmp_path / "batch-1.tar"
    os.mkfifo(fifo)
    found: list[list[ArchiveMember]] = []
    reader = threading.Thread(target=lambda: found.append(archive_members(str(fifo))), daemon=True)
    reader.start()
    reader.join(5)
    if reader.is_alive():  # blocked in open(): release it before failing
        os.close(os.open(fifo, os.O_WRONLY))
    assert found, "opening a FIFO waited for a writer"
    [refused] = found[0]
    assert refused.problem == f"{fifo} is not a regular file"


def test_tarfile_reads_what_this_reader_reads(tmp_path: Path) -> None:
    """A differential check: on archives tarfile writes, both readers see the same receipt members and bytes."""
    source = tmp_path / "batch-9"
    source.mkdir()
    contents = {f"{index:02d}-" + "é" * index + ".json": os.urandom(index * 97) for index in range(0, 60, 7)}
    for name, data in contents.items():
        (source / name).write_bytes(data)
    for form in (tarfile.GNU_FORMAT, tarfile.PAX_FORMAT):
        archive = tmp_path / f"f{form}.tar"
        with tarfile.open(archive, "w", format=form) as made:
            made.add(source, arcname="batch-9")
        members = archive_members(str(archive))
        with archive.open("rb") as stream:
            ours = {m.name: os.pread(stream.fileno(), m.size, m.offset) for m in members if m.problem is None}
        with tarfile.open(archive) as reading:
            theirs = {
                info.name: reading.extractfile(info).read()  # type: ignore[union-attr]
                for info in reading.getmembers()
                if info.isfile()
            }
        assert ours == theirs == {f"batch-9/{name}": data for name, data in contents.items()}


def test_anchors_own_archive_writer_is_read_member_for_member(tmp_path: Path) -> None:
    """What ``anchor batch run`` writes for a very large batch (short names from its template, a PAX header for a
    long one) is read back exactly: the names and bytes ``tar -xf`` gives."""
    from anchor.issuing.receipt_archive import ArchiveWriter

    contents = {f"urn_uuid_{index:04d}.json": os.urandom(4000 + index) for index in range(5)}
    contents[LONG] = b'{"long": true}'
    archive = tmp_path / "batch-7.tar"
    descriptor = os.open(archive, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        writer = ArchiveWriter(descriptor, "batch-7", 1_767_225_600)
        for name, data in contents.items():
            writer.add(name, data)
        writer.finish()
    finally:
        os.close(descriptor)
    members = archive_members(str(archive))
    assert all(member.problem is None for member in members)
    with archive.open("rb") as stream:
        read = {member.name: os.pread(stream.fileno(), member.size, member.offset) for member in members}
    assert read == {f"batch-7/{name}": data for name, data in contents.items()}
    extracted = tmp_path / "extracted"
    extracted.mkdir()
    subprocess.run(["tar", "-xf", str(archive), "-C", str(extracted)], check=True)
    assert {f"batch-7/{path.name}": path.read_bytes() for path in (extracted / "batch-7").iterdir()} == read


def test_a_compressed_archive_is_refused(tmp_path: Path) -> None:
    """A compressed archive is not a tar: refused at its first block, not decompressed."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as made:
        info = tarfile.TarInfo("a.json")
        info.size = len(RECEIPT)
        made.addfile(info, io.BytesIO(RECEIPT))
    [refused] = _scan(tmp_path, buffer.getvalue())
    assert refused.problem is not None
    assert refused.code == "bad-archive"
