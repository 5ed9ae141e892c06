/**
 * The engine: layered rule files + the bash analysis = a decision with its
 * explanation. Synchronous and pure apart from the parser it owns.
 *
 * @internal
 */
import type * as Tool from "@strata/protocol/Tool"
import * as Either from "effect/Either"
import type { CommandExplanation, Decision, Reason, RuleRef, Verdict } from "../Decision.js"
import { applyApproval } from "../Decision.js"
import { RuleFileError } from "../ExecPolicyError.js"
import * as ProtectedPaths from "../ProtectedPaths.js"
import { analyze } from "./analyze.js"
import { DEFINITE, matchArgv, RuleIndex, rank, strictest } from "./matcher.js"
import type { Found, Reason as InternalReason, Limits, Tok } from "./model.js"
import { MOVERS, type ProtectContext, protectedFindings } from "./protect.js"
import {
  defaultOf,
  describeRule,
  type Example,
  exampleLine,
  parseRuleFiles,
  type Rule,
  type RuleFile,
  type RuleSource,
  renderPrefix
} from "./rules.js"
import type { BashSyntax } from "./syntax.js"
import { basename } from "./words.js"

export type { RuleSource } from "./rules.js"

const VERDICT_OF = ["allow", "ask", "deny"] as const

/** The high-resolution clock every supported runtime has (not in the ES lib). */
declare const performance: { now(): number }

/** Line starts of a string, for offset -> line/column. */
const lineStarts = (s: string): Array<number> => {
  const starts = [0]
  for (let i = s.indexOf("\n"); i >= 0; i = s.indexOf("\n", i + 1)) starts.push(i + 1)
  return starts
}

const position = (starts: ReadonlyArray<number>, offset: number): { line: number; column: number } => {
  let lo = 0
  let hi = starts.length - 1
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1
    if (starts[mid]! <= offset) lo = mid
    else hi = mid - 1
  }
  return { line: lo + 1, column: offset - starts[lo]! + 1 }
}

const ruleRefCache = new WeakMap<Rule, RuleRef>()
const ruleRef = (rule: Rule): RuleRef => {
  let ref = ruleRefCache.get(rule)
  if (ref === undefined) {
    ref = {
      file: rule.file,
      line: rule.line,
      layer: rule.layer,
      prefix: renderPrefix(rule.prefix),
      decision: rule.decision,
      ...(rule.justification === undefined ? {} : { justification: rule.justification }),
      allow_redirection: rule.allowRedirection
    }
    ruleRefCache.set(rule, ref)
  }
  return ref
}

/** Commands decided once after the examples, so that the first real decision does not pay for compilation. */
export const WARM_UP = [
  "ls -la && git status | wc -l > /dev/null",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a bash parameter expansion
  'echo `echo \\`x\\`` "${x:-$(y)}" <<< z; for i in a b; do cat <<E\n$i\nE\ndone',
  "bash -c 'env A=1 timeout 1 xargs -0 echo {a,b} *.ts' 2>&1"
]

/** Options of one decision. */
export interface DecideOptions {
  readonly cwd?: string | undefined
  readonly approval?: Tool.AskForApproval | undefined
  /** The user's home directory, for `~` and the user's protected config. */
  readonly home?: string | undefined
  /** Protected paths besides the defaults of `cwd` and `home`. */
  readonly protectedPaths?: ProtectedPaths.ProtectedPaths | undefined
}

const defaultsCache = new Map<string, ProtectedPaths.ProtectedPaths>()

const protectContext = (founds: ReadonlyArray<Found>, options: DecideOptions | undefined): ProtectContext => {
  const cwd = options?.cwd?.startsWith("/") ? options.cwd : "/__cwd__"
  const home = options?.home?.startsWith("/") ? options.home : "/__home__"
  const key = `${cwd}\u0000${home}`
  let defaults = defaultsCache.get(key)
  if (defaults === undefined) {
    defaults = ProtectedPaths.defaults({ workspace: cwd, home })
    if (defaultsCache.size > 64) defaultsCache.clear()
    defaultsCache.set(key, defaults)
  }
  const paths =
    options?.protectedPaths === undefined
      ? defaults
      : { patterns: [...defaults.patterns, ...options.protectedPaths.patterns] }
  const moves = founds.some(
    (f) =>
      MOVERS.has(basename(f.argv[0]?.value ?? "")) ||
      f.wrappers.some((w) => w.some((t) => t.value === undefined || t.value === "-C" || t.value.startsWith("--chdir")))
  )
  return { cwd, home, paths, moves }
}

