using Microsoft.AspNetCore.SignalR;
using Microsoft.Azure.SignalR; // NuGet package Microsoft.Azure.SignalR: IConnectionMigrationFeature, IServerNameProvider

/// <summary>
/// A hub that tells signalr-graceful clients which app server they are on, and that they were
/// migrated. Derive your hub from it instead of <see cref="Hub"/>.
/// </summary>
public abstract partial class GracefulHub : Hub
{
    /// <summary>This app server's id, named in the hello and the exit. Set it before the host starts, or keep the default.</summary>
    public static string ServerId { get; set; } = $"{Environment.MachineName}-{Environment.ProcessId}";

    public override async Task OnConnectedAsync()
    {
        // Only connections that asked get the hello: GracefulConnection adds ?graceful=1 to the hub
        // URL, which reaches the hub self-hosted and through Azure SignalR alike. Any other client
        // would log a warning for a method it has no handler for.
        var http = Context.GetHttpContext();
        if (http is not null && http.Request.Query["graceful"] == "1")
        {
            // Set on a connection the service migrated here (GracefulShutdownMode.MigrateClients).
            // The SDK puts it in the connection's features, where its own sample reads it; the
            // article reads the HttpContext's, which Microsoft.Azure.SignalR 1.34.0 leaves empty.
            var migration = Context.Features.Get<IConnectionMigrationFeature>()
                ?? http.Features.Get<IConnectionMigrationFeature>();
            await Clients.Caller.SendAsync("graceful.hello", new { serverId = ServerId, migratedFrom = migration?.MigrateFrom });
        }
        await base.OnConnectedAsync();
    }
}

/// <summary>
/// Makes <see cref="GracefulHub.ServerId"/> the Azure SignalR SDK's server name, the name a
/// migrated connection's MigrateFrom carries, so clients see one set of server ids.
/// </summary>
public sealed class GracefulServerName : IServerNameProvider
{
    public string GetName() => GracefulHub.ServerId;
}
