using Microsoft.AspNetCore.SignalR;

public sealed record DeliveryId(string ClientId, long N, long W);

public interface IDeliveryLedger
{
    // false: (ClientId, N) ran, or runs elsewhere (wait for it first), or N <= a W seen before.
    // Before answering true, wait (bounded, e.g. 5 s) until every number in (W, N) is done.
    Task<bool> TryBeginAsync(DeliveryId id, CancellationToken ct);
    Task CompleteAsync(DeliveryId id);
}

public abstract partial class GracefulHub : Hub
{
    // The marker: remembered for this connection's next invocation.
    public void GracefulDelivery(string clientId, long n, long w) =>
        Context.Items[DeliveryFilter.Key] = new DeliveryId(clientId, n, w);
}

public sealed class DeliveryFilter(IDeliveryLedger ledger) : IHubFilter
{
    public const string Key = "graceful.delivery";

    public async ValueTask<object?> InvokeMethodAsync(
        HubInvocationContext ctx, Func<HubInvocationContext, ValueTask<object?>> next)
    {
        if (ctx.HubMethodName == nameof(GracefulHub.GracefulDelivery)) return await next(ctx);
        if (!ctx.Context.Items.TryGetValue(Key, out var o) || o is not DeliveryId id) return await next(ctx);
        ctx.Context.Items.Remove(Key);
        if (!await ledger.TryBeginAsync(id, ctx.Context.ConnectionAborted)) return null; // a copy: answer void
        try { return await next(ctx); }
        finally { await ledger.CompleteAsync(id); }
    }
}

// Program.cs
// builder.Services.AddSingleton<IDeliveryLedger, YourSharedLedger>();
// builder.Services.AddSignalR(o => o.AddFilter<DeliveryFilter>());
