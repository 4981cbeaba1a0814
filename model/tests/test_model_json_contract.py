"""One model.json contract, seen from Python: every shared fixture (test/fixtures/model-json) goes
through the store's validator (parseManifest, run by Node), the app's (scoring.model.load_manifest)
and the trainer's (train.manifest_problems). All three accept the valid fixtures and refuse the
invalid ones, naming the field at fault. test/model-store/model-json-contract.test.ts runs the same.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

import train
from scoring.model import ModelError, load_manifest

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "test" / "fixtures" / "model-json"
FIELDS = json.loads((FIXTURES / "invalid-fields.json").read_text(encoding="utf-8"))
VALID = sorted((FIXTURES / "valid").glob("*.json"))
INVALID = sorted((FIXTURES / "invalid").glob("*.json"))

# The store's own code, as the pipeline runs it (TypeScript through tsx): path -> verdict.
STORE_SIDE = """
import { readFileSync } from "node:fs";
import { parseManifest } from "./dagger/src/model-store/manifest.ts";
const verdicts = {};
for (const path of process.argv.slice(1)) {
  try {
    parseManifest(readFileSync(path), "model.json");
    verdicts[path] = { ok: true };
  } catch (e) {
    verdicts[path] = { ok: false, message: e.message };
  }
}
console.log(JSON.stringify(verdicts));
"""


@pytest.fixture(scope="module")
def store_verdicts() -> dict:
    node = ROOT / "node_modules" / ".bin" / "node"
    command = [str(node), "--import", "tsx", "--input-type=module", "-e", STORE_SIDE, *map(str, VALID + INVALID)]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def app_verdict(path: Path) -> dict:
    try:
        load_manifest(path)
        return {"ok": True}
    except ModelError as exc:
        return {"ok": False, "message": str(exc)}


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def trainer_verdict(path: Path) -> dict:
    # The trainer never reads model.json: it checks the manifest it is about to write, and writes
    # strict UTF-8 JSON, so bytes it could not have produced count as refused.
    try:
        manifest = json.loads(path.read_bytes().decode("utf-8"), parse_constant=_refuse_constant)
    except ValueError as exc:
        return {"ok": False, "message": f"cannot be written by the trainer: {exc}"}
    problems = train.manifest_problems(manifest)
    return {"ok": not problems, "message": "; ".join(problems)}


def verdicts(path: Path, store_verdicts: dict) -> dict:
    return {"store": store_verdicts[str(path)], "app": app_verdict(path), "trainer": trainer_verdict(path)}


def test_every_invalid_fixture_says_which_field_its_refusal_names():
    assert len(VALID) >= 5 and len(INVALID) >= 40
    assert sorted(FIELDS) == [p.name for p in INVALID]


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_all_three_accept(path, store_verdicts):
    for side, verdict in verdicts(path, store_verdicts).items():
        assert verdict["ok"], f"{side} refused valid/{path.name}: {verdict.get('message')}"


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.name)
def test_all_three_refuse_naming_the_field(path, store_verdicts):
    field = FIELDS[path.name]
    for side, verdict in verdicts(path, store_verdicts).items():
        assert not verdict["ok"], f"{side} accepted invalid/{path.name}"
        message = verdict["message"]
        if field:
            assert f"{field} " in message or f"{field}:" in message, f"{side} does not name {field}: {message}"
