// Shows that the portal's build fails when the API changes under it: each case below changes
// openapi.yaml the way an API change would (a path renamed, a field of an answer or of a request
// renamed, a permission taken away), generates the client from that copy beside a copy of src/,
// and type-checks it. Each case must fail, in the page that uses what changed.
// Usage: node tests/drift.mjs   (scripts/portal drift; part of scripts/test)
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const portal = join(dirname(fileURLToPath(import.meta.url)), "..");
const spec = readFileSync(join(portal, "..", "openapi.yaml"), "utf8");
const bin = (name) => join(portal, "node_modules", ".bin", name);

const cases = [
  // The control: unchanged, the same copy type-checks, so each failure below is the change's.
  { change: "nothing changes", from: "openapi: 3", to: "openapi: 3", failsIn: null },
  {
    change: "the Generate Key route is renamed",
    from: "  /portal/{org}/keys/generate:\n",
    to: "  /portal/{org}/keys/redeem:\n",
    failsIn: "src/pages/developer.ts",
  },
  {
    change: "a request's field is renamed (catalog_id of a key request)",
    from: "required: [catalog_id], properties: { catalog_id: {",
    to: "required: [entry_id], properties: { entry_id: {",
    failsIn: "src/pages/developer.ts",
  },
  {
    change: "an answer's field is renamed (the login's token)",
    from: '                  token: { type: string, x-secret: true, pattern: "^gh_asess_" }\n',
    to: '                  session: { type: string, x-secret: true, pattern: "^gh_asess_" }\n',
    failsIn: "src/session.ts",
  },
  {
    change: "a permission the pages name is gone (read_usage)",
    from: "verify_keys, read_usage, manage_budgets]",
    to: "verify_keys, manage_budgets]",
    failsIn: "src/pages/usage.ts",
  },
];

let failures = 0;
for (const { change, from, to, failsIn } of cases) {
  const occurrences = spec.split(from).length - 1;
  if (occurrences !== 1) {
    console.error(`✘ ${change}: the text to change occurs ${occurrences} times in openapi.yaml; update this case`);
    failures++;
    continue;
  }
  const work = mkdtempSync(join(tmpdir(), "gatehouse-drift-"));
  try {
    writeFileSync(join(work, "openapi.yaml"), spec.replace(from, to));
    cpSync(join(portal, "src"), join(work, "src"), { recursive: true });
    symlinkSync(join(portal, "node_modules"), join(work, "node_modules"), "dir");
    const config = JSON.parse(readFileSync(join(portal, "tsconfig.json"), "utf8"));
    writeFileSync(join(work, "tsconfig.json"), JSON.stringify({ ...config, include: ["src"] }));
    const generated = spawnSync(bin("openapi-typescript"), [join(work, "openapi.yaml"), "--output", join(work, "src/api/schema.d.ts")], { encoding: "utf8" });
    if (generated.status !== 0) throw new Error(`generating the client failed: ${generated.stderr}`);
    const checked = spawnSync(bin("tsc"), ["--noEmit", "-p", join(work, "tsconfig.json")], { cwd: work, encoding: "utf8" });
    const errors = checked.stdout.split("\n").filter((line) => /error TS\d+/.test(line));
    if (failsIn === null) {
      if (checked.status === 0) console.log(`✓ ${change}: the copy builds`);
      else {
        console.error(`✘ ${change}: the unchanged copy does not build (exit ${checked.status})\n${checked.stdout}`);
        failures++;
      }
    } else if (checked.status !== 0 && errors.some((line) => line.startsWith(failsIn))) {
      console.log(`✓ ${change}: the build fails (${errors.filter((l) => l.startsWith(failsIn)).length} errors in ${failsIn})`);
    } else {
      console.error(`✘ ${change}: the build did not fail in ${failsIn} (exit ${checked.status})\n${errors.join("\n")}`);
      failures++;
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
process.exit(failures ? 1 : 0);
