using Microsoft.AspNetCore.SignalR;
using Microsoft.Azure.SignalR; // NuGet package Microsoft.Azure.SignalR

var builder = WebApplication.CreateBuilder(args);
// The connection string comes from configuration: Azure:SignalR:ConnectionString.
// The process outlives the hub calls it runs (RunningCalls.cs, below).
builder.Services.AddSingleton<RunningCalls>();
builder.Services.AddHostedService(sp => sp.GetRequiredService<RunningCalls>());
builder.Services.AddSignalR(o => o.AddFilter<RunningCalls>()).AddAzureSignalR(o =>
{
    o.GracefulShutdown.Mode = GracefulShutdownMode.MigrateClients; // or WaitForClientsClose
    o.GracefulShutdown.Timeout = TimeSpan.FromSeconds(30);
    o.GracefulShutdown.AddGracefulExit<Chat>();
});
builder.Services.AddSingleton<IServerNameProvider>(new GracefulServerName());

var app = builder.Build();
app.MapHub<Chat>("/chat");
app.Run();

public class Chat : GracefulHub
{
    public Task SendMessage(string user, string text) => Clients.All.SendAsync("message", user, text);
}
