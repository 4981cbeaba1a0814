"""Every bad request gets a JSON error with the right status and a message that says what's wrong."""

import base64
import io
import json

import pytest
from PIL import Image

import support
from scoring import create_app

PNG = support.encode(support.bar_image(2))


def gif_base64():
    buffer = io.BytesIO()
    Image.new("L", (8, 8), 0).save(buffer, "GIF")
    return base64.b64encode(buffer.getvalue()).decode()


def post_json(client, body):
    return client.post("/score", json=body)


def assert_error(response, status, *fragments):
    assert response.status_code == status, response.data
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"error"}
    for fragment in fragments:
        assert fragment in body["error"], (fragment, body["error"])


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/x-www-form-urlencoded", "image/png"],
)
def test_non_json_content_type_is_415(client, content_type):
    kwargs = {"data": json.dumps({"input": [PNG]})}
    if content_type:
        kwargs["content_type"] = content_type
    assert_error(client.post("/score", **kwargs), 415, "Content-Type must be application/json")


@pytest.mark.parametrize("raw", ['{"input": [', "not json", "", '{"input": ["a"]} trailing', "\xff"])
def test_malformed_json_is_400(client, raw):
    response = client.post("/score", data=raw.encode("latin-1"), content_type="application/json")
    assert_error(response, 400, "malformed JSON body")


def test_deeply_nested_json_is_400_not_500(client):
    # Refused by the value count before json.loads could recurse (it used to be json's
    # RecursionError, reported as "malformed JSON ... nested too deeply").
    raw = "[" * 100_000 + "]" * 100_000
    assert_error(client.post("/score", data=raw, content_type="application/json"), 400, "more than 96 JSON values")


@pytest.mark.parametrize("body", [{}, {"inputs": [PNG]}])
def test_missing_input_is_400(client, body):
    assert_error(post_json(client, body), 400, 'missing "input"')


@pytest.mark.parametrize("body", [[PNG], "x", 3, None])
def test_body_not_an_object_is_400(client, body):
    response = client.post("/score", data=json.dumps(body), content_type="application/json")
    assert_error(response, 400, "body must be a JSON object")


@pytest.mark.parametrize("value, kind", [(PNG, "str"), ({"0": PNG}, "dict"), (7, "int"), (None, "NoneType")])
def test_input_not_a_list_is_400(client, value, kind):
    assert_error(post_json(client, {"input": value}), 400, '"input" must be a list', kind)


def test_empty_list_is_400(client):
    assert_error(post_json(client, {"input": []}), 400, '"input" is empty')


@pytest.mark.parametrize("element, kind", [(5, "int"), (None, "NoneType"), ([PNG], "list"), ({"b64": PNG}, "dict")])
def test_element_not_a_string_names_index(client, element, kind):
    response = post_json(client, {"input": [PNG, PNG, element]})
    assert_error(response, 400, "input[2]", "must be a base64 string", kind)


@pytest.mark.parametrize("element", ["***", "abc", "iVBOR w0KGgo=!", "data:image/png;base64,%%%"])
def test_bad_base64_names_index(client, element):
    assert_error(post_json(client, {"input": [PNG, element]}), 400, "input[1]", "not valid base64")


def test_empty_string_names_index(client):
    assert_error(post_json(client, {"input": [""]}), 400, "input[0]", "empty")


@pytest.mark.parametrize(
    "payload",
    [
        base64.b64encode(b"hello, this is not an image").decode(),
        gif_base64(),
        base64.b64encode(b"BM" + b"\0" * 60).decode(),
    ],
    ids=["text", "gif", "bmp-ish"],
)
def test_not_png_or_jpeg_names_index(client, payload):
    assert_error(post_json(client, {"input": [PNG, PNG, PNG, payload]}), 400, "input[3]", "not a PNG or JPEG")


