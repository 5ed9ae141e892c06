/**
 * Prefix matching of argv against rules, indexed by the program name.
 *
 * A literal word matches a rule word when equal. A word computed at run time
 * never satisfies an `allow` rule; against a `deny` / `ask` rule a glob
 * matches when its pattern can produce the rule's word, and any other
 * computed word is a *possible* match (the command is then at least `ask`).
 * Against `deny` / `ask` rules a path (`/bin/rm`) also matches by its last
 * segment; `allow` rules need the exact name (`./ls` is not `ls`).
 *
 * @internal
 */
import type { Tok } from "./model.js"
import type { Rule, Verdict } from "./rules.js"
import { basename } from "./words.js"

/** @internal */
export const rank = (v: Verdict): number => (v === "deny" ? 2 : v === "ask" ? 1 : 0)

/** @internal */
export const NONE = 0
/** @internal */
export const DEFINITE = 1
/** @internal */
export const POSSIBLE = 2

const globCache = new Map<string, RegExp>()
const globRegex = (pattern: string): RegExp => {
  let re = globCache.get(pattern)
  if (re === undefined) {
    try {
      re = new RegExp(`^(?:${pattern})$`)
    } catch {
      re = /[\s\S]*/
    }
    if (globCache.size > 4096) globCache.clear()
    globCache.set(pattern, re)
  }
  return re
}

const wordMatches = (tok: Tok, alts: ReadonlyArray<string>, strict: boolean): number => {
  if (tok.value !== undefined) return alts.includes(tok.value) ? DEFINITE : NONE
  if (!strict) return NONE
  if (tok.pattern !== undefined) {
    const re = globRegex(tok.pattern)
    for (const a of alts) if (re.test(a)) return DEFINITE
    return NONE
  }
  return POSSIBLE
}

/** Whether a word is (or, computed, may be) one of the rule's `not_flags`. */
const flagged = (rule: Rule, tok: Tok): boolean => {
  const v = tok.value
  if (v === undefined) return tok.pattern === undefined || /^\\?-/.test(tok.pattern)
  if (!v.startsWith("-") || v === "-" || v === "--") return false
  for (const f of rule.notFlags) {
    if (f.startsWith("--")) {
      if (!v.startsWith("--")) continue
      const eq = v.indexOf("=")
      const opt = eq < 0 ? v : v.slice(0, eq)
      // git and GNU tools accept unambiguous abbreviations of long options.
      if (opt === f || (opt.length >= 4 && f.startsWith(opt))) return true
    } else if (!v.startsWith("--") && v.includes(f[1]!)) return true
  }
  return false
}

/** Matches `argv` against `rule` from word `from` on. */
export const matchRule = (rule: Rule, argv: ReadonlyArray<Tok>, from: number): number => {
  const m = matchPrefix(rule, argv, from)
  if (m === NONE) return NONE
  // For an allow rule a computed word may be a flag or an extra argument: no match. For
  // deny/ask rules only a literal one unmatches them (a computed word keeps them in force).
  const allow = rule.decision === "allow"
  if (rule.exact && argv.length !== rule.prefix.length) {
    if (allow || argv.every((t) => t.value !== undefined)) return NONE
  }
  if (rule.notFlags.length > 0) {
    for (let i = 1; i < argv.length; i++) {
      const t = argv[i]!
      if (flagged(rule, t) && (allow || t.value !== undefined)) return NONE
    }
  }
  return m
}

const matchPrefix = (rule: Rule, argv: ReadonlyArray<Tok>, from: number): number => {
  const prefix = rule.prefix
  if (argv.length < prefix.length && !argv.some((t) => t.value === undefined && t.pattern === undefined)) return NONE
  const strict = rule.decision !== "allow"
  let result = DEFINITE
  for (let i = from; i < prefix.length; i++) {
    const tok = argv[i]
    if (tok === undefined) return strict && result === POSSIBLE ? POSSIBLE : NONE
    const m = wordMatches(tok, prefix[i]!, strict)
    if (m === NONE) return NONE
    // A computed word may expand to several words: what follows cannot be placed.
    if (m === POSSIBLE) return POSSIBLE
    result = m
  }
  return result
}

