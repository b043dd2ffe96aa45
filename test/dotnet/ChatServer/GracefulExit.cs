using Microsoft.AspNetCore.SignalR;
using Microsoft.Azure.SignalR; // NuGet package Microsoft.Azure.SignalR: GracefulShutdownOptions

public static class GracefulExit
{
    /// <summary>
    /// Registers the shutdown hook that broadcasts "exit" with this server's id and the shutdown
    /// mode. The SDK runs the hooks in both modes: in MigrateClients mode the mode tells
    /// signalr-graceful clients to wait for their migration instead of draining and reconnecting.
    /// </summary>
    public static void AddGracefulExit<THub>(this GracefulShutdownOptions shutdown) where THub : Hub =>
        shutdown.Add<THub>(hub => hub.Clients.All.SendAsync("exit", new
        {
            serverId = GracefulHub.ServerId, // Clients.All reaches every server's clients: the others ignore it
            mode = shutdown.Mode.ToString(), // "MigrateClients" or "WaitForClientsClose"
            timeoutMs = (int)shutdown.Timeout.TotalMilliseconds, // caps the clients' drain
        }));
}
