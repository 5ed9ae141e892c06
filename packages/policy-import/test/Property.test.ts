/**
 * Property tests: for generated source policies and generated commands, the
 * imported Strata policy (loaded by the real engine) never decides more
 * permissively than the source (deny > ask > allow).
 *
 * Sources and their deciders:
 * - gemini-cli: the real `PolicyEngine` of @google/gemini-cli-core 0.61, fed
 *   the generated policy file and settings through its own
 *   `createPolicyEngineConfig` (no built-in policies);
 * - codex: its documented semantics (strictest matching argv prefix rule,
 *   `host_executable` paths matched as the bare name; no match asks);
 * - Claude Code: its documented semantics (`P:*` and `P *` match `P` and
 *   `P …`; other `*` match any characters; no `*` matches exactly; deny >
 *   ask > allow; no match asks), each part of a compound command alone.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import * as fc from "effect/FastCheck"
import { afterAll, describe, expect, it } from "vitest"
import { Emit, Importer, Model } from "../src/index.js"
import { decide, imported, strataPolicy } from "./utils.js"

const WORDS = [
  "git",
  "status",
  "push",
  "--force",
  "rm",
  "-rf",
  "ls",
  "-la",
  "npm",
  "run",
  "test",
  "build",
  "builder",
  "curl",
  "main"
]
const word = fc.constantFrom(...WORDS)
const argv = fc.array(word, { minLength: 1, maxLength: 4 })
const OPS = [" && ", " | ", "; ", " || "]
/** A command line: one to three simple commands joined by operators. */
const commandLine = fc
  .tuple(
    fc.array(argv, { minLength: 1, maxLength: 3 }),
    fc.array(fc.constantFrom(...OPS), { minLength: 2, maxLength: 2 })
  )
  .map(([cmds, ops]) => cmds.map((c, i) => (i === 0 ? "" : ops[i - 1]) + c.join(" ")).join(""))
const commands = fc.array(commandLine, { minLength: 8, maxLength: 16 })

const parts = (line: string): Array<string> => line.split(/ && | \| |; | \|\| /)
const strictest = (vs: ReadonlyArray<Model.Verdict>): Model.Verdict =>
  vs.reduce<Model.Verdict>((a, b) => Model.stricter(a, b), "allow")

const check = async (
  imp: Model.Imported,
  lines: ReadonlyArray<string>,
  source: (line: string) => Model.Verdict | Promise<Model.Verdict>
) => {
  const policy = await strataPolicy(imp)
  for (const line of lines) {
    const theirs = await source(line)
    const ours = decide(policy, line)
    if (Model.rank(ours) < Model.rank(theirs)) {
      throw new Error(`${JSON.stringify(line)}: source ${theirs}, Strata ${ours}\n${JSON.stringify(imp.rules)}`)
    }
  }
}

const RUNS = Number(process.env.STRATA_IMPORT_RUNS ?? 40)

