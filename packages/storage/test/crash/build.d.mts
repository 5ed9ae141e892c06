/** Builds dist/ (and @strata/protocol's when missing) if it is older than src/. */
export declare const ensureBuilt: () => void
