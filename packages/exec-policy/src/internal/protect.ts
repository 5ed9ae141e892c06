/**
 * The runtime's protected paths, seen from the shell: a simple command that
 * names one (as an argument, an option's value, a redirection target), a
 * known writer (`cp`, `mv`, `tee`, `sed -i`, `rm`, `ln`, `dd of=`, `git
 * config`, ...) given a directory that holds one (`rm -rf .git`), a glob that
 * can reach one, or a computed argument, is forced to `ask`. The check is
 * lexical and errs towards asking: it does not know which arguments a
 * program writes, so any mention counts.
 *
 * @internal
 */
import * as ProtectedPaths from "../ProtectedPaths.js"
import type { Found, Tok } from "./model.js"
import { basename } from "./words.js"

/** What the check knows of where the command runs. */
export interface ProtectContext {
  readonly cwd: string
  readonly home: string
  readonly paths: ProtectedPaths.ProtectedPaths
  /** The command line changes directory (`cd`, `pushd`, `popd`): relative paths may mean others. */
  readonly moves: boolean
}

/**
 * Names of protected places wherever they sit (a nested repository's
 * `.git/config` runs code for `git status` in that directory just the same),
 * relative to the directory that holds them.
 */
const RELATIVE: ReadonlyArray<string> = [
  ".strata/",
  ".git/config",
  ".git/hooks/",
  ".claude/settings*.json",
  ".config/strata/",
  ".gitconfig",
  ".config/git/"
]

/** A mention of a protected place anywhere in a word (also inside a script given to `-c`). */
const SIGNATURE =
  /\.strata(?![\w.-])|\.git\/+(?:config|hooks)|\.claude\/+settings|\.config\/+(?:strata|git)(?![\w.-])|\.gitconfig/

/** Programs that write, move, delete or link the files they are given. */
const WRITERS: ReadonlySet<string> = new Set([
  "cp",
  "mv",
  "install",
  "ln",
  "link",
  "rm",
  "rmdir",
  "unlink",
  "shred",
  "truncate",
  "touch",
  "tee",
  "dd",
  "sed",
  "perl",
  "awk",
  "gawk",
  "chmod",
  "chown",
  "chgrp",
  "chattr",
  "setfacl",
  "mkdir",
  "mkfifo",
  "mknod",
  "rsync",
  "scp",
  "tar",
  "cpio",
  "unzip",
  "zip",
  "gzip",
  "gunzip",
  "bzip2",
  "xz",
  "patch",
  "split",
  "csplit",
  "ed",
  "ex",
  "vi",
  "vim",
  "nano",
  "emacs",
  "git",
  "cd",
  "pushd"
])

/** git subcommands that write the repository's configuration or hooks. */
const GIT_WRITERS: ReadonlySet<string> = new Set(["config", "init", "clone", "remote", "submodule", "worktree"])
const GIT_CONFIG_READS: ReadonlySet<string> = new Set(["--get", "--get-all", "--get-regexp", "--list", "-l"])
const GIT_GLOBAL_WITH_ARG: ReadonlySet<string> = new Set([
  "-C",
  "-c",
  "--git-dir",
  "--work-tree",
  "--namespace",
  "--exec-path",
  "--config-env"
])

/** The places a word may name: itself, what follows each `=`, an attached short option's value. */
const candidates = (v: string): Array<string> => {
  const out = [v]
  for (let i = v.indexOf("="); i >= 0; i = v.indexOf("=", i + 1)) out.push(v.slice(i + 1))
  if (/^-[A-Za-z]./.test(v)) out.push(v.slice(2))
  return out.filter((c) => c !== "")
}

const resolveIn = (ctx: ProtectContext, p: string): string => ProtectedPaths.resolve(ctx.cwd, p, ctx.home)

/** Whether relative `p`, read from some directory the command moved to, could be a protected place. */
const suffixHit = (p: string): string | undefined => {
  const segs = p.split("/").filter((s) => s !== "" && s !== ".")
  if (segs.length === 0) return undefined
  for (const pattern of RELATIVE) {
    const dir = pattern.endsWith("/")
    const pSegs = pattern.split("/").filter((s) => s !== "")
    // Align the start of `p` with each segment of the pattern.
    for (let k = 0; k < pSegs.length; k++) {
      let ok = true
      for (let j = 0; j < segs.length; j++) {
        const want = pSegs[k + j]
        if (want === undefined) {
          ok = dir
          break
        }
        const re = new RegExp(`^${want.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*")}$`)
        if (!re.test(segs[j]!)) {
          ok = false
          break
        }
      }
      if (ok) return pattern
    }
  }
  return undefined
}

