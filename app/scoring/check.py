"""``python -m scoring.check MODEL_DIR [THREADS]``: verify a model directory and test-run it.

Prints ``ok: <name> <version> sha256 <hex>`` and exits 0, or prints one error line to stderr
and exits 1. The gunicorn master runs this in a child process (see model.check_in_subprocess).
"""

from __future__ import annotations

import sys

from .model import ModelError, verify_model_dir


def main(argv: list[str]) -> int:
    if not argv or len(argv) > 2:
        print("usage: python -m scoring.check MODEL_DIR [THREADS]", file=sys.stderr)
        return 2
    try:
        model = verify_model_dir(argv[0], int(argv[1]) if len(argv) > 1 else 1)
        model.ensure_session()
    except (ModelError, ValueError) as exc:
        print(str(exc), file=sys.stderr)
        return 1
    print(f"ok: {model.name} {model.version} sha256 {model.onnx_file.sha256}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
