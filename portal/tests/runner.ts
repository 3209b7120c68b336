// Starts the local runner for the browser journeys: embedded mode, a private outbox, the built
// portal, a free loopback port. GATEHOUSE_TEST_LOCAL_RUNNER names the binary (scripts/test sets it).
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const ROOT_KEY = "gh_root_portal-journeys-0123456789abcdef";

async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? done(address.port) : fail(new Error("no port"))));
    });
  });
}

export default async function start(): Promise<() => Promise<void>> {
  const binary = process.env.GATEHOUSE_TEST_LOCAL_RUNNER;
  if (!binary) throw new Error("GATEHOUSE_TEST_LOCAL_RUNNER names the gatehouse-local binary (scripts/test sets it)");
  const port = await freePort();
  const outbox = mkdtempSync(join(tmpdir(), "gatehouse-portal-outbox-"));
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.AWS_ENDPOINT_URL;
  const runner = spawn(resolve(binary), [], {
    env: {
      ...env,
      PORT: String(port),
      OUTBOX_DIR: outbox,
      PORTAL_DIR: resolve("dist"),
      GATEHOUSE_ROOT_KEY: ROOT_KEY,
      GATEHOUSE_SECRET_KEY: "cG9ydGFsLWpvdXJuZXlzLXNlY3JldC1rZXktMzJieXQ=",
      RUST_LOG: "warn",
    },
    stdio: ["ignore", "inherit", "inherit"],
  });
  const base = `http://127.0.0.1:${port}`;
  const started = Date.now();
  for (;;) {
    if (runner.exitCode !== null) throw new Error(`the runner exited with ${runner.exitCode}`);
    try {
      if ((await fetch(`${base}/health`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() - started > 60_000) throw new Error("the runner did not answer within 60 s");
    await new Promise((r) => setTimeout(r, 200));
  }
  process.env.PORTAL_BASE = base;
  process.env.PORTAL_OUTBOX = outbox;
  return async () => {
    runner.kill("SIGTERM");
    await new Promise((r) => runner.once("exit", r));
    rmSync(outbox, { recursive: true, force: true });
  };
}
