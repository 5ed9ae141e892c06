// The first load of the exec policy in a short-lived process (issue 19, the
// demo turn: `ExecPolicy.ready` is the bash grammar's WebAssembly and the
// check of the rules' `match` / `not_match` examples), measured in fresh
// processes, the variants interleaved round by round so that the machine's
// load hits each alike:
//
// - the grammar: V8's wasm flags, set with node:v8 setFlagsFromString before
//   anything is compiled (as bin/strata.js of the CLI does), crossed with how
//   the grammar's bytes are compiled (web-tree-sitter's `Language.load`, or
//   `WebAssembly.compile` / `new WebAssembly.Module` then `Language.loadSync`);
//   the runtime's init, the grammar's load, the first parses (which compile
//   the functions they run: V8 compiles wasm lazily by default on Node 20), and
//   the process's CPU time (user + system, background compilation included);
// - the examples: the engine built from the CLI's distribution rules
//   (apps/cli/policy/strata.toml) with their examples, and from the same rules
//   without them: what checking them costs beyond warming the parser up, i.e.
//   what a cache of their outcome could save at most.
//
//   npm run build -w @strata/exec-policy && node packages/exec-policy/bench/load.bench.mjs
//
// ROUNDS (default 9) fresh processes per variant; prints medians.
import { spawnSync } from "node:child_process"
import { readFileSync } from "node:fs"
import { loadavg } from "node:os"
import { fileURLToPath } from "node:url"

const ROUNDS = Number(process.env.ROUNDS ?? 9)
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(" ")

// One sample, in the child process (argv: "grammar" FLAGS LOADER, or "examples" WITH).
const child = async (kind, a, b) => {
  const { setFlagsFromString } = await import("node:v8")
  if (kind === "grammar") for (const f of a.split(" ").filter((f) => f !== "")) setFlagsFromString(f)
  else setFlagsFromString("--wasm-tiering-budget=2147483647")
  const grammar = readFileSync(fileURLToPath(import.meta.resolve("tree-sitter-bash/tree-sitter-bash.wasm")))
  const out = {}
  if (kind === "grammar") {
    const { Language, Parser } = await import("web-tree-sitter")
    const t0 = performance.now()
    await Parser.init()
    const t1 = performance.now()
    const language =
      b === "Language.load"
        ? await Language.load(new Uint8Array(grammar))
        : Language.loadSync(
            b === "WebAssembly.compile" ? await WebAssembly.compile(grammar) : new WebAssembly.Module(grammar)
          )
    const t2 = performance.now()
    const parser = new Parser()
    parser.setLanguage(language)
    for (const s of [
      "ls -la && git status | wc -l > /dev/null",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a bash parameter expansion
      'echo `echo \\`x\\`` "${x:-$(y)}" <<< z; for i in a b; do cat <<E\n$i\nE\ndone',
      "bash -c 'env A=1 timeout 1 xargs -0 echo {a,b} *.ts' 2>&1",
      "touch strata-demo.txt"
    ])
      parser.parse(s).delete()
    const t3 = performance.now()
    Object.assign(out, { init: t1 - t0, load: t2 - t1, parses: t3 - t2, total: t3 - t0 })
  } else {
    const { BashSyntax, Engine } = await import("../dist/internal/loaded.js")
    const { parseRuleFiles } = await import("../dist/internal/rules.js")
    const { defaultLimits } = await import("../dist/internal/model.js")
    const { parse, stringify } = await import("smol-toml")
    const syntax = await BashSyntax.load(new Uint8Array(grammar))
    let text = readFileSync(new URL("../../../apps/cli/policy/strata.toml", import.meta.url), "utf8")
    if (a === "without") {
      const doc = parse(text)
      for (const rule of doc.rule ?? []) {
        delete rule.match
        delete rule.not_match
      }
      text = stringify(doc)
    }
    const sources = [{ file: "strata.toml", layer: "builtin", text }]
    const files = parseRuleFiles(sources)
    if (files._tag !== "Right") throw new Error("the distribution's rules do not parse")
    const t0 = performance.now()
    const built = Engine.build(files.right, sources, syntax, defaultLimits)
    const t1 = performance.now()
    if (built._tag !== "Right") throw new Error(built.left.message)
    const decision = built.right.decide("ls")
    const t2 = performance.now()
    if (decision.decision !== "allow") throw new Error(`ls: ${decision.decision}`)
    Object.assign(out, { build: t1 - t0, first: t2 - t1 })
  }
  process.on("exit", () => {
    const cpu = process.cpuUsage()
    process.stdout.write(`${JSON.stringify({ ...out, cpu: (cpu.user + cpu.system) / 1000 })}\n`)
  })
}

if (process.argv[2] === "--child") {
  await child(process.argv[3], process.argv[4], process.argv[5])
} else {
  const here = fileURLToPath(import.meta.url)
  const sample = (...args) => {
    const r = spawnSync(process.execPath, [here, "--child", ...args], { encoding: "utf8" })
    if (r.status !== 0) throw new Error(`${args.join(" ")}: ${r.stderr}`)
    return JSON.parse(r.stdout.trim().split("\n").at(-1))
  }
  const before = load()
  const flags = [
    "",
    "--wasm-tiering-budget=2147483647",
    "--wasm-tiering-budget=2147483647 --no-wasm-lazy-compilation",
    "--liftoff-only",
    "--no-wasm-tier-up"
  ]
  const loaders = ["Language.load", "WebAssembly.compile", "new WebAssembly.Module"]
  const grammarVariants = [
    ...flags.map((f) => [f, "Language.load"]),
    ...loaders.slice(1).map((l) => ["--wasm-tiering-budget=2147483647", l])
  ]
  const results = new Map()
  const add = (key, s) => results.set(key, [...(results.get(key) ?? []), s])
  for (let round = 0; round < ROUNDS; round++) {
    for (const [f, l] of grammarVariants) add(`grammar\t${f || "(V8 defaults)"}\t${l}`, sample("grammar", f, l))
    for (const w of ["with", "without"]) add(`examples\t${w}`, sample("examples", w, ""))
  }
  const ms = (x) => `${x.toFixed(1).padStart(7)} ms`
  console.log(`exec policy, first load in a fresh process (median of ${ROUNDS} processes per variant)`)
  console.log("grammar: flags | compiled by | runtime init | grammar load | 4 first parses | total | process CPU")
  for (const [key, samples] of results) {
    const m = (k) => median(samples.map((s) => s[k]))
    const [kind, a, b] = key.split("\t")
    if (kind === "grammar")
      console.log(
        `  ${a} | ${b} | ${ms(m("init"))} | ${ms(m("load"))} | ${ms(m("parses"))} | ${ms(m("total"))} | ${ms(m("cpu"))}`
      )
    else
      console.log(
        `examples: distribution rules ${a} their examples: Engine.build ${ms(m("build"))}, first decision ${ms(m("first"))}, process CPU ${ms(m("cpu"))}`
      )
  }
  console.log(`load average: ${before} at the start, ${load()} at the end`)
}
