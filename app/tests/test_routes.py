import hashlib

import numpy as np
import pytest
from PIL import Image

import support
from scoring import EXTENSION_KEY, __version__, create_app


def score(client, images):
    return client.post("/score", json={"input": images})


def top_labels(response):
    return [p["top3"][0]["label"] for p in response.get_json()["predictions"]]


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_readyz_when_model_loaded(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json()["status"] == "ready"


def test_readyz_503_and_score_503_without_model(tmp_path):
    app = create_app({"MODEL_DIR": str(tmp_path / "absent"), "MODEL_REQUIRED": False})
    client = app.test_client()
    assert client.get("/healthz").status_code == 200
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["status"] == "not ready"
    response = score(client, [support.encode(support.bar_image(1))])
    assert response.status_code == 503
    assert response.get_json() == {"error": "no model loaded"}


def test_version_reports_app_model_and_revision(model_dir):
    app = create_app({"MODEL_DIR": str(model_dir), "GIT_REVISION": "abc1234"})
    body = app.test_client().get("/version").get_json()
    expected_sha = hashlib.sha256((model_dir / "model.onnx").read_bytes()).hexdigest()
    assert body["app"] == {"version": __version__}
    assert body["git_revision"] == "abc1234"
    assert body["model"]["name"] == "row-bars"
    assert body["model"]["version"] == "1.2.3"
    assert body["model"]["sha256"] == expected_sha
    assert body["model"]["files"] == [{"path": "model.onnx", "sha256": expected_sha}]


def test_version_from_environment(model_dir, monkeypatch):
    monkeypatch.setenv("APP_VERSION", "9.9.9-rc.1")
    monkeypatch.setenv("GIT_REVISION", "deadbeef")
    monkeypatch.setenv("MODEL_DIR", str(model_dir))
    body = create_app().test_client().get("/version").get_json()
    assert body["app"]["version"] == "9.9.9-rc.1"
    assert body["git_revision"] == "deadbeef"
    assert body["model"]["version"] == "1.2.3"


def test_score_png_dark_ink_on_white(client):
    response = score(client, [support.encode(support.bar_image(3))])
    assert response.status_code == 200
    body = response.get_json()
    assert body["model"] == {"name": "row-bars", "version": "1.2.3"}
    assert top_labels(response) == ["3"]


def test_score_light_ink_on_dark_and_jpeg(client):
    images = [
        support.encode(support.bar_image(5, dark_on_light=False), "JPEG", quality=90),
        support.encode(support.bar_image(2, dark_on_light=True, mode="RGB"), "JPEG", quality=90),
        support.encode(support.bar_image(6, dark_on_light=False), "PNG"),
    ]
    response = score(client, images)
    assert response.status_code == 200
    assert top_labels(response) == ["5", "2", "6"]


def test_polarity_matters():
    """Without inverting dark-on-white, every row but the bar would look inked: not label 4."""
    from scoring.preprocess import to_features, to_grey

    features = to_features(to_grey(support.bar_image(4)))
    grid = features.reshape(8, 8)
    assert grid[4].min() == pytest.approx(16.0)
    assert np.delete(grid, 4, axis=0).max() == pytest.approx(0.0)


def test_top3_sorted_and_matches_model(client):
    image = support.bar_image(1)
    response = score(client, [support.encode(image)])
    top3 = response.get_json()["predictions"][0]["top3"]
    assert [t["label"] for t in top3] == ["1", "9", "8"]
    probabilities = [t["probability"] for t in top3]
    assert probabilities == sorted(probabilities, reverse=True)
    features = np.zeros((8, 8), dtype=np.float32)
    features[1] = 16.0
    expected = support.expected_probabilities(features.reshape(64))
    assert probabilities == pytest.approx([expected[1], expected[9], expected[8]], abs=1e-5)


def test_data_url_prefix_and_wrapped_base64(client):
    png = support.encode(support.bar_image(7))
    jpeg = support.encode(support.bar_image(0), "JPEG")
    wrapped = "\n".join(png[i : i + 76] for i in range(0, len(png), 76))
    response = score(
        client,
        ["data:image/png;base64," + png, "data:image/jpeg;base64," + jpeg, wrapped],
    )
    assert response.status_code == 200
    assert top_labels(response) == ["7", "0", "7"]


def test_transparent_canvas_drawing_is_read_as_ink_on_paper(client):
    """A canvas export: black strokes on a fully transparent background (RGBA)."""
    image = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    image.paste((0, 0, 0, 255), (0, 8 * 3, 64, 8 * 4))
    response = score(client, [support.encode(image)])
    assert response.status_code == 200
    assert top_labels(response) == ["3"]


def test_large_and_odd_sized_images(client):
    big = support.bar_image(6, size=800)
    odd = support.bar_image(2, size=40).resize((40, 52))
    response = score(client, [support.encode(big), support.encode(odd)])
    assert response.status_code == 200
    assert top_labels(response) == ["6", "2"]


def test_blank_image_is_scored_not_rejected(client):
    response = score(client, [support.encode(Image.new("L", (16, 16), 255))])
    assert response.status_code == 200
    # all-zero input: only the biases speak, so the highest-bias label wins
    assert top_labels(response) == ["9"]


def test_full_batch_is_one_onnxruntime_call(app, client):
    model = app.extensions[EXTENSION_KEY]
    calls = []

    class CountingSession:
        def __init__(self, inner):
            self.inner = inner

        def run(self, outputs, feeds):
            calls.append(next(iter(feeds.values())).shape)
            return self.inner.run(outputs, feeds)

    model.session = CountingSession(model.session)
    rows = [i % 8 for i in range(32)]
    response = score(client, [support.encode(support.bar_image(r)) for r in rows])
    assert response.status_code == 200
    assert top_labels(response) == [str(r) for r in rows]
    assert calls == [(32, 64)]


def test_unhandled_error_is_json_500_without_internals(app):
    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internal detail")

    response = app.test_client().get("/boom")
    assert response.status_code == 500
    assert response.get_json() == {"error": "internal server error"}
    assert b"secret" not in response.data


def test_preprocess_gives_training_range():
    from scoring.preprocess import preprocess

    features = preprocess(support.encode(support.bar_image(0, size=8)), 0, 10_000)
    assert features.dtype == np.float32 and features.shape == (64,)
    assert features.min() == 0.0 and features.max() == 16.0
    assert features[:8].tolist() == [16.0] * 8


def _large(mode: str, row: int) -> Image.Image:
    """A 1024x1024 bar image in ``mode``: large enough to be shrunk before it is converted."""
    if mode == "RGBA-transparent":  # ink strokes on a transparent canvas
        image = Image.new("RGBA", (1024, 1024), (0, 0, 0, 0))
        image.paste((0, 0, 0, 255), (0, 128 * row, 1024, 128 * (row + 1)))
        return image
    if mode == "P-transparent":
        image = support.bar_image(row, size=1024).convert("P")
        image.info["transparency"] = 255  # the white paper index
        return image
    return support.bar_image(row, size=1024, mode=mode)


@pytest.mark.parametrize("mode", ["L", "1", "P", "P-transparent", "RGB", "RGBA-transparent", "CMYK"])
def test_large_images_of_every_mode_are_read_right(client, mode):
    image = _large(mode, 5)
    fmt = "JPEG" if mode == "CMYK" else "PNG"
    response = score(client, [support.encode(image, fmt)])
    assert response.status_code == 200, response.get_json()
    assert top_labels(response) == ["5"]


def test_large_16_bit_png_is_read_right(client):
    import base64

    response = score(client, [base64.b64encode(support.grey16_png(2048, row=6)).decode()])
    assert response.status_code == 200, response.get_json()
    assert top_labels(response) == ["6"]
