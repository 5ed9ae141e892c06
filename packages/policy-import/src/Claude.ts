/**
 * Claude Code: `settings.json` (`.claude/settings.json`,
 * `.claude/settings.local.json`, `~/.claude/settings.json`).
 *
 * - `permissions.allow` / `ask` / `deny`: `Bash(git status:*)`,
 *   `Bash(npm run test *)` and `Bash(npm run build)` (exact) become prefix
 *   rules; `Read(...)`, `Edit(...)`, `Write(...)`, `WebFetch(domain:...)`,
 *   `mcp__server__tool` restrictions become tool rules (deny / ask); their
 *   allows are not imported (Strata's tools keep their own checks).
 *   Claude Code gives deny precedence over ask over allow: the strictest
 *   wins, as in Strata.
 * - `permissions.defaultMode`: `dontAsk` → `approval_policy = "never"`;
 *   `bypassPermissions` and `acceptEdits` are not imported (they would widen).
 * - `hooks`: command hooks in the Claude dialect.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import type { ImportError } from "./ImportError.js"
import { Builder } from "./internal/builder.js"
import * as Hooks from "./internal/hooks.js"
import type { Imported, Origin, SourceFile, Verdict } from "./Model.js"

const READ_TOOLS = ["fs__read_file", "fs__glob", "fs__grep"]
const WRITE_TOOLS = ["fs__write_file", "fs__edit", "fs__apply_patch"]

/** Claude Code tool → the Strata tools its rules cover (Claude's Edit rules cover every edit tool). */
const TOOLS: Readonly<Record<string, ReadonlyArray<string>>> = {
  Read: READ_TOOLS,
  Glob: ["fs__glob"],
  Grep: ["fs__grep"],
  Edit: WRITE_TOOLS,
  Write: WRITE_TOOLS,
  MultiEdit: WRITE_TOOLS,
  NotebookEdit: WRITE_TOOLS,
  WebFetch: ["*web_fetch*", "*__fetch"],
  WebSearch: ["*web_search*"]
}

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/** `Tool` or `Tool(specifier)`. */
const RULE = /^([A-Za-z0-9_*-]+)(?:\((.*)\))?$/s

/**
 * Claude's path specifier as an absolute-or-relative glob Strata's tool
 * rules read: `//abs` is `/abs`, `~/x` stays, `/x` is relative to the
 * settings file's project, `./x` and `x` to the working directory.
 */
const pathGlob = (spec: string): string => {
  if (spec.startsWith("//")) return spec.slice(1)
  if (spec.startsWith("/")) return `.${spec}`
  return spec
}

const DECISION: Record<string, Verdict> = { allow: "allow", ask: "ask", deny: "deny" }

/**
 * Imports one or more Claude Code settings files.
 *
 * @since 0.1.0
 * @category importers
 */
export const importSettings = (files: ReadonlyArray<SourceFile>): Either.Either<Imported, ImportError> => {
  const builder = new Builder("claude")
  for (const file of files) {
    builder.file(file.path)
    const json = Hooks.parseJsonObject(file, "expected a settings object", 0)
    if (Either.isLeft(json)) return Either.left(json.left)
    const root = json.right
    const invalid = (field: string, detail: string, line = 0) => Hooks.invalid(file.path, line, 1, field, detail)
    for (const [key, value] of Object.entries(root)) {
      const keyLine = Hooks.findLine(file.text, `"${key}"`)
      if (key === "permissions") {
        if (!isRecord(value)) return invalid("permissions", "expected an object", keyLine)
        for (const [pk, pv] of Object.entries(value)) {
          const pLine = Hooks.findLine(file.text, `"${pk}"`, keyLine)
          const field = `permissions.${pk}`
          const decision = DECISION[pk]
          if (decision !== undefined) {
            if (!Array.isArray(pv)) return invalid(field, "expected a list of rules", pLine)
            for (let i = 0; i < pv.length; i++) {
              const raw: unknown = pv[i]
              if (typeof raw !== "string") return invalid(`${field}[${i}]`, "a rule must be a string", pLine)
              const line = Hooks.findLine(file.text, JSON.stringify(raw), pLine)
              const r = rule(builder, raw, decision, { file: file.path, line, field: `${field}[${i}]` })
              if (Either.isLeft(r)) return Either.left(r.left)
            }
            continue
          }
          const origin: Origin = { file: file.path, line: pLine, field }
          const source = `${pk}: ${JSON.stringify(pv)}`
          if (pk === "defaultMode") {
            if (pv === "dontAsk") {
              builder.setting("approval_policy", "never")
              builder.converted(origin, source, 'approval_policy = "never": what no rule allows is denied')
            } else if (pv === "default" || pv === "plan") {
              builder.converted(
                origin,
                source,
                pv === "plan"
                  ? "plan mode is read-only; Strata asks for what no rule allows"
                  : "Strata asks for what no rule allows"
              )
            } else if (pv === "acceptEdits" || pv === "bypassPermissions" || pv === "auto") {
              builder.refused(
                origin,
                source,
                `not imported: ${String(pv)} would let tools run without asking; Strata keeps asking`,
                true
              )
            } else return invalid(field, `unknown defaultMode ${JSON.stringify(pv)}`, pLine)
          } else if (pk === "additionalDirectories") {
            builder.refused(origin, source, "not imported: Strata's file tools stay in the workspace", true)
          } else if (pk === "disableBypassPermissionsMode") {
            builder.converted(origin, source, "Strata has no bypass mode")
          } else builder.refused(origin, source, `skipped: unknown permissions key ${JSON.stringify(pk)}`, true)
        }
      } else if (key === "hooks") {
        const r = Hooks.fromClaudeShape(
          value,
          { file: file.path, text: file.text, dialect: "claude", toml: false },
          builder
        )
        if (Either.isLeft(r)) return Either.left(r.left)
      } else if (key === "env" || key === "apiKeyHelper") {
        builder.refused(
          { file: file.path, line: keyLine, field: key },
          key,
          "skipped: not imported (environment and credentials are set in Strata's config)",
          true
        )
      } else {
        builder.refused(
          { file: file.path, line: keyLine, field: key },
          key,
          "skipped: not a permission or hook setting",
          true
        )
      }
    }
  }
  return Either.right(builder.close())
}

