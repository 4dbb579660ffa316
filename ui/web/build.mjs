// Bundles the pages' scripts into ../static/dist, which the Go binary embeds. MapLibre
// starts its worker from maplibre-gl-worker.mjs next to the bundle that imports it.
import * as esbuild from "esbuild";
import { copyFileSync, mkdirSync } from "node:fs";

const out = "../static/dist";
mkdirSync(out, { recursive: true });
await esbuild.build({
  entryPoints: ["src/wall.js", "src/handheld.js", "src/replay.js", "src/report.js"],
  bundle: true,
  format: "esm",
  minify: true,
  target: "es2022",
  outdir: out,
  logLevel: "warning",
});
copyFileSync("node_modules/maplibre-gl/dist/maplibre-gl-worker.mjs", `${out}/maplibre-gl-worker.mjs`);
