"""``anchor verify`` on the command line: marks and reasons, exit codes 0/1/2, directories, stdin, JSON, links."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from anchor.cli import main
from anchor.config import Settings
from anchor.verifier import Verdict, Verifier, receipt_from_link
from anchor.verifier.bulk import CHUNK, verify_paths

from support.verifier_world import World, build_world

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def world(anvil: Settings) -> World:
    return build_world(anvil)


@pytest.fixture(scope="module")
def files(world: World, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("receipts")
    written = {}
    for name in world.receipts:
        path = folder / f"{name}.json"
        path.write_text(json.dumps(world.receipts[name], ensure_ascii=False, indent=2), encoding="utf-8")
        written[name] = path
    tampered = world.receipt("valid")
    tampered["credentialSubject"]["identifier"][0]["identityHash"] += " Jr."
    written["tampered"] = folder / "tampered.json"
    written["tampered"].write_text(json.dumps(tampered), encoding="utf-8")
    return written


def run(world: World, *args: str, stdin: str | None = None) -> Result:
    env = {"ANCHOR_HOME": str(world.home), "ANCHOR_NODE_PORT": str(world.settings.node_port)}
    return CliRunner().invoke(main, ["verify", *args], env=env, input=stdin, catch_exceptions=False)


def test_a_valid_receipt_exits_0_with_every_check_marked(world: World, files: dict[str, Path]) -> None:
    result = run(world, str(files["valid"]))
    assert result.exit_code == 0, result.output
    assert result.output.count("✓") == 8
    for title in ("Credential unchanged", "Chain and trusted registry", "Not revoked", "Within its validity period"):
        assert title in result.output
    assert result.output.rstrip().endswith("VALID")
    learner = world.receipts["valid"]["credentialSubject"]["identifier"][0]["identityHash"]
    assert learner in result.output


def test_a_revoked_receipt_exits_1_with_its_reason(world: World, files: dict[str, Path]) -> None:
    result = run(world, str(files["revoked"]))
    assert result.exit_code == 1, result.output
    assert "✗ Not revoked" in result.output
    assert "fraud" in result.output
    assert "REVOKED (INVALID)" in result.output


def test_a_tampered_receipt_names_the_failing_check(world: World, files: dict[str, Path]) -> None:
    result = run(world, str(files["tampered"]))
    assert result.exit_code == 1, result.output
    assert "✗ Credential unchanged" in result.output
    assert "TAMPERED (INVALID)" in result.output
    assert "– Not revoked" in result.output  # not asked: the registry is not consulted for a tampered credential


@pytest.mark.parametrize("content", [None, "not json", '{"no": "proof"}'])
def test_unusable_input_exits_2(world: World, tmp_path: Path, content: str | None) -> None:
    path = tmp_path / "input.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    result = run(world, str(path))
    assert result.exit_code == 2, result.output
    assert "✗ Receipt readable" in result.output


def test_standard_input(world: World) -> None:
    result = run(world, "-", stdin=world.text("valid2"))
    assert result.exit_code == 0, result.output
    assert "(standard input)" in result.output


def test_an_unreachable_endpoint_exits_2(world: World, files: dict[str, Path]) -> None:
    result = run(world, str(files["valid"]), "--rpc", "http://127.0.0.1:9", "--timeout", "2")
    assert result.exit_code == 2, result.output
    assert "RPC UNREACHABLE" in result.output


def test_trust_comes_from_deployments_and_registry_option(world: World, files: dict[str, Path]) -> None:
    untrusted = run(world, str(files["lookalike"]))
    assert untrusted.exit_code == 1
    assert "UNTRUSTED REGISTRY" in untrusted.output
    trusted = run(world, str(files["lookalike"]), "--registry", world.lookalike.address)
    assert trusted.exit_code == 0, trusted.output


def test_a_directory_gets_a_line_per_failure_and_a_summary(world: World, files: dict[str, Path]) -> None:
    folder = files["valid"].parent
    result = run(world, str(folder))
    count = len(files)
    assert result.exit_code == 1, result.output  # revoked, expired... but nothing unusable
    assert f"{count} receipts: 4 valid, {count - 4} invalid, 0 error" in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == count - 4 + 1  # one line per receipt that is not VALID, then the summary
    assert any(line.startswith("REVOKED") and "revoked.json" in line for line in lines)
    assert any(line.startswith("NOT FINAL") and "pending.json" in line for line in lines)


def test_one_unusable_file_in_a_directory_makes_it_exit_2(world: World, files: dict[str, Path], tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text(files["valid"].read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "b.json").write_text("{", encoding="utf-8")
    result = run(world, str(tmp_path))
    assert result.exit_code == 2, result.output
    assert "2 receipts: 1 valid, 0 invalid, 1 error" in result.output


def test_json_output(world: World, files: dict[str, Path]) -> None:
    single = run(world, "--json", str(files["batch-revoked"]))
    assert single.exit_code == 1
    document = json.loads(single.output)
    assert document["verdict"] == "INVALID"
    assert document["status"] == "REVOKED"
    assert document["evidence"]["revocation"]["reason"] == "superseded"
    several = run(world, "--json", str(files["valid"]), str(files["expired"]))
    assert several.exit_code == 1
    combined = json.loads(several.output)
    assert combined["summary"] == {"valid": 1, "invalid": 1, "error": 0}
    assert [item["status"] for item in combined["results"]] == ["VALID", "EXPIRED"]


def test_link_carries_the_receipt(world: World, files: dict[str, Path]) -> None:
    result = run(world, "--link", "--base-url", "https://verify.example/", str(files["valid"]))
    assert result.exit_code == 0, result.output
    link = result.output.strip()
    assert link.startswith("https://verify.example/#r=")
    assert json.loads(receipt_from_link(link)) == world.receipts["valid"]
    refused = run(world, "--link", str(files["tampered"].with_name("nothing.json")))
    assert refused.exit_code == 2


def test_many_receipts_in_worker_processes_keep_their_order(world: World, tmp_path: Path) -> None:
    names = ["valid", "revoked", "valid2", "expired"]
    paths = []
    for number in range(2 * CHUNK + 8):
        name = names[number % len(names)]
        path = tmp_path / f"{number:04d}-{name}.json"
        path.write_text(world.text(name), encoding="utf-8")
        paths.append(str(path))
    with Verifier([world.rpc_url], [world.registry.address]) as verifier:
        results = list(verify_paths(verifier, paths, processes=2, threads=2))
    assert [result.source for result in results] == paths
    for source, result in zip(paths, results, strict=True):
        expected = Verdict.VALID if source.endswith(("-valid.json", "-valid2.json")) else Verdict.INVALID
        assert result.verdict is expected, (source, result.summary)
    cli = run(world, str(tmp_path), "--processes", "2")
    assert cli.exit_code == 1
    assert f"{len(paths)} receipts: {len(paths) // 2} valid, {len(paths) // 2} invalid, 0 error" in cli.output


#: What a one-receipt `anchor verify` must not load: each costs tens to hundreds of milliseconds of start-up.
HEAVY_FOR_VERIFY = ("web3", "eth_abi", "eth_utils", "eth_typing", "eth_account", "pydantic", "jsonschema", "rich")


def test_a_one_receipt_verify_process_loads_none_of_the_heavy_libraries(world: World, files: dict[str, Path]) -> None:
    """Start-up is most of a one-receipt verification (issue 6: under 0.5 s); this keeps it lean."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from anchor.cli import main\n"
        "try:\n"
        "    main(['verify', sys.argv[1]])\n"
        "except SystemExit as done:\n"
        "    code = done.code\n"
        "heavy = sorted({name.split('.')[0] for name in sys.modules} & set(sys.argv[2:]))\n"
        "print('LOADED', ' '.join(heavy))\n"
        "sys.exit(code)\n"
    )
    env = {"ANCHOR_HOME": str(world.home), "ANCHOR_NODE_PORT": str(world.settings.node_port), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-c", code, str(files["valid"]), *HEAVY_FOR_VERIFY],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "VALID" in done.stdout
    assert done.stdout.rstrip().splitlines()[-1] == "LOADED", done.stdout


HOSTILE = "\x1b]0;owned\x07\x1b[8m\u202eDILAV\r\b"


def test_control_and_bidi_characters_from_a_receipt_are_printed_as_escapes(world: World, tmp_path: Path) -> None:
    """A hostile receipt cannot hide the verdict or rewrite the screen: its controls are shown, not obeyed."""
    hostile = world.receipt("valid")
    hostile["credentialSubject"]["achievement"]["name"] = "Data literacy" + HOSTILE
    hostile["credentialSubject"]["x" + HOSTILE] = "y"
    path = tmp_path / f"receipt{HOSTILE[:3]}.json"
    path.write_text(json.dumps(hostile), encoding="utf-8")
    env = {"ANCHOR_HOME": str(world.home), "ANCHOR_NODE_PORT": str(world.settings.node_port)}
    outputs = []
    for args in ([str(path)], [str(path), str(path)] * 5):  # detailed, and one line per receipt
        result = CliRunner().invoke(main, ["verify", *args], env=env, color=True, catch_exceptions=False)
        assert result.exit_code == 1, result.output
        for character in ("\x07", "\u202e", "\r", "\b", "\x1b]", "\x1b[8m"):
            assert character not in result.output, (character, result.output)
        assert "receipt\\u001b]0.json" in result.output
        outputs.append(result.output)
    detailed = outputs[0]
    assert "Data literacy\\u001b]0;owned\\u0007\\u001b[8m\\u202eDILAV\\u000d\\u0008" in detailed  # the summary
    assert "/credentialSubject/x\\u001b]0;owned" in detailed  # the schema problem naming the key


def test_an_error_line_shows_control_characters_as_escapes(world: World, tmp_path: Path) -> None:
    env = {"ANCHOR_HOME": str(world.home), "ANCHOR_NODE_PORT": str(world.settings.node_port)}
    missing = str(tmp_path / f"missing{HOSTILE}.json")  # "cannot read <path>: ..." names the file as given
    result = CliRunner().invoke(main, ["verify", "--link", missing], env=env, color=True, catch_exceptions=False)
    assert result.exit_code == 2, result.output
    assert "\x1b]" not in result.output
    assert "\u202e" not in result.output
    assert "\\u001b]0;owned" in result.output


def test_no_color_turns_the_marks_plain(world: World, files: dict[str, Path]) -> None:
    env = {"ANCHOR_HOME": str(world.home), "ANCHOR_NODE_PORT": str(world.settings.node_port)}
    coloured = CliRunner().invoke(main, ["verify", str(files["valid"])], env=env, color=True)
    plain = CliRunner().invoke(main, ["verify", str(files["valid"])], env={**env, "NO_COLOR": "1"}, color=True)
    assert "\x1b[" in coloured.output
    assert "\x1b[" not in plain.output
    assert plain.output.count("✓") == 8


def test_a_directory_skips_receipts_still_being_written_in_hidden_folders(tmp_path: Path) -> None:
    from anchor.cli.verify_commands import _expand

    for name in ("a.json", "sub/c.json", ".batch-7.partial/b.json", "sub/.hidden/d.json", ".e.json"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("{}")
    found = [Path(item).relative_to(tmp_path).as_posix() for item in _expand((str(tmp_path),))]
    assert found == [".e.json", "a.json", "sub/c.json"]
