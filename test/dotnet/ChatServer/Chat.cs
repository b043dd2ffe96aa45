// The chat hub. Its conventions are the files docs/csharp-hub.md shows: GracefulHub sends
// `graceful.hello` to SDK connections (query graceful=1) with the migration source, and
// GracefulExit's hook broadcasts `exit` (Program.cs). Every lifecycle step is written as an EVENT
// line the tests read.
using System.Text.Json;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Azure.SignalR;

namespace ChatServer;

public record ServerInfo(string Id);

public class Chat(ServerInfo server, IChatStore store) : GracefulHub
{
    public override async Task OnConnectedAsync()
    {
        // The SDK sets the migration feature on the connection's features (Context.Features). The
        // article reads Context.GetHttpContext().Features, a separate collection the SDK builds
        // from the OpenConnection message: there it is always null. Both are logged to show it.
        var migration = Context.Features.Get<IConnectionMigrationFeature>();
        var viaHttpContext = Context.GetHttpContext()?.Features.Get<IConnectionMigrationFeature>();
        var graceful = Context.GetHttpContext()?.Request.Query["graceful"].Contains("1") == true;
        Events.Write("connected", new { connectionId = Context.ConnectionId, migratedFrom = migration?.MigrateFrom, httpContextFeature = viaHttpContext != null, graceful });
        await base.OnConnectedAsync(); // GracefulHub: the hello, to SDK connections only
    }

    public override Task OnDisconnectedAsync(Exception? exception)
    {
        var migration = Context.Features.Get<IConnectionMigrationFeature>();
        Events.Write("disconnected", new { connectionId = Context.ConnectionId, migrateTo = migration?.MigrateTo, error = exception?.Message });
        return base.OnDisconnectedAsync(exception);
    }

    /** Idempotent by clientMsgId: a re-send after an interruption is not a second message. */
    public async Task SendMessage(string clientMsgId, string user, int seq, string text)
    {
        if (Environment.GetEnvironmentVariable("TRACE_SENDS") == "1") Events.Write("send", new { connectionId = Context.ConnectionId, clientMsgId, user = Context.UserIdentifier });
        var (message, isNew) = await store.AddAsync(new ChatMessage(0, clientMsgId, user, seq, text, server.Id));
        if (isNew) await Clients.All.SendAsync("message", message);
    }

    public Task<ChatMessage[]> History(int sinceId) => store.SinceAsync(sinceId);

    public Task Join(string room) => Groups.AddToGroupAsync(Context.ConnectionId, room);

    public Task ToRoom(string room, string text) => Clients.Group(room).SendAsync("roomMessage", text);

    public bool SaveDraft(string user, string text)
    {
        Events.Write("draft", new { connectionId = Context.ConnectionId, user });
        return true;
    }

    public JsonElement Echo(JsonElement x) => x;

    public string WhoAmI() => server.Id;

    public async IAsyncEnumerable<int> Counter(int n)
    {
        for (var i = 0; i < n; i++)
        {
            yield return i;
            await Task.Yield();
        }
    }

    public async Task<int> Sum(IAsyncEnumerable<int> numbers)
    {
        var total = 0;
        await foreach (var x in numbers) total += x;
        return total;
    }

    /** A client result: through Azure it travels as ClientInvocation / ClientCompletion via the service. */
    public Task<object?> AskCaller(string q) => Clients.Caller.InvokeAsync<object?>("Ask", q, CancellationToken.None);

    /** A client result for another connection, possibly on another server. */
    public Task<object?> AskClient(string connectionId, string q) => Clients.Client(connectionId).InvokeAsync<object?>("Ask", q, CancellationToken.None);
}

public static class Events
{
    public static ILogger? Logger { get; set; }

    public static void Write(string what, object details) =>
        Logger?.LogInformation("EVENT {Event}", JsonSerializer.Serialize(new { what, details }));
}
