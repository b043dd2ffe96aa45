// Graceful shutdown modes, numbered as in the Azure SignalR server SDK, and the
// FIN ping values the server sends for each (they are numbered differently).

export enum GracefulShutdownMode {
  Off = 0,
  WaitForClientsClose = 1,
  MigrateClients = 2,
}

export function finValue(mode: GracefulShutdownMode): string {
  switch (mode) {
    case GracefulShutdownMode.Off:
      return "fin:0";
    case GracefulShutdownMode.MigrateClients:
      return "fin:1";
    case GracefulShutdownMode.WaitForClientsClose:
      return "fin:2";
  }
}

/** The mode a FIN value asks for, or undefined when it is not a FIN. */
export function modeOfFin(value: string): GracefulShutdownMode | undefined {
  switch (value) {
    case "fin:0":
      return GracefulShutdownMode.Off;
    case "fin:1":
      return GracefulShutdownMode.MigrateClients;
    case "fin:2":
      return GracefulShutdownMode.WaitForClientsClose;
    default:
      return undefined;
  }
}
