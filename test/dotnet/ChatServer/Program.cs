// The chat app server of the end-to-end tests, written the way the Azure "server graceful
// shutdown" article writes it. Environment:
//   Azure__SignalR__ConnectionString  set: Azure SignalR (e.g. the kit's emulator); unset: self-hosted
//   SERVER_ID                         this process's id (default: machine-pid)
//   SHUTDOWN_MODE                     WaitForClientsClose (default) | MigrateClients | Off
//   SHUTDOWN_TIMEOUT_S                GracefulShutdown.Timeout in seconds (default 30)
//   CHAT_STORE_URL                    the shared message store of several processes (default: in memory)
//   DELIVERY_LEDGER_URL               set: the delivery filter (DeliveryFilter.cs) over this shared ledger:
//                                     redis://host:port[?option=value&...]  RedisDeliveryLedger.cs on that Redis
//                                     http://...         HttpDeliveryLedger.cs (the kit's ledger, test/e2e/ledger-server.ts)
//   TEST_USER_QUERY=1                 a request's ?user= signs it in as that user (tests only: a stand-in for real auth)
//   EXIT_WITH_STDIN=1                 stop when stdin ends (tests: the process that started us is gone)
// Start with `dotnet ChatServer.dll --urls http://127.0.0.1:0`; SIGTERM runs the host's StopAsync.
using Microsoft.AspNetCore.SignalR;
using Microsoft.Azure.SignalR;
using StackExchange.Redis;
using ChatServer;

var builder = WebApplication.CreateBuilder(args);
// One line per entry, through one logger: the order of the SDK's "Received FinAck ping." and the
// hook's own line in the output is the order they happened in.
builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss.fff "; });

var serverId = Environment.GetEnvironmentVariable("SERVER_ID") ?? $"{Environment.MachineName}-{Environment.ProcessId}";
var storeUrl = Environment.GetEnvironmentVariable("CHAT_STORE_URL");
builder.Services.AddSingleton(new ServerInfo(serverId));
GracefulHub.ServerId = serverId; // named in the hello and the exit, and (GracefulServerName) the SDK's server name
builder.Services.AddSingleton<IChatStore>(storeUrl is { Length: > 0 } ? new HttpChatStore(storeUrl) : new MemoryChatStore());

var ledgerUrl = Environment.GetEnvironmentVariable("DELIVERY_LEDGER_URL");
if (ledgerUrl is { Length: > 0 } && new Uri(ledgerUrl) is { Scheme: "redis" } redisUrl)
{
    // Query parameters are StackExchange.Redis options (e.g. ?asyncTimeout=1000). Connected here, at
    // startup, not in the first hub call; AbortOnConnectFail off: the app starts with Redis down
    // (after connectTimeout, 5 s), and the multiplexer keeps reconnecting.
    var redisOptions = ConfigurationOptions.Parse($"{redisUrl.Host}:{redisUrl.Port},{redisUrl.Query.TrimStart('?').Replace('&', ',')}");
    redisOptions.AbortOnConnectFail = false;
    builder.Services.AddSingleton<IConnectionMultiplexer>(ConnectionMultiplexer.Connect(redisOptions));
    builder.Services.AddSingleton<IDeliveryLedger, RedisDeliveryLedger>();
    // DELIVERY_RUNNING_TTL_MS: RedisDeliveryLedgerOptions.RunningTtl (tests shorten it).
    if (int.TryParse(Environment.GetEnvironmentVariable("DELIVERY_RUNNING_TTL_MS"), out var runningTtlMs))
        builder.Services.AddSingleton(new RedisDeliveryLedgerOptions { RunningTtl = TimeSpan.FromMilliseconds(runningTtlMs) });
}
else if (ledgerUrl is { Length: > 0 }) builder.Services.AddSingleton<IDeliveryLedger>(new HttpDeliveryLedger(ledgerUrl));
// The process outlives the hub calls it runs (RunningCalls.cs): the server SDK's shutdown does not wait for them.
builder.Services.AddSingleton<RunningCalls>();
builder.Services.AddHostedService(sp => sp.GetRequiredService<RunningCalls>());
var signalR = builder.Services.AddSignalR(o =>
{
    o.AddFilter<RunningCalls>();
    if (ledgerUrl is { Length: > 0 }) o.AddFilter<DeliveryFilter>();
});
if (!string.IsNullOrEmpty(builder.Configuration["Azure:SignalR:ConnectionString"]))
{
    var mode = Enum.Parse<GracefulShutdownMode>(Environment.GetEnvironmentVariable("SHUTDOWN_MODE") ?? "WaitForClientsClose");
    var timeout = TimeSpan.FromSeconds(double.Parse(Environment.GetEnvironmentVariable("SHUTDOWN_TIMEOUT_S") ?? "30"));
    // The shutdown options as the article writes them; mode, timeout and the exit's payload vary.
    signalR.AddAzureSignalR(option =>
    {
        option.GracefulShutdown.Mode = mode;
        option.GracefulShutdown.Timeout = timeout;

        option.GracefulShutdown.Add<Chat>(_ =>
        {
            Events.Write("hook", new { serverId, mode = mode.ToString() });
            return Task.CompletedTask;
        });
        option.GracefulShutdown.AddGracefulExit<Chat>(); // docs/csharp-hub.md: exit { serverId, mode, timeoutMs }
    });
    // The SDK names its server in the token and in Asrs-Migrate-From/To; make that the hub's id too.
    builder.Services.AddSingleton<IServerNameProvider>(new GracefulServerName());
    // The host must outlive the graceful shutdown's own budget.
    builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = timeout + TimeSpan.FromSeconds(10));
}
else
{
    // Self-hosted only: MessagePack for the load balancer's binary-frame test. (Registered in Azure
    // mode too, azure-sdk-shutdown failed more often on a loaded machine; not understood yet.)
    signalR.AddMessagePackProtocol();
}

var app = builder.Build();
if (Environment.GetEnvironmentVariable("EXIT_WITH_STDIN") == "1")
{
    // Tests: whoever started us is gone once our stdin ends (its end of the pipe closed with it), so
    // stop too; a test run that fails or is killed leaves no server behind. A thread of its own:
    // console reads block, and a blocked thread-pool thread starved the hub calls on 2 cores.
    new Thread(() =>
    {
        Console.OpenStandardInput().CopyTo(Stream.Null);
        app.Lifetime.StopApplication();
    }) { IsBackground = true, Name = "stdin watch" }.Start();
}
if (Environment.GetEnvironmentVariable("TEST_USER_QUERY") == "1")
{
    // Tests only, never an app's auth: ?user=alice on the negotiate (and, self-hosted, the connect)
    // makes the request alice's, so Context.UserIdentifier is "alice" in the hub, through Azure too.
    app.Use((ctx, next) =>
    {
        if (ctx.Request.Query["user"] is { Count: 1 } user && user[0] is { Length: > 0 } name)
            ctx.User = new System.Security.Claims.ClaimsPrincipal(new System.Security.Claims.ClaimsIdentity(
                [new System.Security.Claims.Claim(System.Security.Claims.ClaimTypes.NameIdentifier, name)], "test"));
        return next();
    });
}
Events.Logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("ChatServer");
// Stateful reconnect for self-hosted clients that ask for it: a dropped WebSocket is re-opened and replayed.
app.MapHub<Chat>("/chat", o => o.AllowStatefulReconnects = true);
app.Lifetime.ApplicationStopping.Register(() => Events.Write("stopping", new { serverId }));
app.Lifetime.ApplicationStopped.Register(() => Events.Write("stopped", new { serverId }));
app.Run();
