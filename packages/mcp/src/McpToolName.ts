/**
 * How MCP tools are named as Strata tools: `mcp__<server>__<tool>`,
 * sanitized to `[A-Za-z0-9_-]`, at most 64 characters (the limit most model
 * APIs put on tool names), shortened with a stable hash when longer, and
 * collisions resolved deterministically.
 *
 * @since 0.1.0
 */

/**
 * The longest name a bridged tool gets.
 *
 * @since 0.1.0
 * @category constants
 */
export const MAX_LENGTH = 64

/**
 * The prefix of every bridged tool name.
 *
 * @since 0.1.0
 * @category constants
 */
export const PREFIX = "mcp__"

/**
 * Replaces every character outside `[A-Za-z0-9_-]` with `_` (one `_` per
 * code point, so an emoji becomes one `_`). Case is kept.
 *
 * @since 0.1.0
 * @category utils
 */
export const sanitize = (value: string): string => {
  let out = ""
  for (const ch of value) out += /^[A-Za-z0-9_-]$/.test(ch) ? ch : "_"
  return out
}

const encoder = new TextEncoder()

const fnv1a = (bytes: Uint8Array, basis: number): number => {
  let h = basis >>> 0
  for (const byte of bytes) {
    h ^= byte
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return h >>> 0
}

/**
 * A stable 12-hex-digit hash (two FNV-1a 32-bit hashes over the UTF-8 bytes):
 * the same input gives the same output on every run and every runtime.
 *
 * @since 0.1.0
 * @category utils
 */
export const stableHash = (value: string): string => {
  const bytes = encoder.encode(value)
  const a = fnv1a(bytes, 0x811c9dc5).toString(16).padStart(8, "0")
  const b = fnv1a(bytes, 0x01000193).toString(16).padStart(8, "0")
  return a + b.slice(0, 4)
}

/**
 * The qualified name of one tool, before collision resolution:
 * `mcp__<server>__<tool>` with both parts sanitized. When that is longer
 * than {@link MAX_LENGTH}, both parts are cut (the server part to at most
 * half of what is left) and `_<hash>` of the original, unsanitized
 * `server` and `tool` is appended, so two long names that share a prefix
 * still differ.
 *
 * @since 0.1.0
 * @category constructors
 */
export const qualify = (server: string, tool: string): string => {
  const s = sanitize(server)
  const t = sanitize(tool)
  const full = `${PREFIX}${s}__${t}`
  if (full.length <= MAX_LENGTH) return full
  const suffix = `_${stableHash(`${server}\u0000${tool}`)}`
  const budget = MAX_LENGTH - PREFIX.length - 2 - suffix.length
  let serverLen = Math.min(s.length, Math.floor(budget / 2))
  const toolLen = Math.min(t.length, budget - serverLen)
  serverLen = Math.min(s.length, budget - toolLen)
  return `${PREFIX}${s.slice(0, serverLen)}__${t.slice(0, toolLen)}${suffix}`
}

/**
 * One tool to name: the configured server name and the server's own tool
 * name.
 *
 * @since 0.1.0
 * @category models
 */
export interface ToolRef {
  readonly server: string
  readonly tool: string
}

const withSuffix = (base: string, suffix: string): string =>
  base.length + suffix.length <= MAX_LENGTH ? base + suffix : base.slice(0, MAX_LENGTH - suffix.length) + suffix

const compare = (a: ToolRef, b: ToolRef): number =>
  a.server < b.server ? -1 : a.server > b.server ? 1 : a.tool < b.tool ? -1 : a.tool > b.tool ? 1 : 0

/**
 * Names every tool of every server, resolving collisions deterministically.
 * When several tools qualify to the same name (`a.b` and `a_b` both give
 * `..._a_b`), the one whose name needed no sanitizing keeps it and every
 * other one gets `_<hash>` of its original names appended; any remaining
 * clash gets `_2`, `_3`, ... in code-point order of (server, tool). The
 * result depends only on the set of tools, never on their order.
 *
 * Returns the qualified name of each input, in input order.
 *
 * @since 0.1.0
 * @category constructors
 */
export const assign = (tools: ReadonlyArray<ToolRef>): ReadonlyArray<string> => {
  const bases = tools.map((ref) => qualify(ref.server, ref.tool))
  const groups = new Map<string, Array<number>>()
  bases.forEach((base, i) => {
    const group = groups.get(base)
    if (group === undefined) groups.set(base, [i])
    else group.push(i)
  })
  const names: Array<string | undefined> = tools.map(() => undefined)
  const taken = new Set<string>()
  const pending: Array<number> = []
  for (const [base, group] of groups) {
    if (group.length === 1) {
      names[group[0]!] = base
      taken.add(base)
      continue
    }
    // The server part is the same for every tool of a server, so only the tool part counts.
    const exact = group.filter((i) => sanitize(tools[i]!.tool) === tools[i]!.tool)
    // Unique (server, tool) pairs: at most one exact member per server; across servers
    // (names only collide after truncation) the first in code-point order keeps the base.
    const keeper = exact.sort((a, b) => compare(tools[a]!, tools[b]!))[0]
    if (keeper !== undefined) {
      names[keeper] = base
      taken.add(base)
    }
    for (const i of group) if (i !== keeper) pending.push(i)
  }
  pending.sort((a, b) => compare(tools[a]!, tools[b]!))
  for (const i of pending) {
    const ref = tools[i]!
    const hashed = withSuffix(bases[i]!, `_${stableHash(`${ref.server}\u0000${ref.tool}`)}`)
    let name = hashed
    for (let n = 2; taken.has(name); n++) name = withSuffix(hashed, `_${n}`)
    names[i] = name
    taken.add(name)
  }
  return names as ReadonlyArray<string>
}