describe("Claude Code", () => {
  const pattern = fc
    .tuple(fc.array(word, { minLength: 1, maxLength: 3 }), fc.constantFrom(":*", " *", "", "*", "mid", "lead", "all"))
    .map(([ws, form]) => {
      const p = ws.join(" ")
      switch (form) {
        case "mid":
          return ws.length > 1 ? `${ws[0]} * ${ws.slice(1).join(" ")}` : `${p} *`
        case "lead":
          return `* ${p}`
        case "all":
          return ""
        default:
          return `${p}${form}`
      }
    })
  const rules = fc.array(pattern, { maxLength: 4 }).map((ps) => ps.map((p) => (p === "" ? "Bash" : `Bash(${p})`)))

  const matches = (rule: string, cmd: string): boolean => {
    if (rule === "Bash") return true
    const spec = rule.slice(5, -1)
    let re: string
    const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
    if (spec.endsWith(":*")) re = `${esc(spec.slice(0, -2))}( .*)?`
    else if (spec.endsWith(" *")) re = `${spec.slice(0, -2).split("*").map(esc).join(".*")}( .*)?`
    else re = spec.split("*").map(esc).join(".*")
    return new RegExp(`^${re}$`).test(cmd)
  }
  const claude = (s: { allow: Array<string>; ask: Array<string>; deny: Array<string> }) => (line: string) =>
    strictest(
      parts(line).map((cmd) =>
        s.deny.some((r) => matches(r, cmd))
          ? "deny"
          : s.ask.some((r) => matches(r, cmd))
            ? "ask"
            : s.allow.some((r) => matches(r, cmd))
              ? "allow"
              : "ask"
      )
    )

  it("the import never allows or asks where Claude Code would not", async () => {
    await fc.assert(
      fc.asyncProperty(fc.record({ allow: rules, ask: rules, deny: rules }), commands, async (perms, lines) => {
        const text = JSON.stringify({ permissions: perms }, null, 2)
        const imp = imported("claude", [{ path: "settings.json", text }])
        await check(imp, lines, claude(perms))
      }),
      { numRuns: RUNS }
    )
  })

  it("a hostile pattern (operators, quotes, substitutions) never widens an allow", async () => {
    const hostile = fc.constantFrom(
      "Bash(git status && rm -rf /)",
      "Bash(ls; curl x)",
      "Bash(ls $(curl x))",
      "Bash(ls `rm -rf x`)",
      "Bash(git status > /etc/passwd)",
      "Bash('ls' *)",
      "Bash(l\\s:*)",
      "Bash(*)",
      "Bash(:*)",
      "Bash( *)",
      "Bash(ls\n rm:*)"
    )
    await fc.assert(
      fc.asyncProperty(fc.array(hostile, { minLength: 1, maxLength: 4 }), commands, async (allow, lines) => {
        const imp = imported("claude", [{ path: "settings.json", text: JSON.stringify({ permissions: { allow } }) }])
        const policy = await strataPolicy(imp)
        for (const r of imp.rules)
          expect(r.prefix.every((e) => typeof e === "string" && /^[^;&|$`<> ]+$/.test(e))).toBe(true)
        for (const line of [...lines, "rm -rf /", "curl x", "ls; curl x"]) {
          if (decide(policy, line) === "allow")
            expect(parts(line).every((p) => /^(ls|git status)( |$)/.test(p))).toBe(true)
        }
      }),
      { numRuns: 20 }
    )
  })
})

describe("codex", () => {
  const element = fc.oneof(word, fc.uniqueArray(word, { minLength: 2, maxLength: 2 }))
  const rule = fc.record({
    pattern: fc.array(element, { minLength: 1, maxLength: 3 }),
    decision: fc.constantFrom("allow", "prompt", "forbidden", undefined)
  })
  const file = fc.record({ rules: fc.array(rule, { maxLength: 6 }), host: fc.boolean() })
  const VERDICT: Record<string, Model.Verdict> = { allow: "allow", prompt: "ask", forbidden: "deny" }

  const codex =
    (f: { rules: Array<{ pattern: Array<string | Array<string>>; decision: string | undefined }>; host: boolean }) =>
    (line: string) =>
      strictest(
        parts(line).map((cmd) => {
          const words = cmd.split(" ")
          if (f.host && words[0] === "/usr/bin/git") words[0] = "git"
          const hits = f.rules.filter(
            (r) =>
              r.pattern.length <= words.length &&
              r.pattern.every((e, i) => (typeof e === "string" ? e === words[i] : e.includes(words[i]!)))
          )
          return hits.length === 0 ? "ask" : strictest(hits.map((r) => VERDICT[r.decision ?? "allow"]!))
        })
      )

  it("the import never allows or asks where codex would not", async () => {
    const lines = fc.array(
      fc.oneof(
        commandLine,
        argv.map((a) => ["/usr/bin/git", ...a].join(" "))
      ),
      { minLength: 8, maxLength: 16 }
    )
    await fc.assert(
      fc.asyncProperty(file, lines, async (f, ls) => {
        const text = [
          ...f.rules.map(
            (r) =>
              `prefix_rule(pattern = ${JSON.stringify(r.pattern)}${r.decision === undefined ? "" : `, decision = "${r.decision}"`})`
          ),
          ...(f.host ? ['host_executable(name = "git", paths = ["/usr/bin/git"])'] : [])
        ].join("\n")
        const imp = imported("codex", [{ path: "default.rules", text }])
        await check(imp, ls, codex(f))
      }),
      { numRuns: RUNS }
    )
  })
})

describe("gemini-cli (its real PolicyEngine)", async () => {
  const { createPolicyEngineConfig } = await import("@google/gemini-cli-core/dist/src/policy/config.js")
  const { PolicyEngine } = await import("@google/gemini-cli-core/dist/src/policy/policy-engine.js")
  const { ApprovalMode, PolicyDecision } = await import("@google/gemini-cli-core/dist/src/policy/types.js")
  const FROM: Record<string, Model.Verdict> = {
    [PolicyDecision.ALLOW]: "allow",
    [PolicyDecision.ASK_USER]: "ask",
    [PolicyDecision.DENY]: "deny"
  }
  const dir = mkdtempSync(path.join(tmpdir(), "strata-gemini-"))
  const empty = mkdtempSync(path.join(tmpdir(), "strata-gemini-defaults-"))
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true })
    rmSync(empty, { recursive: true, force: true })
  })
  // gemini-cli-core logs every check through console.debug.
  console.debug = () => {}

  const prefix = fc.array(word, { minLength: 1, maxLength: 2 }).map((w) => w.join(" "))
  const regex = fc.oneof(
    fc.tuple(word, word).map(([a, b]) => `${a}\\s+${b}`),
    word.map((a) => `${a}.*`),
    word.map((a) => `.*${a}`),
    fc.tuple(word, word).map(([a, b]) => `${a}|${b}`),
    fc.tuple(word, word).map(([a, b]) => `${a} (${b}|x)`)
  )
  const rule = fc.record({
    shape: fc.oneof(
      prefix.map((p) => `commandPrefix = ${JSON.stringify(p)}`),
      regex.map((r) => `commandRegex = ${JSON.stringify(r)}`),
      fc.constant("")
    ),
    decision: fc.constantFrom("allow", "deny", "ask_user"),
    priority: fc.integer({ min: 0, max: 999 }),
    modes: fc.constantFrom(undefined, ["yolo"], ["default", "autoEdit"])
  })
  const settings = fc.record({
    allowed: fc.option(
      fc.array(
        prefix.map((p) => `run_shell_command(${p})`),
        { maxLength: 3 }
      ),
      { nil: undefined }
    ),
    exclude: fc.option(
      fc.array(
        prefix.map((p) => `run_shell_command(${p})`),
        { maxLength: 2 }
      ),
      { nil: undefined }
    ),
    core: fc.option(
      fc.array(
        fc.oneof(
          prefix.map((p) => `run_shell_command(${p})`),
          fc.constant("read_file")
        ),
        { maxLength: 2 }
      ),
      { nil: undefined }
    )
  })

  let n = 0
  it("the import never allows or asks where gemini-cli would not", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(rule, { maxLength: 6 }), settings, commands, async (rules, s, lines) => {
        const toml = rules
          .map((r) =>
            [
              "[[rule]]",
              'toolName = "run_shell_command"',
              r.shape,
              `decision = "${r.decision}"`,
              `priority = ${r.priority}`,
              r.modes === undefined ? "" : `modes = ${JSON.stringify(r.modes)}`
            ]
              .filter((l) => l !== "")
              .join("\n")
          )
          .join("\n\n")
        const file = path.join(dir, `p${n++}.toml`)
        writeFileSync(file, toml)
        const tools = Object.fromEntries(Object.entries(s).filter(([, v]) => v !== undefined))
        const config = await createPolicyEngineConfig({ tools, policyPaths: [file] }, ApprovalMode.DEFAULT, empty, true)
        const engine = new PolicyEngine(config)
        const imp = imported("gemini", [
          { path: "policy.toml", text: toml },
          { path: "settings.json", text: JSON.stringify({ tools }) }
        ])
        await check(imp, lines, async (line) => {
          const r = await engine.check({ name: "run_shell_command", args: { command: line } }, undefined)
          return FROM[r.decision]!
        })
      }),
      { numRuns: RUNS }
    )
  })
})

describe("any input", () => {
  const PIECES = [
    "prefix_rule(",
    "pattern = ",
    '["git", ["a", "b"]]',
    'decision = "forbidden"',
    ")",
    ",",
    "[[rule]]\n",
    'toolName = "run_shell_command"\n',
    'commandRegex = "(a|"\n',
    "priority = 5\n",
    '{"permissions": {"allow": ["Bash(',
    '"]}}',
    '{"hooks": {"BeforeTool": [{"hooks": [',
    "\\",
    '"',
    "'",
    "#",
    "\n",
    "*",
    ":*"
  ]
  const text = fc.oneof(
    fc.string({ maxLength: 200 }),
    fc.array(fc.constantFrom(...PIECES), { maxLength: 30 }).map((xs) => xs.join(""))
  )
  it("never makes an importer throw: a result or a located error", () => {
    fc.assert(
      fc.property(
        fc.constantFrom("codex", "gemini", "claude"),
        fc.constantFrom("a.rules", "p.toml", "s.json"),
        text,
        (format, file, t) => {
          const r = Importer.importFiles(format as Importer.Format, [{ path: file, text: t }])
          if (r._tag === "Left") expect(r.left.file).toBe(file)
          else Emit.policyToml(r.right)
        }
      ),
      { numRuns: 2000 }
    )
  })
})

describe("the written rule file", () => {
  const example = fc.oneof(
    fc.array(word, { minLength: 1, maxLength: 3 }).map((w) => JSON.stringify(w.join(" "))),
    fc.array(word, { minLength: 1, maxLength: 3 }).map((w) => JSON.stringify(w))
  )
  const rule = fc.record({
    pattern: fc.array(fc.oneof(word, fc.uniqueArray(word, { minLength: 2, maxLength: 2 })), {
      minLength: 1,
      maxLength: 3
    }),
    match: fc.array(example, { maxLength: 2 }),
    notMatch: fc.array(example, { maxLength: 2 })
  })
  it("always loads in the engine, or the import is a located error (as codex rejects failing examples)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(rule, { minLength: 1, maxLength: 4 }), async (rules) => {
        const text = rules
          .map(
            (r) =>
              `prefix_rule(pattern = ${JSON.stringify(r.pattern)}, match = [${r.match.join(", ")}], not_match = [${r.notMatch.join(", ")}])`
          )
          .join("\n")
        const result = Importer.importFiles("codex", [{ path: "default.rules", text }])
        if (result._tag === "Left") {
          expect(result.left).toMatchObject({
            file: "default.rules",
            field: expect.stringMatching(/^prefix_rule\.(match|not_match)$/)
          })
          return
        }
        await strataPolicy(result.right)
      }),
      { numRuns: 60 }
    )
  })
})
