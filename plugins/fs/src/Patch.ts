/**
 * The patch format of `apply_patch`: a unified diff, as `diff -u` and
 * `git diff` write it (one or more files; `a/` and `b/` prefixes are
 * stripped; `--- /dev/null` creates a file, `+++ /dev/null` deletes one).
 *
 * ```diff
 * --- a/src/greet.ts
 * +++ b/src/greet.ts
 * @@ -1,3 +1,3 @@
 *  export const greet = (name: string) =>
 * -  `Hello ${name}`
 * +  `Hello, ${name}!`
 * ```
 *
 * Hunks are applied by content: each hunk's old lines (context and `-`
 * lines) must appear in the file, after the previous hunk; line numbers in
 * `@@` headers are only a hint (the occurrence nearest to it wins).
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"

/**
 * One hunk: the lines it expects and the lines it writes.
 *
 * @since 0.1.0
 * @category models
 */
export interface Hunk {
  readonly oldStart: number
  readonly before: ReadonlyArray<string>
  readonly after: ReadonlyArray<string>
}

/**
 * One file's changes. `from` is `undefined` for a new file, `to` for a
 * deletion.
 *
 * @since 0.1.0
 * @category models
 */
export interface FilePatch {
  readonly from: string | undefined
  readonly to: string | undefined
  readonly hunks: ReadonlyArray<Hunk>
}

const stripPrefix = (name: string): string | undefined => {
  const path = name.split("\t")[0]!.trim()
  if (path === "/dev/null") return undefined
  return /^[ab]\//.test(path) ? path.slice(2) : path
}

/**
 * Parses a unified diff; `Left` is a one-line reason naming the line.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parse = (text: string): Either.Either<ReadonlyArray<FilePatch>, string> => {
  const lines = text.replace(/\r\n/g, "\n").split("\n")
  const files: Array<FilePatch> = []
  let i = 0
  while (i < lines.length) {
    const line = lines[i]!
    if (!line.startsWith("--- ")) {
      i++
      continue
    }
    const next = lines[i + 1]
    if (next === undefined || !next.startsWith("+++ ")) {
      return Either.left(`line ${i + 2}: expected "+++ <path>" after "${line}"`)
    }
    const from = stripPrefix(line.slice(4))
    const to = stripPrefix(next.slice(4))
    if (from === undefined && to === undefined) return Either.left(`line ${i + 1}: both sides are /dev/null`)
    i += 2
    const hunks: Array<Hunk> = []
    while (i < lines.length && lines[i]!.startsWith("@@")) {
      const header = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/.exec(lines[i]!)
      if (header === null) return Either.left(`line ${i + 1}: malformed hunk header "${lines[i]}"`)
      const oldCount = header[2] === undefined ? 1 : Number(header[2])
      const newCount = header[4] === undefined ? 1 : Number(header[4])
      i++
      const before: Array<string> = []
      const after: Array<string> = []
      while (i < lines.length && (before.length < oldCount || after.length < newCount)) {
        const l = lines[i]!
        if (l.startsWith("\\")) {
          i++
          continue
        }
        const tag = l[0]
        const body = l.slice(1)
        if (tag === " " || l === "") {
          before.push(body)
          after.push(body)
        } else if (tag === "-") before.push(body)
        else if (tag === "+") after.push(body)
        else return Either.left(`line ${i + 1}: expected a line starting with " ", "-" or "+", got "${l}"`)
        i++
      }
      if (before.length !== oldCount || after.length !== newCount) {
        return Either.left(`hunk at line ${i}: the header counts do not match its lines`)
      }
      while (i < lines.length && lines[i]!.startsWith("\\")) i++
      hunks.push({ oldStart: Number(header[1]), before, after })
    }
    if (hunks.length === 0 && to !== undefined) return Either.left(`${to}: no hunks`)
    files.push({ from, to, hunks })
  }
  if (files.length === 0) return Either.left('no file in the patch (expected "--- a/<path>" and "+++ b/<path>")')
  return Either.right(files)
}

const find = (lines: ReadonlyArray<string>, needle: ReadonlyArray<string>, from: number, hint: number) => {
  let best = -1
  for (let at = from; at + needle.length <= lines.length; at++) {
    let ok = true
    for (let k = 0; k < needle.length; k++) {
      if (lines[at + k] !== needle[k]) {
        ok = false
        break
      }
    }
    if (ok && (best === -1 || Math.abs(at - hint) < Math.abs(best - hint))) best = at
  }
  return best
}

/**
 * Applies one file's hunks to its content; `Left` names the hunk that did
 * not apply.
 *
 * @since 0.1.0
 * @category combinators
 */
export const apply = (content: string, patch: FilePatch): Either.Either<string, string> => {
  const trailingNewline = content === "" || content.endsWith("\n")
  const lines = content === "" ? [] : (trailingNewline ? content.slice(0, -1) : content).split("\n")
  let from = 0
  for (const [n, hunk] of patch.hunks.entries()) {
    const at = hunk.before.length === 0 ? Math.min(Math.max(hunk.oldStart, from), lines.length) : -1
    const index = at !== -1 ? at : find(lines, hunk.before, from, hunk.oldStart - 1)
    if (index === -1) {
      return Either.left(
        `hunk ${n + 1} (@@ -${hunk.oldStart}) does not apply to ${patch.from ?? patch.to}: its lines were not found; read the file and make a new patch`
      )
    }
    lines.splice(index, hunk.before.length, ...hunk.after)
    from = index + hunk.after.length
  }
  return Either.right(lines.length === 0 ? "" : `${lines.join("\n")}${trailingNewline ? "\n" : ""}`)
}
