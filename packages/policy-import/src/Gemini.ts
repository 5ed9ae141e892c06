/**
 * gemini-cli: policy TOML files (`[[rule]]` with `toolName`,
 * `commandPrefix` / `commandRegex` / `argsPattern`, `decision = allow | deny
 * | ask_user`, `priority`, `modes`, `allowRedirection`, ...) and
 * `settings.json` (`tools.allowed` / `tools.exclude` / `tools.core` /
 * `tools.confirmationRequired`, the older `allowedTools` / `excludeTools` /
 * `coreTools`, `mcp.excluded`, `hooks`).
 *
 * gemini-cli lets the highest-priority matching rule decide; Strata lets the
 * strictest decide. An allow that gemini-cli ranks above an overlapping
 * restriction is reported (`order changes a decision`): Strata then asks or
 * denies where gemini-cli allowed, never the other way round. A rule
 * restricting every shell command becomes `default`, and the allows it
 * outranks are dropped.
 *
 * Priorities are compared as gemini-cli does: `tier + priority / 1000` for
 * policy files (user tier, 4, unless `tier` is given), the settings' fixed
 * priorities (`tools.exclude` 4.4, `tools.allowed` 4.3, ...) for settings.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import { ImportError } from "./ImportError.js"
import { Builder } from "./internal/builder.js"
import * as Hooks from "./internal/hooks.js"
import type { Imported, Origin, SourceFile, Verdict } from "./Model.js"

const SHELL = "run_shell_command"
const SHELL_ALIASES = new Set([SHELL, "ShellTool", "run_shell"])

/** gemini-cli tool → Strata tool(s). */
export const TOOLS: Readonly<Record<string, ReadonlyArray<string>>> = {
  read_file: ["fs__read_file"],
  read_many_files: ["fs__read_file"],
  write_file: ["fs__write_file"],
  replace: ["fs__edit", "fs__apply_patch"],
  glob: ["fs__glob"],
  grep_search: ["fs__grep"],
  search_file_content: ["fs__grep"],
  list_directory: ["fs__glob"],
  web_fetch: ["*web_fetch*"],
  google_web_search: ["*web_search*"]
}

const DECISIONS: Record<string, Verdict> = { allow: "allow", deny: "deny", ask_user: "ask" }

const RULE_KEYS = new Set([
  "toolName",
  "subagent",
  "mcpName",
  "argsPattern",
  "commandPrefix",
  "commandRegex",
  "decision",
  "priority",
  "modes",
  "interactive",
  "toolAnnotations",
  "allowRedirection",
  "allow_redirection",
  "denyMessage",
  "deny_message"
])

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/** Lines of the `[[rule]]` / `[[safety_checker]]` headers, in order. */
const headerLines = (text: string, name: string): Array<number> => {
  const re = new RegExp(`^\\s*\\[\\[\\s*${name}\\s*\\]\\]`)
  return text.split("\n").flatMap((l, i) => (re.test(l) ? [i + 1] : []))
}

/** Top-level `|` in a regular expression (outside groups and classes). */
const hasTopLevelAlternation = (re: string): boolean => {
  let depth = 0
  let cls = false
  for (let i = 0; i < re.length; i++) {
    const c = re[i]!
    if (c === "\\") {
      i++
      continue
    }
    if (cls) {
      if (c === "]") cls = false
      continue
    }
    if (c === "[") cls = true
    else if (c === "(") depth++
    else if (c === ")") depth--
    else if (c === "|" && depth === 0) return true
  }
  return false
}

/**
 * The complete literal words a `commandRegex` starts with: `git\s+push\b`
 * gives `git push`; `git pu.h` gives `git`; `.*rm` gives nothing. Used only
 * to anchor restrictions (a prefix at least as wide as the regex).
 */
