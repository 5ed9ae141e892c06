import { build } from "esbuild"
const entry = process.argv[2] ?? "dist/runMain.js"
const r = await build({ entryPoints: { strata: entry }, bundle: true, minify: true, platform: "node", format: "esm", target: "node20", write: false, metafile: true, splitting: true, outdir: "/tmp/su/metaout", logLevel: "error",
  external: ["web-tree-sitter", "tree-sitter-bash", "ioredis", "pg", "pg-*", "bullmq"] })
const outs = r.metafile.outputs
const start = Object.keys(outs).find(k => outs[k].entryPoint === entry)
const seen = new Set(); const stack = [start]; const ext = new Set()
while (stack.length) { const o = stack.pop(); if (seen.has(o)) continue; seen.add(o); for (const i of outs[o].imports) { if (i.kind === "import-statement" && outs[i.path]) stack.push(i.path); else if (i.external && i.kind === "import-statement") ext.add(i.path) } }
const rows = []
for (const o of seen) for (const [inp, v] of Object.entries(outs[o].inputs)) rows.push([v.bytesInOutput, inp.replace(/.*node_modules\//, "nm/").replace(/^\.\.\/\.\.\//, "")])
const re = new RegExp(process.env.FILTER ?? ".")
for (const [b, f] of rows.filter(r => re.test(r[1])).sort((a, b) => b[0] - a[0]).slice(0, Number(process.env.TOP ?? 60))) console.log(String(b).padStart(8), f)
console.log("externals:", [...ext].join(" "))
