/**
 * Every code block of docs/ and of the READMEs is compiled or executed:
 * - `ts`: type-checked (strict, the repo's compiler options) against the
 *   built workspace packages, each block a module of its own;
 * - `toml`: parsed, then decoded: a rule file (`[[rule]]`) with the exec
 *   policy (every rule and its examples), anything else as `config.toml`
 *   with the `RuntimeConfig` schema (no unknown key besides the sections
 *   the built-in plugins read, `[fs]`);
 * - `sh`: `bash -n`, and each line that is one `strata` command without
 *   placeholders (`ID`, `<x>`, `…`, a rule file to write first) is run with
 *   the built `strata` in a fresh project on the demo model (it must not
 *   fail or be refused as bad usage);
 * - `json`: parsed; `sql`: the tables and columns it lists exist in the
 *   PostgreSQL store's schema.
 * Blocks without a language (or `text`) are not code: layouts, diagrams.
 */
import { spawnSync } from "node:child_process"
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import * as path from "node:path"
import { NodeContext } from "@effect/platform-node"
import { Config, RuntimeConfig } from "@strata/core-runtime"
import * as ExecPolicy from "@strata/exec-policy/ExecPolicy"
import * as Effect from "effect/Effect"
import { beforeAll, describe, expect, it } from "vitest"
import * as PluginSettings from "../src/PluginSettings.js"
import { ensureBuilt, repoRoot } from "./build.js"
import { project } from "./e2e/harness.js"

beforeAll(() => ensureBuilt(), 300_000)

interface Block {
  readonly file: string
  readonly line: number
  readonly lang: string
  readonly code: string
}

const markdown = (): Array<string> => {
  const inDir = (dir: string, name: (n: string) => boolean) =>
    existsSync(path.join(repoRoot, dir))
      ? readdirSync(path.join(repoRoot, dir))
          .filter(name)
          .map((n) => path.join(dir, n))
      : []
  const readmes = (dir: string) =>
    inDir(dir, () => true)
      .map((d) => path.join(d, "README.md"))
      .filter((f) => existsSync(path.join(repoRoot, f)))
  return [
    ...inDir("docs", (n) => n.endsWith(".md")),
    "README.md",
    ...readmes("packages"),
    ...readmes("plugins"),
    ...readmes("apps")
  ]
}

const blocks = (): Array<Block> =>
  markdown().flatMap((file) => {
    const lines = readFileSync(path.join(repoRoot, file), "utf8").split("\n")
    const out: Array<Block> = []
    for (let i = 0; i < lines.length; i++) {
      const open = /^```(\S*)\s*$/.exec(lines[i]!)
      if (open === null) continue
      const end = lines.findIndex((l, j) => j > i && l.startsWith("```"))
      out.push({ file, line: i + 1, lang: open[1]!, code: lines.slice(i + 1, end).join("\n") })
      i = end
    }
    return out
  })

const all = blocks()
const of = (...langs: Array<string>) => all.filter((b) => langs.includes(b.lang))
const where = (b: Block) => `${b.file}:${b.line}`

