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

/** A word for `sh -c`, single-quoted. */
const shQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`

/**
 * The guard every tool rule runs in: a Node script reading the PreToolUse
 * event (Strata's fields) on stdin and the rules as its argument. Paths are
 * resolved against the event's `cwd` (real paths too); a rule without `/`
 * matches the name at any depth; a search (glob, grep) whose root holds a
 * restricted path asks. It prints Claude-style `permissionDecision` output.
 */
const GUARD = [
  'const fs=require("fs"),P=require("path");const R=JSON.parse(process.argv[1]);let s="";',
  'process.stdin.setEncoding("utf8");process.stdin.on("data",(d)=>{s+=d});process.stdin.on("end",()=>{',
  'const e=JSON.parse(s),t=String(e.tool_name),i=e.tool_input||{},c=e.cwd||process.cwd(),h=process.env.HOME||"";',
  'const esc=(q)=>q.replace(/[.+?^$(){}|[\\]\\\\]/g,"\\\\$&");',
  'const tm=(x)=>new RegExp("^"+x.split("*").map(esc).join(".*")+"$").test(t);',
  'const gl=(x)=>x.split("**/").map((a)=>a.split("**").map((b)=>b.split("*").map((q)=>q.split("?").map(esc).join("[^/]")).join("[^/]*")).join(".*")).join("(?:.*/)?");',
  'const abs=(x)=>x.startsWith("~/")?P.join(h,x.slice(2)):P.resolve(c,x);',
  'const one=(x)=>x.includes("/")?new RegExp("^"+gl(abs(x))+"(?:/.*)?$"):new RegExp("(?:^|/)"+gl(x)+"(?:/.*)?$");',
  'const pr=(x)=>x.endsWith("/**")?{test:(z)=>one(x).test(z)||one(x.slice(0,-3)).test(z)}:one(x);',
  "const real=(x)=>{try{return fs.realpathSync(x)}catch{return x}};",
  "const search=/glob|grep/.test(t);let best=null;",
  "for(const r of R){if(!tm(r.tool))continue;if(r.unless&&r.unless.some(tm))continue;let d=r.decision,hit=true;",
  'if(r.paths){const p=typeof i.path==="string"?i.path:typeof i.file_path==="string"?i.file_path:search?".":undefined;',
  "if(p===undefined)hit=false;else{const a=abs(p),cs=[a,real(a)];hit=r.paths.some((x)=>cs.some((y)=>pr(x).test(y)));",
  'if(!hit&&search&&r.paths.some((x)=>{const b=abs(x.split("*")[0]||".");return cs.some((y)=>b===y||b.startsWith(y.endsWith("/")?y:y+"/"))})){hit=true;d="ask"}}}',
  'if(hit&&r.domains){let u="";try{u=new URL(String(i.url)).hostname}catch{}hit=r.domains.some((x)=>u===x||u.endsWith("."+x))}',
  'if(hit&&(best===null||d==="deny"))best={d:d,src:r.source}}',
  'if(best!==null)process.stdout.write(JSON.stringify({hookSpecificOutput:{hookEventName:"PreToolUse",permissionDecision:best.d,permissionDecisionReason:"imported rule "+best.src}}))})'
].join("")

/**
 * The tool rules of an import as one Strata `PreToolUse` command hook
 * (Strata dialect, `on_error = "deny"`: fail closed), the rules listed in
 * comments with their source. Only `ask` and `deny`. Empty when there are
 * no tool rules.
 *
 * @since 0.1.0
 * @category emit
 */
export const toolGuardToml = (imported: Imported): string => {
  if (imported.toolRules.length === 0) return ""
  const rules = imported.toolRules.map((r) => ({
    tool: r.tool,
    decision: r.decision,
    ...(r.paths === undefined ? {} : { paths: r.paths }),
    ...(r.domains === undefined ? {} : { domains: r.domains }),
    ...(r.unless === undefined ? {} : { unless: r.unless }),
    source: `${r.origin.file}:${r.origin.line}`
  }))
  const tools = [...new Set(imported.toolRules.map((r) => r.tool))]
  const matcher = tools.includes("*") ? undefined : tools.join("|")
  const lines = [
    `# Tool rules imported from ${imported.format} (restrictions only), enforced by this hook:`,
    ...imported.toolRules.map(
      (r) =>
        `#   ${r.decision} ${r.tool}${r.paths === undefined ? "" : ` ${r.paths.join(", ")}`}${r.domains === undefined ? "" : ` ${r.domains.join(", ")}`}${r.unless === undefined ? "" : ` (but ${r.unless.join(", ")})`}  <- ${comment(`${r.origin.file}:${r.origin.line} ${r.source}`)}`
    ),
    "[[hooks.PreToolUse]]",
    `name = ${str(`imported ${imported.format} tool rules`)}`,
    ...(matcher === undefined ? [] : [`matcher = ${str(matcher)}`]),
    `command = ${str(`node -e ${shQuote(GUARD)} ${shQuote(JSON.stringify(rules))}`)}`,
    'on_error = "deny"'
  ]
  return `${lines.join("\n")}\n`
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