/** The loaded policy: rules of every layer, the effective default, the parser. */
export class Engine {
  readonly index: RuleIndex
  readonly defaultVerdict: Verdict

  constructor(
    readonly files: ReadonlyArray<RuleFile>,
    private readonly syntax: BashSyntax,
    readonly limits: Limits
  ) {
    this.index = new RuleIndex(files.flatMap((f) => f.rules))
    this.defaultVerdict = defaultOf(files)
  }

  /** Parses the rule sources (lowest layer first), builds the engine, runs every rule's examples. */
  static make(
    sources: ReadonlyArray<RuleSource>,
    syntax: BashSyntax,
    limits: Limits
  ): Either.Either<Engine, RuleFileError> {
    return Either.flatMap(parseRuleFiles(sources), (files) => Engine.build(files, sources, syntax, limits))
  }

  /** Builds the engine from parsed rule files (see `parse`) and runs every rule's examples. */
  static build(
    files: ReadonlyArray<RuleFile>,
    sources: ReadonlyArray<RuleSource>,
    syntax: BashSyntax,
    limits: Limits
  ): Either.Either<Engine, RuleFileError> {
    const engine = new Engine(files, syntax, limits)
    const texts = new Map(sources.map((s) => [s.file, s.text]))
    for (const f of files) {
      for (const rule of f.rules) {
        const failed = engine.verifyExamples(rule, texts.get(f.file))
        if (failed !== undefined) return Either.left(failed)
      }
    }
    // Warm the parser and the analysis up, so that the first real decision is not
    // the one that pays for compilation (a decision past its budget is `ask`).
    for (const warm of WARM_UP) engine.decide(warm)
    return Either.right(engine)
  }

  /** Whether `rule` matches an example (a command string is parsed; any of its commands may match). */
  private exampleMatches(rule: Rule, example: Example): boolean {
    if (typeof example !== "string") {
      const argv: Array<Tok> = example.map((w) => ({ value: w, text: w, pattern: undefined, why: undefined }))
      return matchArgv(rule, argv) === DEFINITE
    }
    const analysis = analyze(this.syntax, example, this.limits)
    for (const f of analysis.founds) {
      if (matchArgv(rule, f.argv) === DEFINITE) return true
      for (const w of f.wrappers) if (matchArgv(rule, w) === DEFINITE) return true
    }
    return false
  }

  /** Runs `rule`'s `match` / `not_match` examples: the error naming the first that fails, else `undefined`. */
  verifyExamples(rule: Rule, text: string | undefined): RuleFileError | undefined {
    const show = (e: Example): string => (typeof e === "string" ? JSON.stringify(e) : JSON.stringify(e))
    for (const ex of rule.match) {
      if (!this.exampleMatches(rule, ex)) {
        return new RuleFileError({
          reason: "ExampleFailed",
          file: rule.file,
          line: exampleLine(text, rule, "match"),
          rule: describeRule(rule.index, rule.prefix),
          detail: `match example ${show(ex)} does not match the rule`
        })
      }
    }
    for (const ex of rule.notMatch) {
      if (this.exampleMatches(rule, ex)) {
        return new RuleFileError({
          reason: "ExampleFailed",
          file: rule.file,
          line: exampleLine(text, rule, "not_match"),
          rule: describeRule(rule.index, rule.prefix),
          detail: `not_match example ${show(ex)} matches the rule`
        })
      }
    }
    return undefined
  }