def test_truncated_png_names_index(client):
    data = base64.b64decode(support.encode(support.bar_image(2, size=256)))
    truncated = base64.b64encode(data[: len(data) // 2]).decode()
    assert_error(post_json(client, {"input": [truncated]}), 400, "input[0]", "damaged or truncated PNG")


def test_too_many_pixels_names_index(model_dir):
    app = create_app({"MODEL_DIR": str(model_dir), "MAX_IMAGE_PIXELS": 100 * 100})
    big = support.encode(Image.new("L", (101, 100), 255))
    response = app.test_client().post("/score", json={"input": [PNG, big]})
    assert_error(response, 400, "input[1]", "101x100", "10000 pixels")


def test_batch_limit(client):
    ok = post_json(client, {"input": [PNG] * 32})
    assert ok.status_code == 200 and len(ok.get_json()["predictions"]) == 32
    assert_error(post_json(client, {"input": [PNG] * 33}), 400, "33 images", "at most 32")


def test_batch_limit_is_configurable(model_dir, monkeypatch):
    monkeypatch.setenv("MAX_BATCH", "2")
    app = create_app({"MODEL_DIR": str(model_dir)})
    assert app.config["MAX_BATCH"] == 2
    assert_error(app.test_client().post("/score", json={"input": [PNG] * 3}), 400, "at most 2")


def test_body_over_4_mib_is_413(client):
    filler = "A" * (4 * 1024 * 1024)
    response = client.post("/score", data=json.dumps({"input": [filler]}), content_type="application/json")
    assert_error(response, 413, "request body too large", str(4 * 1024 * 1024))


def test_body_just_under_limit_is_not_413(client):
    body = json.dumps({"input": [PNG]})
    padded = body[:-1] + " " * (4 * 1024 * 1024 - len(body) - 1) + "}"
    assert len(padded) < 4 * 1024 * 1024
    assert client.post("/score", data=padded, content_type="application/json").status_code == 200


def test_unknown_route_is_json_404(client):
    assert_error(client.get("/predict/nothing"), 404, "no route /predict/nothing")


@pytest.mark.parametrize("method, path", [("get", "/score"), ("put", "/score"), ("post", "/healthz"), ("delete", "/version")])
def test_wrong_method_is_json_405(client, method, path):
    response = getattr(client, method)(path)
    assert_error(response, 405, f"method {method.upper()} not allowed on {path}")
    assert response.headers["Allow"]


@pytest.mark.parametrize(
    "raw", ['{"input": [' + "9" * 5000 + "]}", "9" * 5000, '{"input": [-' + "1" * 4301 + "]}"],
    ids=["in-input", "whole-body", "negative"],
)
def test_huge_integer_is_400_not_500(client, raw):
    response = client.post("/score", data=raw, content_type="application/json")
    assert_error(response, 400, "malformed JSON body", "digits")


def test_png_bomb_says_too_many_pixels(client):
    bomb = base64.b64encode(support.png_bomb(20000, 20000)).decode()
    response = post_json(client, {"input": [PNG, bomb]})
    assert_error(response, 400, "input[1]", "20000x20000", "at most 4194304 pixels", "MAX_IMAGE_PIXELS")


def test_request_pixel_budget_counts_every_image(model_dir):
    app = create_app({"MODEL_DIR": str(model_dir), "MAX_REQUEST_PIXELS": 100 * 100})
    image = support.encode(Image.new("L", (80, 80), 255))  # 6400 pixels each: two are too many
    client = app.test_client()
    assert client.post("/score", json={"input": [image]}).status_code == 200
    assert_error(
        client.post("/score", json={"input": [image, image]}),
        400, "2 images", "12800 pixels", "at most 10000 pixels per request", "MAX_REQUEST_PIXELS",
    )


def test_request_pixel_budget_refuses_the_heavy_batch_before_decoding(model_dir):
    """32 x 4096x4096 16-bit PNGs, each within a (raised) per-image limit: refused as a whole."""
    app = create_app({"MODEL_DIR": str(model_dir), "MAX_IMAGE_PIXELS": 4096 * 4096})
    heavy = base64.b64encode(support.grey16_png(4096)).decode()
    response = app.test_client().post("/score", json={"input": [heavy] * 32})
    assert_error(response, 400, "32 images", f"{32 * 4096 * 4096} pixels", "4194304 pixels per request")


def test_jpeg_counts_at_its_full_size(model_dir):
    """Even a JPEG decoded at 1/8 scale counts at its header's size: a progressive JPEG keeps
    every coefficient of the full image while it decodes."""
    app = create_app({"MODEL_DIR": str(model_dir), "MAX_REQUEST_PIXELS": 1000 * 1000})
    photo = support.encode(support.bar_image(3, size=1024), "JPEG", progressive=True)
    assert_error(app.test_client().post("/score", json={"input": [photo]}), 400, "1 image has 1048576 pixels")


@pytest.mark.parametrize("name", ["MAX_REQUEST_PIXELS", "DECODE_CONCURRENCY"])
def test_new_limits_refuse_bad_settings(model_dir, monkeypatch, name):
    monkeypatch.setenv(name, "0")
    with pytest.raises(RuntimeError, match=f"{name}='0' must be at least 1"):
        create_app({"MODEL_DIR": str(model_dir)})


@pytest.mark.parametrize("name", ["BODY_TIMEOUT", "HEADER_TIMEOUT"])
@pytest.mark.parametrize("raw, problem", [("soon", "is not a number"), ("0", "must be a positive number"),
                                          ("inf", "must be a positive number")])
def test_timeouts_must_be_positive_seconds(model_dir, monkeypatch, name, raw, problem):
    monkeypatch.setenv(name, raw)
    with pytest.raises(RuntimeError, match=f"{name}='{raw}' {problem}"):
        create_app({"MODEL_DIR": str(model_dir)})


@pytest.mark.parametrize("kind", [b"zTXt", b"iTXt"])
def test_png_text_chunks_over_the_metadata_limit_are_refused(client, kind):
    """Three 200 KiB text chunks (each under Pillow's 1 MiB per chunk, the whole far under its
    64 MiB per image) are refused, naming the image: the app reads pixels only."""
    heavy = base64.b64encode(support.png_with_text(kind, 3, 200 * 1024)).decode()
    response = post_json(client, {"input": [PNG, heavy]})
    assert_error(response, 400, "input[1]", "256 KiB of PNG metadata", "strip it")


@pytest.mark.parametrize("kind", [b"zTXt", b"iTXt"])
def test_png_with_a_little_text_is_scored(client, kind):
    small = base64.b64encode(support.png_with_text(kind, 2, 1024)).decode()
    assert post_json(client, {"input": [small]}).status_code == 200


def test_batch_holds_one_opened_image_at_a_time(monkeypatch):
    """Header data (metadata included) is never held for the whole batch: every image opened by
    batch_features is released before the next is opened."""
    import weakref

    from scoring import preprocess

    live, most = set(), [0]
    real_open = preprocess.open_image

    def tracking_open(data, index, max_pixels):
        image = real_open(data, index, max_pixels)
        key = object()
        live.add(key)
        weakref.finalize(image, live.discard, key)
        most[0] = max(most[0], len(live))
        return image

    monkeypatch.setattr(preprocess, "open_image", tracking_open)
    image = base64.b64encode(support.png_with_text(b"zTXt", 1, 1024)).decode()
    batch = preprocess.batch_features([image] * 16, 4096 * 4096, 64 * 4096 * 4096)
    assert batch.shape == (16, 64)
    assert most[0] == 1, f"{most[0]} opened images were held at once"


@pytest.mark.parametrize("filler", [b"{}", b"0", b"[]", b"null"])
def test_body_with_more_values_than_a_valid_one_is_refused_before_parsing(client, monkeypatch, filler):
    """A 1 MiB body of empty objects (or numbers, lists, nulls) would become hundreds of thousands
    of Python objects in json.loads before the batch limit is checked: refused unparsed."""
    from scoring import routes

    def no_parse(*args, **kwargs):
        raise AssertionError("json.loads ran on a body that cannot be valid")

    body = b'{"input":[' + b",".join([filler] * (1024 * 1024 // (len(filler) + 1))) + b"]}"
    monkeypatch.setattr(routes.json, "loads", no_parse)
    response = client.post("/score", data=body, content_type="application/json")
    monkeypatch.undo()  # reading the response parses JSON too
    assert_error(response, 400, "more than 96 JSON values", "at most 32 images")


def test_commas_inside_strings_do_not_count(client):
    """Data URLs carry a comma each, and extra fields are allowed: 32 of them are still scored."""
    url = "data:image/png;base64," + PNG
    body = {"input": [url] * 32, "note": "a, b, c, {[", "id": [1, 2, 3]}
    assert post_json(client, body).status_code == 200
