/**
 * The part every importer shares: collects rules, restrictions that cover
 * every command, tool rules, hooks and settings, converts glob-style
 * command patterns to prefixes without ever widening what the source
 * allowed, and closes the import with the report.
 *
 * The invariant (tested with generated commands against each source's own
 * semantics): for every command, the imported policy decides at least as
 * strictly as the source (deny > ask > allow).
 */
import type { Imported, ImportedHook, Origin, PrefixElement, ReportEntry, Rule, ToolRule, Verdict } from "../Model.js"
import { rank, stricter } from "../Model.js"
import { split } from "./shlex.js"

/** A rule before closing: `priority` orders gemini-cli rules (higher wins there). */
interface Pending {
  readonly rule: Rule
  readonly priority: number
  readonly status: "converted" | "approximated"
  readonly detail: string
}

/** A restriction on every shell command (`Bash`, gemini's shell rule without prefix). */
interface All {
  readonly decision: "ask" | "deny"
  readonly priority: number
  readonly origin: Origin
  readonly source: string
}

export class Builder {
  private readonly pending: Array<Pending> = []
  private readonly alls: Array<All> = []
  private readonly toolRules: Array<ToolRule> = []
  private readonly hooks: Array<ImportedHook> = []
  private readonly settings: Record<string, string> = {}
  private readonly report: Array<ReportEntry> = []
  private readonly files: Array<string> = []
  /** Does a higher priority win in the source (gemini-cli), or the strictest (codex, Claude)? */
  private readonly prioritized: boolean

  constructor(
    readonly format: Imported["format"],
    options: { readonly prioritized?: boolean } = {}
  ) {
    this.prioritized = options.prioritized === true
  }

  file(path: string): void {
    if (!this.files.includes(path)) this.files.push(path)
  }

  entry(entry: ReportEntry): void {
    this.report.push(entry)
  }

  converted(origin: Origin, source: string, detail: string): void {
    this.report.push({ status: "converted", origin, source, detail, enforced: true })
  }

  approximated(origin: Origin, source: string, detail: string): void {
    this.report.push({ status: "approximated", origin, source, detail, enforced: true })
  }

  /** Not carried over. `enforced`: the source's meaning still holds (a dropped allow asks instead). */
  refused(origin: Origin, source: string, detail: string, enforced: boolean): void {
    this.report.push({ status: "refused", origin, source, detail, enforced })
  }

  setting(key: string, value: string): void {
    this.settings[key] = value
  }

  hook(hook: ImportedHook): void {
    this.hooks.push(hook)
  }

  toolRule(rule: ToolRule): void {
    this.toolRules.push(rule)
  }

  /** A prefix rule taken as the source wrote it. */
  rule(
    rule: Rule,
    options: {
      readonly priority?: number
      readonly status?: "converted" | "approximated"
      readonly detail?: string
    } = {}
  ): void {
    this.pending.push({
      rule,
      priority: options.priority ?? 0,
      status: options.status ?? "converted",
      detail: options.detail ?? ""
    })
  }

  /** Every shell command gets at least `decision` (from `priority` up, for gemini-cli). */
  all(decision: "ask" | "deny", origin: Origin, source: string, priority = 0): void {
    this.alls.push({ decision, origin, source, priority })
  }

