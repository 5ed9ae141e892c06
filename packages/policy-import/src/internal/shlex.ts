/**
 * Splits a command pattern (Claude Code's `Bash(...)`, gemini-cli's
 * `commandPrefix`, codex's string examples) into words, as a POSIX shell
 * would after quote removal, remembering which words hold an unquoted `*`
 * and whether the text holds a shell operator. Never evaluates anything.
 */

/** One word: its text after quote removal, and whether an unquoted `*` is in it. */
export interface Word {
  readonly text: string
  readonly glob: boolean
}

export type Split =
  | { readonly ok: true; readonly words: ReadonlyArray<Word>; readonly operator: string | undefined }
  | { readonly ok: false; readonly error: string }

const OPERATOR = /[;&|<>`(){}$\n]/

/**
 * Splits `text` into words. `operator` is the first unquoted shell
 * metacharacter (`;`, `&`, `|`, `<`, `>`, `` ` ``, `(`, `)`, `{`, `}`, `$`,
 * newline): a pattern holding one is not a plain command prefix.
 */
export const split = (text: string): Split => {
  const words: Array<Word> = []
  let current = ""
  let glob = false
  let inWord = false
  let operator: string | undefined
  let i = 0
  while (i < text.length) {
    const c = text[i]!
    if (c === " " || c === "\t") {
      if (inWord) words.push({ text: current, glob })
      current = ""
      glob = false
      inWord = false
      i++
      continue
    }
    inWord = true
    if (c === "'") {
      const end = text.indexOf("'", i + 1)
      if (end < 0) return { ok: false, error: "unterminated single quote" }
      current += text.slice(i + 1, end)
      i = end + 1
      continue
    }
    if (c === '"') {
      let j = i + 1
      let closed = false
      while (j < text.length) {
        const d = text[j]!
        if (d === "\\" && j + 1 < text.length && '"\\$`\n'.includes(text[j + 1]!)) {
          current += text[j + 1]
          j += 2
          continue
        }
        if (d === '"') {
          closed = true
          break
        }
        if ((d === "$" || d === "`") && operator === undefined) operator = d
        current += d
        j++
      }
      if (!closed) return { ok: false, error: "unterminated double quote" }
      i = j + 1
      continue
    }
    if (c === "\\") {
      if (i + 1 >= text.length) return { ok: false, error: "trailing backslash" }
      current += text[i + 1]
      i += 2
      continue
    }
    if (c === "*" || c === "?" || c === "[") {
      if (c === "*") glob = true
      else if (operator === undefined) operator = c
      current += c
      i++
      continue
    }
    if (OPERATOR.test(c) && operator === undefined) operator = c
    current += c
    i++
  }
  if (inWord) words.push({ text: current, glob })
  return { ok: true, words, operator }
}
