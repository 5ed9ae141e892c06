/**
 * Writes an import as Strata files: the exec-policy rule file (TOML, each
 * rule with its source file and line in a comment and its examples as
 * `match`), the tool rules file, the config fragment (settings and command
 * hooks), and the report as text or JSON.
 *
 * @since 0.1.0
 */
import type { Imported, PrefixElement, ReportEntry, Rule } from "./Model.js"

/** A TOML basic string (JSON's escapes are TOML's). */
const str = (s: string): string => JSON.stringify(s)

const arr = (items: ReadonlyArray<string>): string => `[${items.map(str).join(", ")}]`

const prefixToml = (prefix: ReadonlyArray<PrefixElement>): string =>
  `[${prefix.map((e) => (typeof e === "string" ? str(e) : arr(e))).join(", ")}]`

/** One line of comment text: no newlines or control characters. */
const comment = (s: string): string => s.replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, " ").slice(0, 300)

const ruleToml = (rule: Rule): string => {
  const lines = [
    `# ${comment(`${rule.origin.file}:${rule.origin.line}${rule.origin.field === "" ? "" : ` ${rule.origin.field}`}: ${rule.source}`)}`,
    "[[rule]]",
    `prefix = ${prefixToml(rule.prefix)}`,
    `decision = ${str(rule.decision)}`,
    `justification = ${str(rule.justification ?? `imported from ${rule.origin.file}:${rule.origin.line}`)}`
  ]
  if (rule.allowRedirection === true) lines.push("allow_redirection = true")
  const examples = (xs: Rule["match"]) => `[${xs.map((x) => (typeof x === "string" ? str(x) : arr(x))).join(", ")}]`
  if (rule.match.length > 0) lines.push(`match = ${examples(rule.match)}`)
  if (rule.notMatch.length > 0) lines.push(`not_match = ${examples(rule.notMatch)}`)
  return lines.join("\n")
}

const counts = (report: ReadonlyArray<ReportEntry>) => ({
  converted: report.filter((e) => e.status === "converted").length,
  approximated: report.filter((e) => e.status === "approximated").length,
  refused: report.filter((e) => e.status === "refused").length,
  unenforced: report.filter((e) => !e.enforced).length
})

/**
 * The Strata exec-policy rule file of an import.
 *
 * @since 0.1.0
 * @category emit
 */
export const policyToml = (imported: Imported): string => {
  const c = counts(imported.report)
  const head = [
    `# Strata exec-policy rules imported from ${imported.format}: ${imported.files.map(comment).join(", ")}`,
    `# ${c.converted} converted, ${c.approximated} approximated, ${c.refused} not imported (\`strata import ${imported.format} --dry-run\` shows why).`,
    "# The strictest matching rule wins (deny > ask > allow); no imported rule allows more than its source.",
    "",
    `# ${comment(imported.defaultWhy)}`,
    `default = ${str(imported.default)}`
  ]
  return `${[...head, ...imported.rules.map((r) => `\n${ruleToml(r)}`)].join("\n")}\n`
}

/**
 * The tool rules of an import (`.strata/tool-rules.toml`): restrictions on
 * tools other than the shell. Only `ask` and `deny`.
 *
 * @since 0.1.0
 * @category emit
 */
export const toolRulesToml = (imported: Imported): string => {
  const parts = [`# Strata tool rules imported from ${imported.format}: restrictions only (deny, ask).`]
  for (const r of imported.toolRules) {
    const lines = [
      "",
      `# ${comment(`${r.origin.file}:${r.origin.line} ${r.origin.field}: ${r.source}`)}`,
      "[[tool_rule]]",
      `tool = ${str(r.tool)}`,
      `decision = ${str(r.decision)}`
    ]
    if (r.paths !== undefined) lines.push(`paths = ${arr(r.paths)}`)
    if (r.domains !== undefined) lines.push(`domains = ${arr(r.domains)}`)
    if (r.unless !== undefined) lines.push(`unless = ${arr(r.unless)}`)
    lines.push(`source = ${str(`${r.origin.file}:${r.origin.line}`)}`)
    parts.push(lines.join("\n"))
  }
  return `${parts.join("\n")}\n`
}

/**
 * The config settings of an import (top-level keys such as
 * `approval_policy`), as TOML lines; empty when there are none.
 *
 * @since 0.1.0
 * @category emit
 */
export const settingsToml = (imported: Imported): string =>
  Object.entries(imported.settings)
    .map(([k, v]) => `${k} = ${str(v)}\n`)
    .join("")

/**
 * The command hooks of an import as `[[hooks.<Event>]]` tables.
 *
 * @since 0.1.0
 * @category emit
 */
export const hooksToml = (imported: Imported): string =>
  imported.hooks
    .map((h) => {
      const lines = [
        `# ${comment(`${h.origin.file}:${h.origin.line} ${h.origin.field}`)}`,
        `[[hooks.${h.event}]]`,
        `command = ${str(h.command)}`,
        `dialect = ${str(h.dialect)}`
      ]
      if (h.matcher !== undefined) lines.push(`matcher = ${str(h.matcher)}`)
      if (h.timeoutSeconds !== undefined) lines.push(`timeout = ${h.timeoutSeconds}`)
      return `${lines.join("\n")}\n`
    })
    .join("\n")

/**
 * The report as text: one line per source entry, `file:line field: status —
 * detail`, and the totals.
 *
 * @since 0.1.0
 * @category emit
 */
export const reportText = (imported: Imported): string => {
  const c = counts(imported.report)
  const lines = imported.report.map((e) => {
    const mark =
      e.status === "converted" ? "converted   " : e.status === "approximated" ? "approximated" : "refused     "
    const warn = e.enforced ? "" : " [NOT ENFORCED]"
    return `${e.origin.file}:${e.origin.line}${e.origin.field === "" ? "" : ` ${e.origin.field}`}: ${mark} ${comment(e.source)} — ${e.detail}${warn}`
  })
  lines.push(
    `default = "${imported.default}" (${imported.defaultWhy})`,
    `${c.converted} converted, ${c.approximated} approximated, ${c.refused} refused; ${imported.rules.length} rule(s), ${imported.toolRules.length} tool rule(s), ${imported.hooks.length} hook(s)${c.unenforced > 0 ? `; ${c.unenforced} restriction(s) of the source NOT enforced` : ""}`
  )
  return `${lines.join("\n")}\n`
}

/**
 * The report as JSON (for tools).
 *
 * @since 0.1.0
 * @category emit
 */
export const reportJson = (imported: Imported): unknown => ({
  format: imported.format,
  files: imported.files,
  default: imported.default,
  default_why: imported.defaultWhy,
  totals: counts(imported.report),
  rules: imported.rules.length,
  tool_rules: imported.toolRules.length,
  hooks: imported.hooks.length,
  settings: imported.settings,
  entries: imported.report.map((e) => ({
    status: e.status,
    file: e.origin.file,
    line: e.origin.line,
    field: e.origin.field,
    source: e.source,
    detail: e.detail,
    enforced: e.enforced
  }))
})