/** The protected place a literal word may name, or `undefined`. */
const literalHit = (ctx: ProtectContext, v: string, writer: boolean): string | undefined => {
  const sig = SIGNATURE.exec(v)
  if (sig !== null) return sig[0]
  for (const c of candidates(v)) {
    if (!c.startsWith("/") && !c.startsWith("~") && !c.startsWith(".") && !c.includes("/")) {
      if (ctx.moves && writer) {
        const hit = suffixHit(c)
        if (hit !== undefined) return `${c} (after a change of directory: ${hit})`
      }
      if (!writer) continue
    }
    const abs = resolveIn(ctx, c)
    const hit = writer ? ProtectedPaths.touches(ctx.paths, abs) : ProtectedPaths.match(ctx.paths, abs)
    if (hit !== undefined) return hit
    if (writer) {
      // `rm -rf .`, `mv .. x`, `rm -rf ../..`: a directory that may hold the workspace.
      if (ProtectedPaths.touches(ctx.paths, abs) !== undefined) return abs
      const rel = c.replace(/\/+$/, "")
      if (
        rel === "." ||
        rel === ".." ||
        rel.startsWith("../") ||
        rel === "~" ||
        rel === "/" ||
        /(^|\/)\.git$/.test(rel)
      ) {
        return c
      }
      if (ctx.moves && !c.startsWith("/") && !c.startsWith("~")) {
        const s = suffixHit(c)
        if (s !== undefined) return `${c} (after a change of directory: ${s})`
      }
    }
  }
  return undefined
}

/** Relative names a glob of a writer is tried against. */
const PROBES = [".git", ".git/config", ".git/hooks", ".strata", ".claude", ".claude/settings.json", ".config"]

const globHit = (tok: Tok): string | undefined => {
  if (tok.pattern === undefined) return undefined
  // Without dotglob a glob matches a name starting with "." only when the pattern starts with one.
  if (!tok.pattern.startsWith("\\.") && !tok.pattern.includes("\\/\\.") && !tok.pattern.startsWith("\\/"))
    return undefined
  let re: RegExp
  try {
    re = new RegExp(`^(?:${tok.pattern})$`)
  } catch {
    return tok.text
  }
  const probe = PROBES.find((p) => re.test(p) || re.test(`./${p}`))
  if (probe !== undefined) return probe
  // A glob reaching into a dot directory (`*/.git/config` or `.*/config`).
  return /\\\./.test(tok.pattern) && SIGNATURE.test(tok.text) ? tok.text : undefined
}

/** The simple command's program, after wrappers, is a writer (and, for git, a writing subcommand). */
const isWriter = (argv: ReadonlyArray<Tok>): boolean => {
  const name = argv[0]?.value
  if (name === undefined) return false
  const base = basename(name)
  if (base === "find") return argv.some((t) => t.value === "-delete" || t.value === undefined)
  if (!WRITERS.has(base)) return false
  if (base !== "git") return true
  let i = 1
  while (i < argv.length) {
    const v = argv[i]!.value
    if (v === undefined) return true
    if (!v.startsWith("-")) break
    i += GIT_GLOBAL_WITH_ARG.has(v) ? 2 : 1
  }
  const sub = argv[i]?.value
  if (sub === undefined) return i < argv.length
  if (!GIT_WRITERS.has(sub)) return false
  if (sub === "config") return !argv.slice(i + 1).some((t) => t.value !== undefined && GIT_CONFIG_READS.has(t.value))
  if (sub === "remote") return argv.slice(i + 1).some((t) => t.value === undefined || !t.value.startsWith("-"))
  return true
}

/** Why `f` may touch a protected place (one message per finding), or nothing. */
export const protectedFindings = (f: Found, ctx: ProtectContext): Array<string> => {
  const out: Array<string> = []
  const writer = isWriter(f.argv)
  const name = f.argv[0]?.value ?? f.argv[0]?.text ?? "?"
  if (writer && basename(name) === "git") {
    // `git config ...` writes .git/config (or a file it names) whatever its arguments.
    out.push(
      `git ${f.argv.find((t, i) => i > 0 && t.value !== undefined && GIT_WRITERS.has(t.value))?.value ?? "command"} writes the repository's configuration (a protected path)`
    )
  }
  const words = [...f.argv.slice(1), ...f.wrappers.flatMap((w) => w.slice(1))]
  for (const t of words) {
    if (t.value !== undefined) {
      const hit = literalHit(ctx, t.value, writer)
      if (hit !== undefined)
        out.push(`${name} is given ${JSON.stringify(t.value)}, which names the protected path ${hit}`)
      continue
    }
    const g = globHit(t)
    if (g !== undefined) {
      out.push(`${name} is given the glob ${t.text}, which can match the protected path ${g}`)
      continue
    }
    if (SIGNATURE.test(t.text)) {
      out.push(`${name} is given ${t.text}, which mentions a protected path`)
      continue
    }
    if (writer && t.pattern === undefined) {
      out.push(`${name} writes to ${t.text}, computed at run time: it may be a protected path`)
    }
  }
  for (const t of f.targets) {
    if (t.value !== undefined) {
      const hit = literalHit(ctx, t.value, false) ?? (ctx.moves ? suffixHit(t.value) : undefined)
      if (hit !== undefined) out.push(`redirection into ${JSON.stringify(t.value)}: protected path ${hit}`)
      continue
    }
    const g = globHit(t) ?? (SIGNATURE.test(t.text) ? t.text : undefined)
    if (g !== undefined) out.push(`redirection into ${t.text} may reach the protected path ${g}`)
    else if (f.outputs.includes(t.text)) {
      out.push(`redirection into ${t.text}, computed at run time: it may be a protected path`)
    }
  }
  return out
}

/** Programs that change the directory later relative paths are read from. */
export const MOVERS: ReadonlySet<string> = new Set(["cd", "pushd", "popd"])
