using Microsoft.AspNetCore.SignalR;

// Keeps the process alive until the hub calls it is running have finished. Microsoft.Azure.SignalR
// (1.34.0) runs its graceful shutdown while the host is stopping (ApplicationStopping) and does not
// wait for hub calls still running; hosted services stop after it, then the process exits, and a
// call cut short there is a crash mid-call to its sender: the SDK re-sends it, and whether the
// re-send runs again depends on when it gets its turn. Waiting here lets those calls finish (and the
// delivery ledger record them), bounded by HostOptions.ShutdownTimeout.
public sealed class RunningCalls(ILogger<RunningCalls> logger) : IHubFilter, IHostedService
{
    private readonly object _lock = new();
    private int _running;
    private TaskCompletionSource _idle = Idle();

    public async ValueTask<object?> InvokeMethodAsync(
        HubInvocationContext ctx, Func<HubInvocationContext, ValueTask<object?>> next)
    {
        lock (_lock) if (_running++ == 0) _idle = new(TaskCreationOptions.RunContinuationsAsynchronously);
        try { return await next(ctx); }
        finally { lock (_lock) if (--_running == 0) _idle.TrySetResult(); }
    }

    public Task StartAsync(CancellationToken ct) => Task.CompletedTask;

    public async Task StopAsync(CancellationToken ct)
    {
        Task idle;
        lock (_lock)
        {
            if (_running == 0) return;
            logger.LogInformation("Waiting for {Count} running hub call(s) before exiting.", _running);
            idle = _idle.Task;
        }
        try { await idle.WaitAsync(ct); }
        catch (OperationCanceledException) { logger.LogWarning("Exiting with {Count} hub call(s) still running.", _running); }
    }

    private static TaskCompletionSource Idle()
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        done.SetResult();
        return done;
    }
}

// Program.cs: one instance is both the filter and the hosted service.
// builder.Services.AddSingleton<RunningCalls>();
// builder.Services.AddHostedService(sp => sp.GetRequiredService<RunningCalls>());
// builder.Services.AddSignalR(o => o.AddFilter<RunningCalls>());
