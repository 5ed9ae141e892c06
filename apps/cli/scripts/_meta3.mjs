import { build } from "esbuild"
const r = await build({ entryPoints: { strata: "dist/main.js", status: "dist/statusMain.js", run: "dist/runMain.js" }, bundle: true, minify: true, platform: "node", format: "esm", target: "node20", write: false, metafile: true, splitting: true, outdir: "/tmp/su/metaout", chunkNames: "chunk-[hash]", outExtension: { ".js": ".mjs" }, logLevel: "error",
  external: ["web-tree-sitter", "tree-sitter-bash", "ioredis", "pg", "pg-*", "bullmq"] })
const outs = r.metafile.outputs
const start = Object.keys(outs).find(k => outs[k].entryPoint === "dist/runMain.js")
const seen = new Set(); const stack = [start]
while (stack.length) { const o = stack.pop(); if (seen.has(o)) continue; seen.add(o); for (const i of outs[o].imports) if (i.kind === "import-statement" && outs[i.path]) stack.push(i.path) }
for (const o of [...seen].sort((a, b) => outs[b].bytes - outs[a].bytes).slice(0, 8)) {
  const ins = Object.entries(outs[o].inputs).sort((a, b) => b[1].bytesInOutput - a[1].bytesInOutput)
  const pk = new Map(); for (const [k, v] of ins) { const m = k.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/) ?? k.match(/(?:packages|plugins)\/([^/]+)/); const key = m ? m[1] : k; pk.set(key, (pk.get(key) ?? 0) + v.bytesInOutput) }
  console.log(o.split("/").pop(), outs[o].bytes, [...pk].sort((a,b)=>b[1]-a[1]).slice(0,8).map(([k,v])=>`${k}:${v}`).join(" "))
}
let tot=0; for (const o of seen) tot+=outs[o].bytes; console.log("total static", tot)
