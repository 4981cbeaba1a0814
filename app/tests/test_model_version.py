"""model.json's version follows the model store's rule: SemVer 2.0 as the `semver` package reads it.

Valid means the semver.org grammar, written exactly (no "v", no spaces or newline), at most 256
characters, every number at most 2**53-1. Build metadata has no precedence: 1.0.0+build.1 and
1.0.0+build.2 are one version. The store, the trainer and the app apply the same rule.
"""

import json

import pytest

from scoring import ModelError, create_app
from scoring.contract import semver_precedence

REFUSED = [
    "1.2",
    "v1.2.3",
    "1.2.3\n",
    " 1.2.3",
    "1.0.0-01",
    "1.0.0-" + "a" * 251,
    "9007199254740992.0.0",
    "1.0.0-rc.9007199254740992",
]
ACCEPTED = ["1.2.3", "1.2.3-rc.1+build.5", "1.0.0-" + "a" * 250, "9007199254740991.0.0", "1.0.0-rc.9007199254740991"]


def with_version(model_dir, version):
    path = model_dir / "model.json"
    manifest = json.loads(path.read_text())
    manifest["version"] = version
    path.write_text(json.dumps(manifest))


@pytest.mark.parametrize("version", REFUSED)
def test_the_app_refuses_a_version_the_store_refuses(model_dir, version):
    with_version(model_dir, version)
    with pytest.raises(ModelError) as info:
        create_app({"MODEL_DIR": str(model_dir)})
    assert "version must be a semantic version" in str(info.value) or "version has a number over" in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("version", ACCEPTED)
def test_the_app_accepts_a_version_the_store_accepts(model_dir, version):
    with_version(model_dir, version)
    assert create_app({"MODEL_DIR": str(model_dir)}).test_client().get("/readyz").status_code == 200


def test_build_metadata_has_no_precedence():
    assert semver_precedence("1.0.0+build.1") == semver_precedence("1.0.0+build.2") == semver_precedence("1.0.0")
    ordered = ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11"]
    ordered += ["1.0.0-rc.1", "1.0.0", "1.10.0"]
    assert sorted(reversed(ordered), key=semver_precedence) == ordered
    assert semver_precedence("latest") is None