/** Matches the program name of `argv` against the rule's first word, as the index does. */
const headMatches = (rule: Rule, head: Tok): boolean => {
  const alts = rule.prefix[0]!
  if (head.value !== undefined) {
    if (alts.includes(head.value)) return true
    return rule.decision !== "allow" && head.value.includes("/") && alts.includes(basename(head.value))
  }
  // A computed program name (a glob included) is forced to `ask`; it is not matched.
  return false
}

/** Matches a whole argv (program name included) against one rule. */
export const matchArgv = (rule: Rule, argv: ReadonlyArray<Tok>): number => {
  const head = argv[0]
  if (head === undefined || !headMatches(rule, head)) return NONE
  return matchRule(rule, argv, 1)
}

/** Rules indexed for matching. */
export class RuleIndex {
  private readonly byFirst = new Map<string, Array<Rule>>()
  private readonly strict: Array<Rule> = []

  constructor(readonly rules: ReadonlyArray<Rule>) {
    for (const rule of rules) {
      for (const first of rule.prefix[0]!) {
        const list = this.byFirst.get(first)
        if (list === undefined) this.byFirst.set(first, [rule])
        else list.push(rule)
      }
      if (rule.decision !== "allow") this.strict.push(rule)
    }
  }

  /** Every rule matching `argv`: `definite` ones and, for deny/ask rules, `possible` ones. */
  match(argv: ReadonlyArray<Tok>, definite: Array<Rule>, possible: Array<Rule>): void {
    const head = argv[0]
    if (head === undefined) return
    if (head.value !== undefined) {
      const exact = this.byFirst.get(head.value)
      if (exact !== undefined) {
        for (const rule of exact) {
          const m = matchRule(rule, argv, 1)
          if (m === DEFINITE) definite.push(rule)
          else if (m === POSSIBLE) possible.push(rule)
        }
      }
      if (head.value.includes("/")) {
        const base = basename(head.value)
        for (const rule of this.strict) {
          if (!rule.prefix[0]!.includes(base) || rule.prefix[0]!.includes(head.value)) continue
          const m = matchRule(rule, argv, 1)
          if (m === DEFINITE) definite.push(rule)
          else if (m === POSSIBLE) possible.push(rule)
        }
      }
      return
    }
    // A glob or translated command name (`cur?`, `/usr/bin/cur[l]`, `$"curl"`) meets deny/ask rules it can expand to.
    const re = headGlob(head)
    if (re === undefined) return
    for (const rule of this.strict) {
      if (!rule.prefix[0]!.some((alt) => re.test(alt))) continue
      const m = matchRule(rule, argv, 1)
      if (m === DEFINITE) definite.push(rule)
      else if (m === POSSIBLE) possible.push(rule)
    }
  }
}

/** For a computed program name with a pattern: a regex of its last path segment. */
const headGlob = (head: Tok): RegExp | undefined => {
  const p = head.pattern
  if (p === undefined) return undefined
  const cut = p.lastIndexOf("\\/")
  const last = cut < 0 ? p : p.slice(cut + 2)
  // A "/" inside a bracket expression cannot be told apart here: fall back to the whole pattern.
  return globRegex(/[[\]]/.test(p.slice(0, Math.max(cut, 0))) ? p : last)
}

/** The strictest of `rules` (deny > ask > allow); among equals the last loaded, i.e. the highest layer. */
export const strictest = (rules: ReadonlyArray<Rule>): Rule | undefined => {
  let best: Rule | undefined
  for (const r of rules) if (best === undefined || rank(r.decision) >= rank(best.decision)) best = r
  return best
}
