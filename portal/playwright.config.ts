// Browser journeys against the local runner (started by tests/runner.ts), in Debian's Chromium:
// CHROMIUM_PATH, or /usr/bin/chromium. Playwright's own browser download is never used.
import { defineConfig } from "@playwright/test";

export default defineConfig({
  testDir: "tests",
  globalSetup: "./tests/runner.ts",
  // One runner, one outbox, two cores: the journeys run one after another.
  workers: 1,
  fullyParallel: false,
  timeout: 90_000,
  expect: { timeout: 15_000 },
  retries: 0,
  reporter: [["list"]],
  use: {
    browserName: "chromium",
    launchOptions: { executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium" },
    // Every page is tried at the narrowest phone width the portal supports.
    viewport: { width: 360, height: 780 },
    trace: "off",
  },
});
