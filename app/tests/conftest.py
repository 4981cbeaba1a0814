import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
for path in (HERE.parent, HERE):  # app/ (the scoring package) and app/tests (support.py)
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import support  # noqa: E402
from scoring import create_app  # noqa: E402


@pytest.fixture()
def model_dir(tmp_path):
    return support.write_model_dir(tmp_path / "model")


@pytest.fixture()
def app(model_dir):
    return create_app({"MODEL_DIR": str(model_dir), "TESTING": True})


@pytest.fixture()
def client(app):
    return app.test_client()