  /** Decides a command string. Never throws: what cannot be analysed is `ask` with a reason. */
  decide(command: string, options?: DecideOptions): Decision {
    const started = performance.now()
    const analysis = analyze(this.syntax, command, this.limits)
    let starts: Array<number> | undefined
    const convert = (r: InternalReason): Reason => {
      if (r.offset === 0) return { code: r.code, message: r.message, line: 1, column: 1 }
      starts ??= lineStarts(command)
      const p = position(starts, r.offset)
      return { code: r.code, message: r.message, line: p.line, column: p.column }
    }
    const reasons: Array<Reason> = []
    let policy = 0
    for (const r of analysis.reasons) reasons.push(convert(r))
    if (reasons.length > 0) policy = 1
    const protect = protectContext(analysis.founds, options)
    const commands: Array<CommandExplanation> = []
    const definite: Array<Rule> = []
    const possible: Array<Rule> = []
    for (const f of analysis.founds) {
      definite.length = 0
      possible.length = 0
      this.index.match(f.argv, definite, possible)
      let rule = strictest(definite)
      let verdict: number
      let source: CommandExplanation["source"]
      if (rule !== undefined) {
        verdict = rank(rule.decision)
        source = "rule"
      } else if (f.transparent) {
        verdict = 0
        source = "builtin"
      } else {
        verdict = rank(this.defaultVerdict)
        source = "default"
      }
      const allowing = verdict === 0 && rule !== undefined ? definite.filter((r) => r.decision === "allow") : undefined
      for (const w of f.wrappers) {
        const wd: Array<Rule> = []
        this.index.match(w, wd, [])
        const wr = strictest(wd)
        if (wr !== undefined && rank(wr.decision) > verdict) {
          verdict = rank(wr.decision)
          rule = wr
          source = "rule"
        }
      }
      const own: Array<Reason> = []
      for (const r of f.reasons) own.push(convert(r))
      for (const message of protectedFindings(f, protect)) {
        own.push(convert({ code: "protected-path", message, offset: f.offset }))
      }
      if (verdict < 1) {
        const seen = new Set<Rule>()
        for (const p of possible) {
          if (seen.has(p)) continue
          seen.add(p)
          const computed = f.argv.filter((t) => t.value === undefined && t.pattern === undefined).map((t) => t.text)
          own.push(
            convert({
              code: "dynamic-argument",
              message: `computed argument ${computed.join(" ")} may match ${p.decision} rule ${renderPrefix(p.prefix)} (${p.file}:${p.line})`,
              offset: f.offset
            })
          )
        }
        if (f.outputs.length > 0 && !allowing?.some((r) => r.allowRedirection)) {
          own.push(
            convert({
              code: "output-redirection",
              message: `output redirection into ${f.outputs.join(", ")} ${
                rule === undefined
                  ? source === "builtin"
                    ? "needs a rule with allow_redirection = true"
                    : "with no rule allowing it"
                  : `not allowed by rule ${renderPrefix(rule.prefix)} (${rule.file}:${rule.line}: no allow_redirection)`
              }`,
              offset: f.offset
            })
          )
        }
      }
      const final = own.length > 0 && verdict < 1 ? 1 : verdict
      if (final > policy) policy = final
      for (const r of own) reasons.push(r)
      let p = { line: 1, column: 1 }
      if (f.offset > 0) {
        starts ??= lineStarts(command)
        p = position(starts, f.offset)
      }
      commands.push({
        text: f.text,
        argv: f.argv.map((t) => (t.value === undefined ? t.text : t.value)),
        line: p.line,
        column: p.column,
        via: f.via,
        decision: VERDICT_OF[final]!,
        source,
        rule: rule === undefined ? null : ruleRef(rule),
        reasons: own
      })
    }
    // Whatever the load: a decision that ran past its budget is not trusted.
    const elapsed = performance.now() - started
    if (elapsed > this.limits.timeBudgetMs) {
      reasons.push({
        code: "time-budget",
        message: `the decision took ${elapsed.toFixed(0)} ms, over its time budget of ${this.limits.timeBudgetMs} ms`,
        line: 1,
        column: 1
      })
      if (policy < 1) policy = 1
    }
    if (reasons.length > 1) reasons.sort((a, b) => a.line - b.line || a.column - b.column)
    const policyDecision = VERDICT_OF[policy]!
    const decision: Decision = {
      command,
      decision: policyDecision,
      policy_decision: policyDecision,
      approval: "on-request",
      ...(options?.cwd === undefined ? {} : { cwd: options.cwd }),
      commands,
      reasons
    }
    const approval = options?.approval ?? "on-request"
    return approval === "on-request" ? decision : applyApproval(decision, approval)
  }
}