  /**
   * A command pattern as a glob over the command line: `words` with `*`
   * globs, `trailing` when the pattern ends in "and anything after"
   * (Claude's `:*` or ` *`, a gemini prefix). Allows become the largest
   * prefix that allows nothing more than the pattern; restrictions the
   * smallest prefix that restricts everything the pattern does.
   */
  pattern(input: {
    readonly text: string
    readonly trailing: boolean
    readonly decision: Verdict
    readonly origin: Origin
    readonly source: string
    readonly justification?: string | undefined
    readonly priority?: number | undefined
    readonly allowRedirection?: boolean | undefined
    /** The text stands for a wider pattern (a regular expression's leading words): restrictions are approximations. */
    readonly widened?: boolean | undefined
  }): void {
    const { decision, origin, source } = input
    const priority = input.priority ?? 0
    const parsed = split(input.text)
    const restrictAll = (why: string) => {
      const d = decision === "allow" ? "ask" : decision
      this.all(d, origin, `${source} (${why})`, priority)
    }
    if (!parsed.ok) {
      if (decision === "allow") this.refused(origin, source, `not imported (${parsed.error}); the command asks`, true)
      else restrictAll(parsed.error)
      return
    }
    const words = parsed.words
    if (words.length === 0 || (words.length === 1 && words[0]!.text === "*" && words[0]!.glob)) {
      if (decision === "allow") {
        this.refused(
          origin,
          source,
          'an allow for every command is not imported (set `default = "allow"` by hand if you mean it); commands ask',
          true
        )
      } else this.all(decision, origin, source, priority)
      return
    }
    // An empty word ('' in the pattern) cannot be a Strata prefix word: cut there like at a glob.
    const firstGlob = words.findIndex((w) => w.glob || w.text === "")
    const literal = (firstGlob < 0 ? words : words.slice(0, firstGlob)).map((w) => w.text)
    // A shell operator inside the pattern: it is not one simple command.
    const operatorAt = parsed.operator
    const base = {
      decision,
      justification: input.justification,
      allowRedirection: input.allowRedirection,
      origin,
      source
    }
    const emit = (prefix: ReadonlyArray<string>, status: "converted" | "approximated", detail: string) =>
      this.rule(
        {
          ...base,
          prefix,
          match: [prefix],
          notMatch: []
        },
        { priority, status, detail }
      )
    if (decision === "allow") {
      if (operatorAt !== undefined) {
        this.refused(
          origin,
          source,
          `not imported: the pattern holds the shell operator ${JSON.stringify(operatorAt)}; the command asks`,
          true
        )
        return
      }
      if (words[0]!.text.startsWith("-")) {
        this.refused(origin, source, "not imported: the first word is an option, not a program; the command asks", true)
        return
      }
      if (firstGlob < 0) {
        if (input.trailing) emit(literal, "converted", "")
        else
          this.refused(
            origin,
            source,
            "not imported: an exact-command allow has no Strata form (a prefix would also allow longer commands); the command asks",
            true
          )
        return
      }
      const globWord = words[firstGlob]!.text
      const lastWord = firstGlob === words.length - 1
      const stem = globWord.slice(0, -1)
      if (lastWord && globWord.endsWith("*") && !stem.includes("*") && stem !== "" && !input.trailing) {
        emit(
          [...literal, stem],
          "approximated",
          `\`${globWord}\` narrowed to the word \`${stem}\`: \`${[...literal, `${stem}x`].join(" ")}\` now asks`
        )
        return
      }
      if (lastWord && globWord === "*" && literal.length > 0) {
        emit(literal, "converted", "")
        return
      }
      this.refused(
        origin,
        source,
        `not imported: \`*\` inside the pattern has no prefix form; matching commands ask`,
        true
      )
      return
    }
    // A restriction: the words before the first glob or operator, widened to a prefix.
    let cut = literal
    if (operatorAt !== undefined) {
      const opWord = words.findIndex((w) => /[;&|<>`(){}$\n?[]/.test(w.text))
      if (opWord >= 0 && opWord < cut.length) cut = cut.slice(0, opWord)
    }
    if (cut.length === 0) {
      restrictAll("no literal command word to anchor a prefix")
      return
    }
    const exact = firstGlob < 0 && operatorAt === undefined && cut.length === words.length
    if (input.widened === true)
      emit(
        cut,
        "approximated",
        `widened to the prefix \`${cut.join(" ")}\`: every such command is ${decision === "deny" ? "denied" : "asked"}`
      )
    else if (exact && input.trailing) emit(cut, "converted", "")
    else if (exact && !input.trailing)
      emit(
        cut,
        "approximated",
        `the exact command became a prefix: longer commands \`${cut.join(" ")} …\` are ${decision === "deny" ? "denied" : "asked"} too`
      )
    else
      emit(
        cut,
        "approximated",
        `widened to the prefix \`${cut.join(" ")}\`: every such command is ${decision === "deny" ? "denied" : "asked"}`
      )
  }

  /** Closes the import: applies restrictions on every command, reports each rule. */
  close(): Imported {
    let defaultDecision: Verdict = "ask"
    let defaultWhy = `${this.format}'s fallback for commands no rule matches asks`
    const kept: Array<Pending> = []
    for (const all of this.alls) {
      if (rank(all.decision) > rank(defaultDecision)) {
        defaultDecision = all.decision
        defaultWhy = `${all.origin.file}:${all.origin.line} restricts every shell command`
      }
      this.approximated(
        all.origin,
        all.source,
        `every shell command is at least ${all.decision === "deny" ? "denied" : "asked"}: \`default = "${all.decision}"\`${this.prioritized ? ` and allows below priority ${all.priority} dropped` : " and allows dropped"}`
      )
    }
    for (const p of this.pending) {
      // An all-command restriction wins over an allow the source ranks below it (every one, where the strictest wins).
      const over = this.alls.filter((a) => !this.prioritized || a.priority >= p.priority)
      const strongest = over.reduce<Verdict>((v, a) => stricter(v, a.decision), "allow")
      if (rank(p.rule.decision) >= rank(strongest)) {
        kept.push(p)
        continue
      }
      const by = over.find((a) => a.decision === strongest)!
      if (strongest === "deny") {
        // The default (deny) decides these commands; a matching ask or allow rule would decide more loosely.
        this.refused(
          p.rule.origin,
          p.rule.source,
          `not imported: ${by.origin.file}:${by.origin.line} denies every shell command${this.prioritized ? ` at priority ${by.priority} ≥ ${p.priority}` : ""}`,
          true
        )
        continue
      }
      kept.push({
        ...p,
        rule: { ...p.rule, decision: "ask" },
        status: "approximated",
        detail: `allow became ask: ${by.origin.file}:${by.origin.line} asks for every shell command`
      })
    }
    // A widened ask covers commands the source may leave to a deny-all default: deny them all.
    if (defaultDecision === "deny") {
      for (let i = 0; i < kept.length; i++) {
        const p = kept[i]!
        if (p.rule.decision === "ask" && p.status === "approximated")
          kept[i] = {
            ...p,
            rule: { ...p.rule, decision: "deny" },
            detail: `${p.detail}; ask became deny: the widened rule also covers commands the default denies`
          }
      }
    }
    if (this.prioritized) this.reportOrder(kept)
    for (const p of kept) {
      if (p.status === "converted") this.converted(p.rule.origin, p.rule.source, describe(p.rule))
      else this.approximated(p.rule.origin, p.rule.source, `${describe(p.rule)}; ${p.detail}`)
    }
    this.report.sort((a, b) =>
      a.origin.file === b.origin.file ? a.origin.line - b.origin.line : a.origin.file < b.origin.file ? -1 : 1
    )
    return {
      format: this.format,
      files: this.files,
      default: defaultDecision,
      defaultWhy,
      rules: kept.map((p) => p.rule),
      toolRules: this.toolRules,
      hooks: this.hooks,
      settings: this.settings,
      report: this.report
    }
  }

  /** gemini-cli: a higher-priority allow over a lower-priority restriction it overlaps decides differently here. */
  private reportOrder(kept: ReadonlyArray<Pending>): void {
    for (const allow of kept) {
      if (allow.rule.decision !== "allow") continue
      for (const r of kept) {
        if (r.rule.decision === "allow" || r.priority >= allow.priority) continue
        if (!overlaps(allow.rule.prefix, r.rule.prefix)) continue
        this.approximated(
          allow.rule.origin,
          allow.rule.source,
          `order changes a decision: in gemini-cli this allow (priority ${allow.priority}) wins over ${r.rule.origin.file}:${r.rule.origin.line} (${r.rule.decision}, priority ${r.priority}); in Strata the strictest matching rule wins, so commands both match are ${r.rule.decision === "deny" ? "denied" : "asked"}`
        )
      }
    }
  }
}

const alternativesOf = (e: PrefixElement): ReadonlyArray<string> => (typeof e === "string" ? [e] : e)

/** Can one command match both prefixes? (Element-wise alternatives intersect over the shorter length.) */
export const overlaps = (a: ReadonlyArray<PrefixElement>, b: ReadonlyArray<PrefixElement>): boolean => {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const x = alternativesOf(a[i]!)
    const y = alternativesOf(b[i]!)
    if (!x.some((w) => y.includes(w))) return false
  }
  return true
}

const describe = (rule: Rule): string => `${rule.decision} ${JSON.stringify(rule.prefix)}`

/** Quotes a word for a shell example when it needs it. */
export const quote = (word: string): string =>
  /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`
