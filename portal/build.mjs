// Builds the portal into dist/: one minified script and one stylesheet named by their content's
// hash (so they can be cached forever), and index.html pointing at them. GATEHOUSE_API_URL, when
// set, is where the portal calls the API (a deployment serving the portal from another origin);
// left empty, the portal calls the origin that served it.
import { build } from "esbuild";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { basename } from "node:path";

const out = "dist";
await rm(out, { recursive: true, force: true });
await mkdir(`${out}/assets`, { recursive: true });

const result = await build({
  entryPoints: ["src/main.ts", "src/styles.css"],
  bundle: true,
  minify: true,
  format: "esm",
  target: ["es2022"],
  outdir: `${out}/assets`,
  entryNames: "[name]-[hash]",
  metafile: true,
  legalComments: "none",
});

const outputs = Object.keys(result.metafile.outputs);
const asset = (ext) => `/assets/${basename(outputs.find((o) => o.endsWith(ext)))}`;
const api = (process.env.GATEHOUSE_API_URL ?? "").replace(/"/g, "");
const html = (await readFile("index.html", "utf8"))
  .replace("%SCRIPT%", asset(".js"))
  .replace("%STYLES%", asset(".css"))
  .replace("%GATEHOUSE_API_URL%", api);
await writeFile(`${out}/index.html`, html);

for (const output of outputs) {
  console.log(`${output}: ${(result.metafile.outputs[output].bytes / 1024).toFixed(1)} KiB`);
}
