// Error texts: in full in the npm builds and the tests; in the minified browser builds, where every
// byte counts, `SGE<code> <values>` instead, with the texts in docs/client.md ("Error codes"), the
// way the log codes work. rollup.config.mjs replaces this module with `DEV = false` there, so every
// `DEV ? text : code(...)` keeps only its code.

/** Full texts built in (false in the minified browser builds). */
export const DEV: boolean = true;

/** The short form of an error message: `SGE<n>` and the values, space-separated. */
export const code = (n: number, ...values: unknown[]): string => [`SGE${n}`, ...values].join(" ");