describe("code blocks of the docs and READMEs", () => {
  it("every block is of a language this test checks (or text)", () => {
    const known = new Set(["", "text", "ts", "typescript", "toml", "sh", "bash", "json", "sql"])
    expect(all.filter((b) => !known.has(b.lang)).map((b) => `${where(b)}: ${b.lang}`)).toEqual([])
    expect(of("ts", "typescript").length).toBeGreaterThan(10)
  })

  it("ts blocks type-check against the workspace packages", () => {
    // Under node_modules/.cache: imports resolve through the workspace's node_modules.
    const dir = path.join(repoRoot, "node_modules", ".cache", "strata-docs")
    rmSync(dir, { recursive: true, force: true })
    mkdirSync(dir, { recursive: true })
    const names = new Map<string, Block>()
    for (const block of of("ts", "typescript")) {
      const name = `${block.file.replace(/[^A-Za-z0-9]+/g, "_")}_${block.line}.ts`
      names.set(name, block)
      writeFileSync(path.join(dir, name), `${block.code}\n`)
    }
    writeFileSync(
      path.join(dir, "tsconfig.json"),
      JSON.stringify({
        extends: path.join(repoRoot, "tsconfig.base.json"),
        compilerOptions: { noEmit: true, types: ["node"], noUnusedLocals: false, noUnusedParameters: false },
        include: ["*.ts"]
      })
    )
    const tsc = spawnSync(process.execPath, [path.join(repoRoot, "node_modules/typescript/bin/tsc"), "-p", dir], {
      encoding: "utf8"
    })
    const errors = tsc.stdout
      .split("\n")
      .filter((l) => /error TS/.test(l))
      .map((l) => {
        const m = /^([^(]+)\((\d+),(\d+)\): (.*)$/.exec(l)
        const block = m === null ? undefined : names.get(path.basename(m[1]!))
        return block === undefined ? l : `${block.file}:${block.line + Number(m![2])}: ${m![4]}`
      })
    expect(errors).toEqual([])
  }, 300_000)

  it("toml blocks parse and decode: rule files with the exec policy, the rest with the config schema", async () => {
    const problems: Array<string> = []
    const grammar = await Effect.runPromise(ExecPolicy.loadGrammar.pipe(Effect.provide(NodeContext.layer)))
    const plugin = await Effect.runPromise(PluginSettings.settings)
    for (const block of of("toml")) {
      const result = await Effect.runPromise(
        Effect.gen(function* () {
          const parsed = yield* Config.parseToml(where(block), block.code)
          if ("rule" in parsed) {
            yield* ExecPolicy.makeFromSources([{ file: where(block), layer: "project", text: block.code }], { grammar })
            return []
          }
          const loaded = yield* Config.load(RuntimeConfig.RuntimeConfig, [
            { _tag: "Text", name: where(block), text: block.code }
          ])
          return loaded.warnings
            .filter((w) => !PluginSettings.isPluginPath(plugin, w.path))
            .map((w) => `${where(block)}: ${w.message}`)
        }).pipe(
          Effect.catchAll((e) => Effect.succeed([`${where(block)}: ${e.message}`])),
          Effect.provide(NodeContext.layer)
        )
      )
      problems.push(...result)
    }
    expect(problems).toEqual([])
  })

  it("json blocks parse", () => {
    const problems = of("json").flatMap((b) =>
      b.code
        .split("\n")
        .filter((l) => l.trim() !== "")
        .flatMap((l) => {
          try {
            JSON.parse(l)
            return []
          } catch (e) {
            return [`${where(b)}: ${(e as Error).message}`]
          }
        })
    )
    expect(problems).toEqual([])
  })

  it("sh blocks are valid shell; their strata commands run", async () => {
    const problems: Array<string> = []
    const p = project({ "notes.md": "# notes\n" })
    try {
      for (const block of of("sh", "bash")) {
        const syntax = spawnSync("bash", ["-n"], { input: block.code, encoding: "utf8" })
        if (syntax.status !== 0) problems.push(`${where(block)}: bash -n: ${syntax.stderr.trim()}`)
        for (const raw of block.code.split("\n")) {
          const command = raw.replace(/\s+#.*$/, "").trim()
          const words = command.match(/"[^"]*"|'[^']*'|\S+/g) ?? []
          // one strata command, nothing to fill in (ID, THREAD, <x>, ...), no pipes or chains
          if (words[0] !== "strata" || /[|&;<>…]|\.\.\./.test(command) || words.some((w) => /^[A-Z][A-Z_]+$/.test(w)))
            continue
          const args = words.slice(1).map((w) => w.replace(/^["']|["']$/g, ""))
          // a file the reader is meant to have written (a rule file): a placeholder too
          if (args.some((a) => /\.(toml|json)$/.test(a) && !p.exists(a))) continue
          const run = await p.strata(args, { env: { STRATA_DEMO: "1" }, timeoutMs: 120_000 })
          if (run.code !== 0 && run.code !== 3)
            problems.push(`${where(block)}: \`${command}\` exited ${run.code}: ${run.stderr.trim()}`)
        }
      }
    } finally {
      p.cleanup()
    }
    expect(problems).toEqual([])
  }, 600_000)

  it("the sql block lists the PostgreSQL store's tables and columns", async () => {
    const sql = of("sql")
    if (sql.length === 0) return
    const schema = `strata_docs_${Date.now().toString(36)}`
    const url = "postgres://postgres@127.0.0.1:5432/test"
    // The store creates its tables on first use.
    const store = await import("@strata/storage/sql")
    const { StateStore } = await import("@strata/storage/StateStore")
    await Effect.runPromise(
      Effect.flatMap(StateStore, (s) => s.listThreads()).pipe(
        Effect.provide(store.layerPostgres({ connectionString: url, schema })),
        Effect.scoped
      )
    )
    const pg = createRequire(import.meta.url)("pg") as typeof import("pg")
    const client = new pg.Client({ connectionString: url })
    await client.connect()
    try {
      const actual = new Map<string, Set<string>>()
      const rows = await client.query<{ table_name: string; column_name: string }>(
        "select table_name, column_name from information_schema.columns where table_schema = $1",
        [schema]
      )
      for (const { table_name, column_name } of rows.rows) {
        actual.set(table_name, (actual.get(table_name) ?? new Set()).add(column_name))
      }
      const problems: Array<string> = []
      for (const block of sql) {
        for (const m of block.code.matchAll(/^(\w+)\s+\(([^)]*)/gm)) {
          const columns = m[2]!
            .split(",")
            .map((c) => c.trim().split(/\s+/)[0]!)
            .filter((c) => c !== "PRIMARY")
          const have = actual.get(m[1]!)
          if (have === undefined) problems.push(`${where(block)}: no table ${m[1]}`)
          else for (const c of columns) if (!have.has(c)) problems.push(`${where(block)}: ${m[1]} has no column ${c}`)
        }
      }
      expect(problems).toEqual([])
    } finally {
      await client.query(`drop schema if exists "${schema}" cascade`)
      await client.end()
    }
  })
})
