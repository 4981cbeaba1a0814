/** Progress lines for long transfers: throttled, one last line per file, a rate, nothing when off. */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { progressReporter } from "../../dagger/src/model-store/progress.js";

/** A reporter on a hand-driven clock; returns the lines it wrote. */
function harness() {
  let now = 0;
  const lines: string[] = [];
  const report = progressReporter((l) => lines.push(l), { clock: () => now, intervalMs: 500 });
  return { report, lines, advance: (ms: number) => (now += ms) };
}

test("at most one line per interval while bytes flow, then always a last line at 100%", () => {
  const { report, lines, advance } = harness();
  const file = report("download", "model.onnx", 4 * 1024 * 1024);
  for (let i = 0; i < 40; i++) {
    advance(50); // 2 s in 40 chunks of 100 KiB
    file.add(100 * 1024);
  }
  file.add(4 * 1024 * 1024 - 40 * 100 * 1024);
  file.done();
  assert.is(lines.length, 5, lines.join("\n")); // at 0.5, 1.0, 1.5, 2.0 s, then the end
  assert.is(lines[0], "download model.onnx 1000 KiB/4.00 MiB  24%  1.95 MiB/s".replace("1000 KiB", "1000.0 KiB"));
  assert.match(lines.at(-1)!, /^download model\.onnx 4\.00 MiB\/4\.00 MiB 100% +[\d.]+ MiB\/s$/);
});

test("absolute positions (the SDK's upload progress) work as well as increments; done() twice writes once", () => {
  const { report, lines, advance } = harness();
  const file = report("upload", "weights/part 1.bin", 2048);
  advance(600);
  file.at(1024);
  advance(600);
  file.at(2048);
  file.done();
  file.done();
  assert.equal(lines, [
    "upload weights/part 1.bin 1.00 KiB/2.00 KiB  50%  1.67 KiB/s",
    "upload weights/part 1.bin 2.00 KiB/2.00 KiB 100%  1.67 KiB/s",
  ]);
});

test("a file name from the store is quoted when it holds anything unprintable", () => {
  const { report, lines } = harness();
  report("download", "a\u001b[31mb", 1).done();
  assert.match(lines[0]!, /^download "a\\u001b\[31mb" /);
});

test("an empty file or no time elapsed: no division by zero", () => {
  const { report, lines } = harness();
  report("upload", "empty.txt", 0).done();
  assert.equal(lines, ["upload empty.txt 0 B/0 B 100%  0 B/s"]);
});

test.run();