export const regexLeadingWords = (re: string): Array<string> => {
  if (hasTopLevelAlternation(re)) return []
  let s = re.startsWith("^") ? re.slice(1) : re
  const words: Array<string> = []
  let current = ""
  let complete = false
  while (s.length > 0) {
    let m: RegExpExecArray | null
    if ((m = /^(?:\\s\+|\\s|[ ]\+|[ ])/.exec(s)) !== null) {
      // A single separator (or one-or-more): the word before it is whole.
      if (/^(\\s|[ ])[*?{]/.test(s)) break
      if (current !== "") words.push(current)
      current = ""
      complete = true
      s = s.slice(m[0].length)
      continue
    }
    if ((m = /^[A-Za-z0-9_@%,:=/-]/.exec(s)) !== null || (m = /^\\[.\-/_:=@%,]/.exec(s)) !== null) {
      const ch = m[0].length === 2 ? m[0][1]! : m[0]
      // A quantifier after this character makes it optional or repeated: stop before it.
      if (/^[*?{+]/.test(s.slice(m[0].length))) break
      current += ch
      complete = false
      s = s.slice(m[0].length)
      continue
    }
    if (/^(\\b|\$|\(\?:\\s\|\$\)|\(\\s\|\$\))/.test(s) && current !== "") {
      words.push(current)
      current = ""
      complete = true
    }
    break
  }
  if (s.length === 0 && current !== "") {
    // The regex ends here: gemini-cli's pattern is open-ended, so the last word may continue (`git pus` matches `git push`).
  }
  void complete
  return words
}

interface RuleInput {
  readonly raw: Record<string, unknown>
  readonly origin: Origin
  readonly source: string
  readonly priority: number
}

const shellRule = (builder: Builder, r: RuleInput, decision: Verdict): void => {
  const { raw, origin, source, priority } = r
  const modes = raw["modes"]
  const justification =
    typeof raw["denyMessage"] === "string"
      ? raw["denyMessage"]
      : typeof raw["deny_message"] === "string"
        ? raw["deny_message"]
        : undefined
  const allowRedirection = raw["allowRedirection"] === true || raw["allow_redirection"] === true ? true : undefined
  // Rules limited to some modes, subagents, MCP servers or non-interactive runs: allows apply more narrowly in the source.
  const narrowed: Array<string> = []
  if (Array.isArray(modes) && !modes.includes("default")) narrowed.push(`modes ${JSON.stringify(modes)} (not default)`)
  if (raw["subagent"] !== undefined) narrowed.push(`subagent ${JSON.stringify(raw["subagent"])}`)
  if (raw["interactive"] === false) narrowed.push("non-interactive runs only")
  if (raw["toolAnnotations"] !== undefined) narrowed.push("tool annotations")
  if (decision === "allow" && narrowed.length > 0) {
    builder.refused(
      origin,
      source,
      `not imported: the allow applies only to ${narrowed.join(", ")}; the commands ask`,
      true
    )
    return
  }
  const prefixes = raw["commandPrefix"]
  const regex = raw["commandRegex"]
  const args = raw["argsPattern"]
  if (prefixes !== undefined) {
    for (const p of Array.isArray(prefixes) ? prefixes : [prefixes]) {
      builder.pattern({
        text: String(p),
        trailing: true,
        widened: narrowed.length > 0,
        decision,
        origin,
        source,
        justification,
        priority,
        allowRedirection
      })
    }
    return
  }
  if (typeof regex === "string" || typeof args === "string") {
    const text = (regex ?? args) as string
    if (decision === "allow") {
      builder.refused(
        origin,
        source,
        `not imported: a regular expression allow has no prefix form; the commands ask`,
        true
      )
      return
    }
    const words = typeof regex === "string" ? regexLeadingWords(regex) : []
    if (words.length === 0) {
      builder.all(decision, origin, `${source} (the regular expression has no literal leading words)`, priority)
      return
    }
    builder.pattern({
      text: words.join(" "),
      trailing: true,
      widened: true,
      decision,
      origin,
      source: `${source} [regex ${text}]`,
      justification,
      priority,
      allowRedirection
    })
    return
  }
  builder.pattern({ text: "", trailing: true, decision, origin, source, justification, priority, allowRedirection })
}

const toolRule = (builder: Builder, tool: string, r: RuleInput, decision: Verdict): void => {
  const mcp = typeof r.raw["mcpName"] === "string" ? r.raw["mcpName"] : undefined
  if (decision === "allow") {
    builder.refused(
      r.origin,
      r.source,
      `not imported: allows for ${tool} are not carried over; Strata's own checks for that tool apply`,
      true
    )
    return
  }
  const d = decision as "ask" | "deny"
  let names: ReadonlyArray<string>
  if (mcp !== undefined) names = [`mcp__${mcp}__${tool === "*" ? "*" : tool.replace(new RegExp(`^mcp_${mcp}_`), "")}`]
  else if (tool === "*") names = ["*"]
  else if (tool.startsWith("mcp_")) {
    const m = /^mcp_([^_]+)_(.+)$/.exec(tool)
    names = [m === null ? tool : `mcp__${m[1]}__${m[2]}`]
  } else names = TOOLS[tool] ?? [tool]
  for (const n of names) builder.toolRule({ tool: n, decision: d, origin: r.origin, source: r.source })
  const wide = r.raw["argsPattern"] !== undefined ? " (argsPattern widened to every call)" : ""
  if (wide === "") builder.converted(r.origin, r.source, `tool rule: ${d} ${names.join(", ")}`)
  else builder.approximated(r.origin, r.source, `tool rule: ${d} ${names.join(", ")}${wide}`)
}

/**
 * Imports gemini-cli policy TOML files into `builder`.
 *
 * @since 0.1.0
 * @category importers
 */
export const importPolicy = (
  file: SourceFile,
  builder: Builder = new Builder("gemini", { prioritized: true }),
  options: { readonly tier?: number } = {}
): Either.Either<Builder, ImportError> => {
  builder.file(file.path)
  const tier = options.tier ?? 4
  const parsed = Hooks.parseToml(file)
  if (Either.isLeft(parsed)) return Either.left(parsed.left)
  const doc = parsed.right
  const lines = headerLines(file.text, "rule")
  const checkerLines = headerLines(file.text, "safety_checker")
  for (const key of Object.keys(doc)) {
    if (key !== "rule" && key !== "safety_checker")
      return Hooks.invalid(
        file.path,
        Hooks.findLine(file.text, key),
        1,
        key,
        `unknown key ${JSON.stringify(key)} (expected [[rule]] or [[safety_checker]])`
      )
  }
  const rules = doc["rule"] ?? []
  if (!Array.isArray(rules)) return Hooks.invalid(file.path, 0, 1, "rule", "expected [[rule]] tables")
  for (let i = 0; i < rules.length; i++) {
    const raw: unknown = rules[i]
    const line = lines[i] ?? 0
    const field = `rule[${i}]`
    const invalid = (f: string, detail: string) => Hooks.invalid(file.path, line, 1, `${field}.${f}`, detail)
    if (!isRecord(raw)) return invalid("", "expected a table")
    for (const k of Object.keys(raw)) if (!RULE_KEYS.has(k)) return invalid(k, `unknown key ${JSON.stringify(k)}`)
    const tools = raw["toolName"]
    const toolList =
      typeof tools === "string"
        ? [tools]
        : Array.isArray(tools) && tools.every((t) => typeof t === "string")
          ? (tools as Array<string>)
          : undefined
    if (toolList === undefined || toolList.length === 0)
      return invalid("toolName", "toolName must be a string or a list of strings")
    const decision = DECISIONS[String(raw["decision"])]
    if (decision === undefined)
      return invalid(
        "decision",
        `unknown decision ${JSON.stringify(raw["decision"])} (expected allow, deny or ask_user)`
      )
    const p = raw["priority"]
    if (typeof p !== "number" || !Number.isInteger(p) || p < 0 || p > 999)
      return invalid("priority", "priority must be an integer from 0 to 999")
    const hasShellFields = raw["commandPrefix"] !== undefined || raw["commandRegex"] !== undefined
    if (hasShellFields && (toolList.length !== 1 || toolList[0] !== SHELL))
      return invalid("commandPrefix", 'commandPrefix and commandRegex need toolName = "run_shell_command"')
    if (raw["commandPrefix"] !== undefined && raw["commandRegex"] !== undefined)
      return invalid("commandRegex", "commandPrefix and commandRegex exclude each other")
    if (hasShellFields && raw["argsPattern"] !== undefined)
      return invalid("argsPattern", "argsPattern excludes commandPrefix and commandRegex")
    for (const re of ["commandRegex", "argsPattern"] as const) {
      if (raw[re] === undefined) continue
      if (typeof raw[re] !== "string") return invalid(re, `${re} must be a string`)
      try {
        new RegExp(raw[re] as string)
      } catch (error) {
        return invalid(re, `invalid regular expression: ${String((error as Error).message)}`)
      }
    }
    const cp = raw["commandPrefix"]
    if (cp !== undefined && !(typeof cp === "string" || (Array.isArray(cp) && cp.every((x) => typeof x === "string"))))
      return invalid("commandPrefix", "commandPrefix must be a string or a list of strings")
    const input: RuleInput = {
      raw,
      origin: { file: file.path, line, field },
      source: summarize(raw),
      priority: tier + p / 1000
    }
    for (const tool of toolList) {
      if (SHELL_ALIASES.has(tool) || tool === "*") {
        if (tool === "*" && decision !== "allow") {
          // Every tool, the shell included.
          shellRule(builder, input, decision)
          toolRule(builder, "*", input, decision)
        } else if (tool === "*")
          builder.refused(input.origin, input.source, "not imported: an allow for every tool; tools keep asking", true)
        else shellRule(builder, input, decision)
      } else toolRule(builder, tool, input, decision)
    }
  }
  const checkers = doc["safety_checker"] ?? []
  if (Array.isArray(checkers)) {
    checkers.forEach((c, i) => {
      const origin = { file: file.path, line: checkerLines[i] ?? 0, field: `safety_checker[${i}]` }
      const source = isRecord(c) ? summarize(c) : "safety_checker"
      // A checker may deny; Strata cannot run it: the calls it guards ask (unknown → ask, not allow).
      const tool = isRecord(c) && typeof c["toolName"] === "string" ? c["toolName"] : "*"
      if (SHELL_ALIASES.has(tool) || tool === "*") builder.all("ask", origin, `${source} (safety checker)`, 10)
      if (!SHELL_ALIASES.has(tool))
        for (const n of TOOLS[tool] ?? [tool]) builder.toolRule({ tool: n, decision: "ask", origin, source })
      builder.refused(
        origin,
        source,
        "a safety checker cannot run in Strata; the calls it checks ask instead (where it would deny, Strata asks)",
        false
      )
    })
  }
  return Either.right(builder)
}

const summarize = (raw: Record<string, unknown>): string =>
  Object.entries(raw)
    .map(([k, v]) => `${k} = ${JSON.stringify(v)}`)
    .join(", ")

/** A settings list entry: `tool` or `tool(args)`. */
const TOOL_ENTRY = /^([a-zA-Z0-9_-]+)\((.*)\)$/s

/**
 * Imports gemini-cli `settings.json` into `builder`, with the priorities
 * gemini-cli 0.61's `createPolicyEngineConfig` gives the settings.
 *
 * @since 0.1.0
 * @category importers
 */
export const importSettings = (
  file: SourceFile,
  builder: Builder = new Builder("gemini", { prioritized: true })
): Either.Either<Builder, ImportError> => {
  builder.file(file.path)
  const json = Hooks.parseJsonObject(file, "expected a settings object")
  if (Either.isLeft(json)) return Either.left(json.left)
  const root = json.right
  const tools = isRecord(root["tools"]) ? root["tools"] : {}
  const list = (field: string, value: unknown): Either.Either<ReadonlyArray<string> | undefined, ImportError> => {
    if (value === undefined) return Either.right(undefined)
    if (!Array.isArray(value) || !value.every((v) => typeof v === "string"))
      return Either.left(
        new ImportError({
          reason: "Invalid",
          file: file.path,
          line: Hooks.findLine(file.text, `"${field.split(".").pop()}"`),
          column: 1,
          field,
          detail: "expected a list of tool names"
        })
      )
    return Either.right(value as Array<string>)
  }
  const sections: Array<{ field: string; value: unknown; kind: "exclude" | "allowed" | "core" | "confirm" }> = [
    { field: "tools.exclude", value: tools["exclude"], kind: "exclude" },
    { field: "excludeTools", value: root["excludeTools"], kind: "exclude" },
    { field: "tools.allowed", value: tools["allowed"], kind: "allowed" },
    { field: "allowedTools", value: root["allowedTools"], kind: "allowed" },
    { field: "tools.core", value: tools["core"], kind: "core" },
    { field: "coreTools", value: root["coreTools"], kind: "core" },
    { field: "tools.confirmationRequired", value: tools["confirmationRequired"], kind: "confirm" }
  ]
  const PRIORITY = { exclude: 4.4, confirm: 4.35, allowed: 4.3, core: 4.25 }
  for (const section of sections) {
    const entries = list(section.field, section.value)
    if (Either.isLeft(entries)) return Either.left(entries.left)
    if (entries.right === undefined) continue
    const sectionLine = Hooks.findLine(file.text, `"${section.field.split(".").pop()}"`)
    const priority = PRIORITY[section.kind]
    const narrowedShell = { seen: false, origin: undefined as Origin | undefined }
    entries.right.forEach((entry, i) => {
      const origin: Origin = {
        file: file.path,
        line: Hooks.findLine(file.text, JSON.stringify(entry).slice(1, -1), sectionLine),
        field: `${section.field}[${i}]`
      }
      const m = TOOL_ENTRY.exec(entry)
      const rawTool = m === null ? entry : m[1]!
      const tool = SHELL_ALIASES.has(rawTool) ? SHELL : rawTool
      const args = m === null ? undefined : m[2]!
      const decision: Verdict = section.kind === "exclude" ? "deny" : section.kind === "confirm" ? "ask" : "allow"
      const raw: Record<string, unknown> = { toolName: tool, ...(args === undefined ? {} : { commandPrefix: args }) }
      const input: RuleInput = { raw, origin, source: entry, priority }
      if (tool === SHELL) {
        if (args !== undefined && decision === "allow") {
          narrowedShell.seen = true
          narrowedShell.origin ??= origin
        }
        shellRule(builder, section.kind === "confirm" ? { ...input, raw: { toolName: tool } } : input, decision)
      } else toolRule(builder, tool, input, decision)
    })
    if (section.kind === "allowed" && narrowedShell.seen) {
      // gemini-cli denies every other shell command just below the narrowed allows.
      builder.all(
        "deny",
        narrowedShell.origin!,
        `${section.field}: shell narrowed to the listed prefixes`,
        priority - 0.01
      )
    }
    const bareShell = entries.right.some((e) => SHELL_ALIASES.has(e))
    if (section.kind === "core" && !bareShell) {
      builder.all(
        "deny",
        { file: file.path, line: sectionLine, field: section.field },
        `${section.field}: only the listed tools may run`,
        priority - 0.01
      )
    }
    if (section.kind === "core") {
      const allowed = entries.right.map((e) => TOOL_ENTRY.exec(e)?.[1] ?? e)
      const strata = allowed.flatMap((t) => (SHELL_ALIASES.has(t) ? ["shell__exec"] : (TOOLS[t] ?? [t])))
      const origin = { file: file.path, line: sectionLine, field: section.field }
      builder.toolRule({
        tool: "*",
        decision: "deny",
        unless: strata,
        origin,
        source: `${section.field}: ${JSON.stringify(entries.right)}`
      })
      builder.converted(origin, section.field, `tool rule: deny every tool but ${strata.join(", ")}`)
    }
  }
  const mcp = isRecord(root["mcp"]) ? root["mcp"] : {}
  const excluded = list("mcp.excluded", mcp["excluded"])
  if (Either.isLeft(excluded)) return Either.left(excluded.left)
  for (const [i, server] of (excluded.right ?? []).entries()) {
    const origin = { file: file.path, line: Hooks.findLine(file.text, `"${server}"`), field: `mcp.excluded[${i}]` }
    const name = server === "*" ? "mcp__*" : `mcp__${server}__*`
    builder.toolRule({ tool: name, decision: "deny", origin, source: server })
    builder.converted(origin, server, `tool rule: deny ${name}`)
  }
  if (root["hooks"] !== undefined) {
    const r = Hooks.fromClaudeShape(
      root["hooks"],
      { file: file.path, text: file.text, dialect: "gemini", toml: false },
      builder
    )
    if (Either.isLeft(r)) return Either.left(r.left)
  }
  return Either.right(builder)
}

/**
 * Imports any mix of gemini-cli files: policy `*.toml` and `settings.json`.
 *
 * @since 0.1.0
 * @category importers
 */
export const importFiles = (files: ReadonlyArray<SourceFile>): Either.Either<Imported, ImportError> => {
  const builder = new Builder("gemini", { prioritized: true })
  for (const f of files) {
    const r = f.path.endsWith(".json") ? importSettings(f, builder) : importPolicy(f, builder)
    if (Either.isLeft(r)) return Either.left(r.left)
  }
  return Either.right(builder.close())
}
