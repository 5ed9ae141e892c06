/**
 * What deciding needs beyond the rule files: the engine, the analysis and
 * the bash grammar's runtime (web-tree-sitter). `ExecPolicy` imports this
 * module when it builds an engine, so that loading the package (and a
 * deferred policy) loads none of it.
 *
 * @internal
 */
export { Engine, WARM_UP } from "./engine.js"
export { BashSyntax } from "./syntax.js"
