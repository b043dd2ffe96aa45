using Microsoft.AspNetCore.SignalR;
using Microsoft.Azure.SignalR; // IConnectionMigrationFeature

public sealed record DeliveryId(string ClientId, long N, long W);

public interface IDeliveryLedger
{
    // false: (ClientId, N) ran, or runs elsewhere (wait for it first), or N <= a W seen before.
    // Before answering true, wait (bounded, e.g. 5 s) until every number in (W, N) is done.
    Task<bool> TryBeginAsync(DeliveryId id, CancellationToken ct);
    Task CompleteAsync(DeliveryId id);

    // Migration: the old server records the marker it still held for the connection (null: none),
    // replacing any earlier record; keep it a while (e.g. 60 s).
    Task HandOverAsync(string connectionId, DeliveryId? pending);
    // The new server takes that record once, waiting for it (bounded, e.g. 5 s); null: none came.
    Task<DeliveryId?> TakeHandoverAsync(string connectionId, CancellationToken ct);
}

public abstract partial class GracefulHub : Hub
{
    // The marker: remembered for this connection's next invocation. It is the client's word, so
    // an authenticated user's ids live under that user (length-prefixed: no pair reads as another;
    // an anonymous id has no ':'): naming someone else's client id touches only your own records.
    // One sender per connection (its first marker's), as the SDK keeps it: a connection naming a
    // new one per marker would fill the shared ledger with records at no cost of its own.
    public void GracefulDelivery(string clientId, long n, long w)
    {
        if (!IsClientId(clientId) || n < 1 || w < 0 || w >= n) return; // malformed: the call runs unmarked
        var user = Context.UserIdentifier;
        var sender = user is null ? clientId : $"{user.Length}:{user}/{clientId}";
        if (Context.Items.TryGetValue(SenderKey, out var first) && first is string s && s != sender) return;
        Context.Items[SenderKey] = sender;
        Context.Items[DeliveryFilter.Key] = new DeliveryId(sender, n, w);
    }

    const string SenderKey = "graceful.sender";

    static bool IsClientId(string s) =>
        s is { Length: > 0 and <= 128 } && s.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-');
}

public sealed class DeliveryFilter(IDeliveryLedger ledger) : IHubFilter
{
    public const string Key = "graceful.delivery";
    // Migrated here, no call yet: the first one may be the message of a marker the old server got.
    const string HandoverDue = "graceful.handoverDue";

    public Task OnConnectedAsync(HubLifetimeContext ctx, Func<HubLifetimeContext, Task> next)
    {
        if (ctx.Context.Features.Get<IConnectionMigrationFeature>()?.MigrateFrom is not null)
            ctx.Context.Items[HandoverDue] = true;
        return next(ctx);
    }

    public async ValueTask<object?> InvokeMethodAsync(
        HubInvocationContext ctx, Func<HubInvocationContext, ValueTask<object?>> next)
    {
        if (ctx.HubMethodName == nameof(GracefulHub.GracefulDelivery)) return await next(ctx);
        var items = ctx.Context.Items;
        var id = items.TryGetValue(Key, out var o) ? o as DeliveryId : null;
        items.Remove(Key);
        // The move may have fallen between a send's marker (read by the old server) and the send.
        if (items.Remove(HandoverDue) && id is null)
            id = await ledger.TakeHandoverAsync(ctx.Context.ConnectionId, ctx.Context.ConnectionAborted);
        if (id is null) return await next(ctx);
        if (!await ledger.TryBeginAsync(id, ctx.Context.ConnectionAborted)) return null; // a copy: answer void
        try { return await next(ctx); }
        finally { await ledger.CompleteAsync(id); }
    }

    public async Task OnDisconnectedAsync(
        HubLifetimeContext ctx, Exception? exception, Func<HubLifetimeContext, Exception?, Task> next)
    {
        try
        {
            // Migrated away: the SDK set MigrateTo (on a plain close, 1.34.0 clears the feature).
            if (ctx.Context.Features.Get<IConnectionMigrationFeature>()?.MigrateTo is not null)
            {
                // Everything the connection sent here has been dispatched: a marker still pending
                // announced a message that went to the new server.
                var pending = ctx.Context.Items.TryGetValue(Key, out var o) ? o as DeliveryId : null;
                await ledger.HandOverAsync(ctx.Context.ConnectionId, pending);
            }
        }
        finally { await next(ctx, exception); } // the hub's own cleanup runs even if the ledger is down
    }
}

// Program.cs
// builder.Services.AddSingleton<IDeliveryLedger, RedisDeliveryLedger>(); // or your own store's
// builder.Services.AddSignalR(o => o.AddFilter<DeliveryFilter>());
