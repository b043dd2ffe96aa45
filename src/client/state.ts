// The connection's states, one string union; GracefulConnection changes it through a single funnel.

export type ConnectionState =
  | "Disconnected"
  | "Connecting"
  | "Connected"
  /** An exit for our server arrived: onExit handlers and in-flight calls run on the still-live old connection. */
  | "Draining"
  | "Reconnecting"
  | "Disconnecting";
