#!/usr/bin/env node
// The model-store command as a bin (package.json "bin": npx ai-app-models ...): runs the
// TypeScript source through tsx's loader in this same process, so stdout carries only what the
// command prints (no npm banner, one JSON document with --json) and signals reach it directly.
import { register } from "tsx/esm/api";

register();
const { runAsCommand } = await import("../dagger/src/model-store/cli.ts");
await runAsCommand(process.argv.slice(2));
