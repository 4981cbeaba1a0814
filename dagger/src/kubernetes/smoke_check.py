"""Post-deploy smoke test, run inside the cluster from the image that was just deployed.

Usage: python smoke_check.py BASE_URL [EXPECTED_MODEL_SHA256]
Checks /readyz, that /version reports the expected model, and that /score classifies a known
digit. Prints one JSON line with what it saw; exits 0 only when every check passed.
Standard library plus Pillow (which the app image ships), so it needs nothing installed.
"""
import base64
import io
import json
import os
import sys
import time
import urllib.error
import urllib.request

from PIL import Image

# A handwritten "0" from scikit-learn's digits data: 8x8, ink intensity 0..16.
ZERO = [0, 0, 5, 13, 9, 1, 0, 0, 0, 0, 13, 15, 10, 15, 5, 0, 0, 3, 15, 2, 0, 11, 8, 0, 0, 4, 12, 0, 0, 8, 8, 0,
        0, 5, 8, 0, 0, 9, 8, 0, 0, 4, 11, 0, 1, 12, 7, 0, 0, 2, 14, 5, 10, 12, 0, 0, 0, 0, 6, 13, 10, 0, 0, 0]


def digit_png(pixels):
    img = Image.new("L", (8, 8))
    img.putdata([round(v * 255 / 16) for v in pixels])
    out = io.BytesIO()
    img.resize((32, 32), Image.NEAREST).save(out, format="PNG")
    return base64.b64encode(out.getvalue()).decode("ascii")


ATTEMPTS = int(os.environ.get("SMOKE_ATTEMPTS", "10"))


def call(url, body=None, attempts=ATTEMPTS):
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"} if body is not None else {}
    last = None
    for _ in range(attempts):
        try:
            req = urllib.request.Request(url, data=data, headers=headers)
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, json.loads(resp.read().decode())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read().decode() or "{}")
        except (urllib.error.URLError, OSError) as e:  # endpoints may still be propagating
            last = e
            time.sleep(3)
    print(json.dumps({"ok": False, "problems": [f"cannot reach {url}: {last}"], "seen": {}}))
    raise SystemExit(1)


def main(argv):
    if len(argv) < 2:
        raise SystemExit("usage: smoke_check.py BASE_URL [EXPECTED_MODEL_SHA256]")
    base, expected_sha = argv[1].rstrip("/"), (argv[2] if len(argv) > 2 else "")
    problems, seen = [], {}

    status, _ = call(f"{base}/readyz")
    seen["readyz"] = status
    if status != 200:
        problems.append(f"/readyz answered {status}, expected 200")

    status, version = call(f"{base}/version")
    model = version.get("model", {}) if isinstance(version, dict) else {}
    seen["model"] = model
    if status != 200:
        problems.append(f"/version answered {status}")
    elif expected_sha and model.get("sha256") != expected_sha:
        problems.append(f"/version reports model sha256 {model.get('sha256')}, expected {expected_sha}")

    status, scored = call(f"{base}/score", {"input": [digit_png(ZERO)]})
    top = (scored.get("predictions") or [{}])[0].get("top3", [{}])[0] if isinstance(scored, dict) else {}
    seen["score_top1"] = top
    if status != 200:
        problems.append(f"/score answered {status}: {scored.get('error') if isinstance(scored, dict) else scored}")
    elif top.get("label") != "0":
        problems.append(f"/score classified a known 0 as {top.get('label')}")

    print(json.dumps({"ok": not problems, "problems": problems, "seen": seen}))
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
