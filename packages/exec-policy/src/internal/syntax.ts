/**
 * The bash grammar: web-tree-sitter with tree-sitter-bash, loaded from the
 * grammar's WASM bytes (no file access here, so it runs unchanged on Node,
 * Bun and Deno). A parse is turned at once into plain JavaScript nodes and
 * the WASM tree is freed, so the analysis never holds WASM memory.
 *
 * @internal
 */
import { Language, Parser } from "web-tree-sitter"

/** The high-resolution clock every supported runtime has (not in the ES lib). */
declare const performance: { now(): number }

/** A syntax node, copied out of the tree-sitter tree. */
export interface SyntaxNode {
  /** Grammar type (`command`, `word`, `";"` for anonymous tokens). */
  readonly type: string
  /** Field name in the parent (`name`, `argument`, `redirect`, ...). */
  readonly field: string | undefined
  readonly named: boolean
  readonly missing: boolean
  /** Start offset in the parsed string (UTF-16 code units). */
  readonly start: number
  /** End offset in the parsed string (UTF-16 code units). */
  readonly end: number
  readonly children: Array<SyntaxNode>
}

/** The outcome of a parse: the tree, or why there is none. */
export type ParseResult =
  | {
      readonly _tag: "Parsed"
      readonly root: SyntaxNode
      readonly hasError: boolean
      /** Every comment node, wherever it sits. */
      readonly comments: ReadonlyArray<SyntaxNode>
    }
  | { readonly _tag: "Cancelled" }

let runtimeInit: Promise<void> | undefined
const languages = new WeakMap<Uint8Array, Promise<Language>>()

/**
 * Initializes the web-tree-sitter runtime once per process. `wasm` may carry
 * the bytes of `web-tree-sitter.wasm`; without them the runtime locates its
 * own file, which works on Node, Bun and Deno.
 */
const initRuntime = (wasm: Uint8Array | undefined): Promise<void> => {
  if (runtimeInit === undefined) {
    runtimeInit = (wasm === undefined ? Parser.init() : Parser.init({ wasmBinary: wasm } as never)).catch(
      (error: unknown) => {
        runtimeInit = undefined
        throw error
      }
    )
  }
  return runtimeInit
}

/** A bash parser bound to a loaded grammar. Single-threaded: one parse at a time. */
export class BashSyntax {
  private readonly parser: Parser
  private readonly types: ReadonlyArray<string>
  private readonly fields: ReadonlyArray<string | null>
  private readonly namedTypes: ReadonlyArray<boolean>
  private readonly language: Language

  private constructor(language: Language) {
    this.language = language
    this.parser = new Parser()
    this.parser.setLanguage(language)
    this.types = language.types
    this.fields = language.fields
    // One table lookup per node instead of a call into WASM.
    this.namedTypes = language.types.map((_, id) => language.nodeTypeIsNamed(id))
  }

  /**
   * Initializes the grammar's runtime (web-tree-sitter's own WebAssembly),
   * once per process: what {@link load} does first, for a caller that reads
   * the grammar's bytes meanwhile.
   */
  static init(runtimeWasm?: Uint8Array): Promise<void> {
    return initRuntime(runtimeWasm)
  }

  /** Loads the grammar from the bytes of `tree-sitter-bash.wasm` (once per byte array). */
  static async load(grammar: Uint8Array, runtimeWasm?: Uint8Array): Promise<BashSyntax> {
    await initRuntime(runtimeWasm)
    let language = languages.get(grammar)
    if (language === undefined) {
      language = Language.load(grammar)
      languages.set(grammar, language)
      language.catch(() => languages.delete(grammar))
    }
    return new BashSyntax(await language)
  }

  /** The grammar's ABI version, for diagnostics. */
  get abiVersion(): number {
    return this.language.abiVersion
  }

  /**
   * Parses `source`. With a `deadline` (a `performance.now()` value) the
   * parse is cancelled once it passes, so huge input never hangs.
   */
  parse(source: string, deadline: number | undefined): ParseResult {
    const tree =
      deadline === undefined
        ? this.parser.parse(source)
        : this.parser.parse(source, null, {
            progressCallback: (() => performance.now() > deadline) as never
          })
    if (tree === null) {
      this.parser.reset()
      return { _tag: "Cancelled" }
    }
    try {
      const rootNode = tree.rootNode
      const hasError = rootNode.hasError
      const comments: Array<SyntaxNode> = []
      const root = this.copy(tree.walk(), hasError, comments)
      return { _tag: "Parsed", root, hasError, comments }
    } finally {
      tree.delete()
    }
  }

  /** Copies the tree out through a cursor, iteratively (deep input cannot overflow the stack). */
  private copy(
    cursor: ReturnType<import("web-tree-sitter").Tree["walk"]>,
    hasError: boolean,
    comments: Array<SyntaxNode>
  ): SyntaxNode {
    const types = this.types
    const fields = this.fields
    const namedTypes = this.namedTypes
    const make = (): SyntaxNode => {
      const fieldId = cursor.currentFieldId
      const typeId = cursor.nodeTypeId
      const node: SyntaxNode = {
        type: types[typeId] ?? "ERROR",
        field: fieldId === 0 ? undefined : (fields[fieldId] ?? undefined),
        named: namedTypes[typeId] ?? true,
        // A missing node always comes with an error in the tree.
        missing: hasError && cursor.nodeIsMissing,
        start: cursor.startIndex,
        end: cursor.endIndex,
        children: []
      }
      if (node.type === "comment") comments.push(node)
      return node
    }
    try {
      const root = make()
      const stack: Array<SyntaxNode> = [root]
      for (;;) {
        if (cursor.gotoFirstChild()) {
          const node = make()
          stack[stack.length - 1]!.children.push(node)
          stack.push(node)
          continue
        }
        for (;;) {
          if (stack.length > 1 && cursor.gotoNextSibling()) {
            stack.pop()
            const node = make()
            stack[stack.length - 1]!.children.push(node)
            stack.push(node)
            break
          }
          if (stack.length <= 1 || !cursor.gotoParent()) return root
          stack.pop()
        }
      }
    } finally {
      cursor.delete()
    }
  }
}
