import pytest

import support
from scoring import create_app


@pytest.fixture()
def model_dir(tmp_path):
    return support.write_model_dir(tmp_path / "model")


@pytest.fixture()
def app(model_dir):
    return create_app({"MODEL_DIR": str(model_dir), "TESTING": True})


@pytest.fixture()
def client(app):
    return app.test_client()