const rule = (builder: Builder, raw: string, decision: Verdict, origin: Origin): Either.Either<void, ImportError> => {
  const m = RULE.exec(raw.trim())
  if (m === null) {
    // Claude Code skips a rule it cannot parse; an unparsable restriction asks for everything here.
    if (decision === "allow")
      builder.refused(origin, raw, "not imported: not a permission rule (`Tool` or `Tool(specifier)`)", true)
    else {
      builder.all("ask", origin, raw)
      builder.refused(
        origin,
        raw,
        "not a permission rule; every shell command asks and no tool rule could be made",
        decision === "ask"
      )
    }
    return Either.right(undefined)
  }
  const tool = m[1]!
  const spec = m[2]
  if (tool === "Bash") {
    if (spec === undefined || spec === "" || spec === "*") {
      builder.pattern({ text: "", trailing: true, decision, origin, source: raw })
      return Either.right(undefined)
    }
    let text = spec
    let trailing = false
    if (text.endsWith(":*")) {
      text = text.slice(0, -2)
      trailing = true
    } else if (/\s\*$/.test(text)) {
      text = text.replace(/\s\*$/, "")
      trailing = true
    }
    builder.pattern({ text, trailing, decision, origin, source: raw })
    return Either.right(undefined)
  }
  if (decision === "allow") {
    builder.refused(
      origin,
      raw,
      `not imported: allows for ${tool} are not carried over; Strata's own checks for that tool apply`,
      true
    )
    return Either.right(undefined)
  }
  const d = decision as "ask" | "deny"
  if (tool.startsWith("mcp__")) {
    const parts = tool.split("__")
    const name = parts.length === 2 || (parts.length === 3 && parts[2] === "*") ? `mcp__${parts[1]}__*` : tool
    builder.toolRule({ tool: name, decision: d, origin, source: raw })
    builder.converted(origin, raw, `tool rule: ${d} ${name}`)
    return Either.right(undefined)
  }
  const tools = TOOLS[tool]
  if (tool === "WebFetch") {
    const domain = spec?.startsWith("domain:") ? spec.slice("domain:".length) : undefined
    for (const t of tools!)
      builder.toolRule({
        tool: t,
        decision: d,
        origin,
        source: raw,
        ...(domain === undefined ? {} : { domains: [domain] })
      })
    builder.converted(
      origin,
      raw,
      `tool rule: ${d} ${tools!.join(", ")}${domain === undefined ? "" : ` for ${domain}`}`
    )
    return Either.right(undefined)
  }
  if (tools === undefined) {
    builder.toolRule({ tool, decision: d, origin, source: raw })
    builder.approximated(
      origin,
      raw,
      `tool rule: ${d} every call of ${tool}${spec === undefined ? "" : ` (the specifier ${JSON.stringify(spec)} widened to every call)`}`
    )
    return Either.right(undefined)
  }
  const paths = spec === undefined || spec === "" || spec === "**" ? undefined : [pathGlob(spec)]
  for (const t of tools)
    builder.toolRule({ tool: t, decision: d, origin, source: raw, ...(paths === undefined ? {} : { paths }) })
  builder.converted(origin, raw, `tool rule: ${d} ${tools.join(", ")}${paths === undefined ? "" : ` on ${paths[0]}`}`)
  return Either.right(undefined)
}
