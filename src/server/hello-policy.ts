// Which connections get the `graceful.hello` convention message. The SDK marks its
// connections with `graceful=1` in the hub URL's query; through the service that query
// reaches the app server in OpenConnection. A plain client never sees the extra message.

/** The SDK's marker (src/protocol/conventions.ts's GRACEFUL_QUERY_KEY, value "1"). */
const GRACEFUL_QUERY_KEY = "graceful";

export type HelloMode = "marked" | "always" | "never";

/**
 * @param queryString the client's query string from OpenConnection; undefined when the
 *   service does not pass one (then "marked" cannot tell, and greets as before).
 */
export function helloWanted(mode: HelloMode, queryString: string | undefined): boolean {
  if (mode === "never") return false;
  if (mode === "always" || queryString === undefined) return true;
  return new URLSearchParams(queryString).get(GRACEFUL_QUERY_KEY) === "1";
}
