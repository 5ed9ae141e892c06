/**
 * Quote removal and unescaping, as bash does them.
 */
import { describe, expect, it } from "@effect/vitest"
import { basename, decodeAnsiC, unquoteDouble, unquoteWord } from "../src/internal/words.js"

describe("unquoteWord", () => {
  it("removes backslashes and line continuations", () => {
    expect(unquoteWord("l\\s").value).toBe("ls")
    expect(unquoteWord("a\\ b").value).toBe("a b")
    expect(unquoteWord("a\\\nb").value).toBe("ab")
    expect(unquoteWord("a\\\nb", true).value).toBe("a\nb")
    expect(unquoteWord("trailing\\").value).toBe("trailing\\")
  })

  it("finds unquoted globs, not escaped ones", () => {
    expect(unquoteWord("*.ts").pattern).toBe("[^/]*\\.ts")
    expect(unquoteWord("a?c").pattern).toBe("a[^/]c")
    expect(unquoteWord("[!x]y").pattern).toBe("[^x]y")
    expect(unquoteWord("\\*.ts").pattern).toBeUndefined()
    expect(unquoteWord("[").pattern).toBeUndefined()
    expect(new RegExp(`^${unquoteWord("/etc/sha*").pattern}$`).test("/etc/shadow")).toBe(true)
    expect(new RegExp(`^${unquoteWord("*").pattern}$`).test("/etc/shadow")).toBe(false)
  })

  it("finds brace expansions, not plain braces", () => {
    expect(unquoteWord("{a,b}").brace).toBe(true)
    expect(unquoteWord("x{1..3}").brace).toBe(true)
    expect(unquoteWord("{}").brace).toBe(false)
    expect(unquoteWord("a{b}c").brace).toBe(false)
    expect(unquoteWord("\\{a,b}").brace).toBe(false)
  })

  it("flags metacharacters the grammar should have split", () => {
    expect(unquoteWord("a;b").meta).toBe(true)
    expect(unquoteWord("$x").meta).toBe(true)
    expect(unquoteWord("a\\;b").meta).toBe(false)
    expect(unquoteWord("--flag=value").meta).toBe(false)
  })
})

describe("unquoteDouble", () => {
  it('removes a backslash only before $ ` " \\ and newline', () => {
    expect(unquoteDouble('a\\"b').value).toBe('a"b')
    expect(unquoteDouble("\\$HOME").value).toBe("$HOME")
    expect(unquoteDouble("\\n").value).toBe("\\n")
    expect(unquoteDouble("a\\\nb").value).toBe("ab")
  })

  it("flags expansions left in the text", () => {
    expect(unquoteDouble("$(x)").meta).toBe(true)
    expect(unquoteDouble("`x`").meta).toBe(true)
    expect(unquoteDouble("\\$(x)").meta).toBe(false)
    expect(unquoteDouble("costs $ 5").meta).toBe(false)
  })
})

describe("decodeAnsiC", () => {
  it("decodes escapes as bash does", () => {
    expect(decodeAnsiC("a\\tb\\n")).toBe("a\tb\n")
    expect(decodeAnsiC("\\x6c\\x73")).toBe("ls")
    expect(decodeAnsiC("\\154\\163")).toBe("ls")
    expect(decodeAnsiC("\\u0072m")).toBe("rm")
    expect(decodeAnsiC("\\U0001F600")).toBe("\u{1F600}")
    expect(decodeAnsiC("\\'\\\"\\\\\\?")).toBe("'\"\\?")
    expect(decodeAnsiC("\\e[0m")).toBe("\x1b[0m")
    expect(decodeAnsiC("\\cA")).toBe("\x01")
    expect(decodeAnsiC("\\q")).toBe("\\q")
  })

  it("ends the string at a NUL", () => {
    expect(decodeAnsiC("ls\\x00rm")).toBe("ls")
    expect(decodeAnsiC("ls\\0rm")).toBe("ls")
  })
})

describe("basename", () => {
  it("is the last path segment", () => {
    expect(basename("/usr/bin/rm")).toBe("rm")
    expect(basename("rm")).toBe("rm")
    expect(basename("./x/")).toBe("")
  })
})
