// IDeliveryLedger (DeliveryFilter.cs) over Redis, e.g. Azure Cache for Redis, shared by every app
// server. The semantics are the testing kit's DeliveryLedger (src/server/delivery-dedup.ts).
// Each step is one Lua script: Redis runs a script alone, so two servers racing on the same
// delivery id never both begin it. Waits poll (see PollInterval).
//
// Keys, all with a TTL so idle senders and untaken records expire:
//   graceful:delivery:{clientId}:floor    string   every n <= floor is settled at the client  (SenderTtl)
//   graceful:delivery:{clientId}:done     zset     n above the floor that ran                  (SenderTtl)
//   graceful:delivery:{clientId}:running  zset     n running now, scored by when that expires  (SenderTtl)
//   graceful:handover:<connectionId>      string   the marker a migrated connection's old
//                                                  server held: JSON, "null" for none          (HandoverTtl)
// The {braces} keep a sender's keys in one Redis Cluster slot, as a script needs.
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using StackExchange.Redis;

public sealed class RedisDeliveryLedgerOptions
{
    // How long a delivery waits for its predecessors (or its own earlier attempt) before it runs
    // anyway (or, still running elsewhere, counts as a copy). As the kit: 5 s.
    public TimeSpan OrderWait { get; init; } = TimeSpan.FromSeconds(5);
    // How long a migrated connection's new server waits for its old server's handover record.
    // Default: OrderWait. Paid in full only when the old server died before writing it.
    public TimeSpan? HandoverWait { get; init; }
    public TimeSpan HandoverTtl { get; init; } = TimeSpan.FromSeconds(60);
    // A "running" entry whose server died mid-call is dropped after this. A live server renews its
    // entries every RunningTtl / 3 while their calls run, so a long call keeps its protection.
    public TimeSpan RunningTtl { get; init; } = TimeSpan.FromSeconds(15);
    // A sender idle this long is forgotten: its next send starts a fresh record.
    public TimeSpan SenderTtl { get; init; } = TimeSpan.FromHours(1);
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(20);
    public string KeyPrefix { get; init; } = "graceful:";
}

public sealed class RedisDeliveryLedger(
    IConnectionMultiplexer redis, ILogger<RedisDeliveryLedger> logger, RedisDeliveryLedgerOptions? options = null)
    : IDeliveryLedger
{
    private readonly RedisDeliveryLedgerOptions _o = options ?? new();
    private IDatabase Db => redis.GetDatabase();
    // The calls this server runs, each renewing its running entry until it completes. If the
    // server dies, the renewals die with it and the entries expire after RunningTtl.
    private readonly ConcurrentDictionary<(string, long), CancellationTokenSource> _renewals = new();

    // One attempt to begin. ARGV: n, w, late (1: the order wait is over), running TTL, sender TTL (ms).
    // Answers "begun", "overdue" (begun without its predecessors: late), "copy", or what it waits for:
    // "running" (its own earlier attempt) or "order" (a number in (w, n) not done yet).
    private const string BeginScript = """
        local n, w, late = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3] == '1'
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        local function touch(answer)
          for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], ARGV[5]) end
          return answer
        end
        local floor = tonumber(redis.call('GET', KEYS[1]) or '0')
        if w > floor then
          floor = w
          redis.call('SET', KEYS[1], floor)
          redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', floor)
        end
        -- Attempts whose server died mid-call.
        redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
        local running = redis.call('ZSCORE', KEYS[3], ARGV[1])
        if n <= floor or redis.call('ZSCORE', KEYS[2], ARGV[1]) then return touch('copy') end
        -- Still running elsewhere once the wait is over: never twice.
        if running then return touch(late and 'copy' or 'running') end
        -- Every number in (floor, n) done? A gap this wide is no backlog (as the kit).
        local ready = n - floor > 10000 or redis.call('ZCOUNT', KEYS[2], floor + 1, n - 1) == n - floor - 1
        if not ready and not late then return touch('order') end
        redis.call('ZADD', KEYS[3], now + tonumber(ARGV[4]), ARGV[1])
        return touch(ready and 'begun' or 'overdue')
        """;

    // ARGV: n, sender TTL (ms). A number at or below the floor needs no entry: it is settled.
    private const string CompleteScript = """
        redis.call('ZREM', KEYS[3], ARGV[1])
        if tonumber(ARGV[1]) > tonumber(redis.call('GET', KEYS[1]) or '0') then
          redis.call('ZADD', KEYS[2], ARGV[1], ARGV[1])
        end
        for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], ARGV[2]) end
        """;

    // ARGV: n, running TTL (ms). XX: a completed entry (removed) is never brought back.
    private const string RenewScript = """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[2]), ARGV[1])
        """;

    // GETDEL as a script: the same one round trip, and it runs on Redis before 6.2 too.
    private const string TakeScript = """
        local v = redis.call('GET', KEYS[1])
        if v then redis.call('DEL', KEYS[1]) end
        return v
        """;

    public async Task<bool> TryBeginAsync(DeliveryId id, CancellationToken ct)
    {
        if (!IsValid(id))
        {
            // As the kit's parseDeliveryId: a malformed marker is ignored, the call runs unmarked.
            logger.LogWarning("Malformed delivery marker ignored: {Id}", id);
            return true;
        }
        var waited = Stopwatch.StartNew();
        var waitingFor = "";
        for (;;)
        {
            var late = waited.Elapsed >= _o.OrderWait;
            var answer = (string?)await Db.ScriptEvaluateAsync(BeginScript, SenderKeys(id.ClientId),
                [id.N, id.W, late ? 1 : 0, Ms(_o.RunningTtl), Ms(_o.SenderTtl)]);
            switch (answer)
            {
                case "begun":
                    KeepRunning(id);
                    return true;
                case "overdue":
                    logger.LogWarning("Delivery {ClientId}#{N} runs without its predecessors after {Wait}.", id.ClientId, id.N, _o.OrderWait);
                    KeepRunning(id);
                    return true;
                case "copy":
                    logger.LogDebug("Delivery {ClientId}#{N} is a copy: not run.", id.ClientId, id.N);
                    return false;
            }
            // "running" or "order": logged once per reason.
            if (answer != waitingFor) logger.LogDebug("Delivery {ClientId}#{N} waits ({Reason}).", id.ClientId, id.N, waitingFor = answer!);
            // Polling, not pub/sub: a wait happens only after an interruption, a poll is one small
            // script, and there is no notification to miss (which would stall a call to the bound).
            await Task.Delay(NextPoll(waited, _o.OrderWait), ct);
        }
    }

    public async Task CompleteAsync(DeliveryId id)
    {
        if (!IsValid(id)) return;
        if (_renewals.TryRemove((id.ClientId, id.N), out var renewal)) renewal.Cancel();
        await Db.ScriptEvaluateAsync(CompleteScript, SenderKeys(id.ClientId), [id.N, Ms(_o.SenderTtl)]);
    }

    // Renews the running entry of a call this server began, until CompleteAsync. A failed renewal
    // (Redis briefly away) is logged and tried again at the next tick.
    private void KeepRunning(DeliveryId id)
    {
        var renewal = new CancellationTokenSource();
        if (!_renewals.TryAdd((id.ClientId, id.N), renewal)) return;
        var key = SenderKeys(id.ClientId)[2];
        _ = Task.Run(async () =>
        {
            using (renewal)
            {
                while (!renewal.IsCancellationRequested)
                {
                    try
                    {
                        await Task.Delay(_o.RunningTtl / 3, renewal.Token);
                        await Db.ScriptEvaluateAsync(RenewScript, [key], [id.N, Ms(_o.RunningTtl)]);
                    }
                    catch (OperationCanceledException) { return; }
                    catch (Exception e)
                    {
                        logger.LogWarning(e, "Delivery {ClientId}#{N}: its running entry was not renewed.", id.ClientId, id.N);
                    }
                }
            }
        });
    }

    public Task HandOverAsync(string connectionId, DeliveryId? pending) =>
        Db.StringSetAsync(HandoverKey(connectionId), JsonSerializer.Serialize(pending), _o.HandoverTtl);

    public async Task<DeliveryId?> TakeHandoverAsync(string connectionId, CancellationToken ct)
    {
        var waited = Stopwatch.StartNew();
        var bound = _o.HandoverWait ?? _o.OrderWait;
        for (;;)
        {
            var taken = await Db.ScriptEvaluateAsync(TakeScript, [HandoverKey(connectionId)]);
            if (!taken.IsNull)
            {
                var pending = JsonSerializer.Deserialize<DeliveryId>((string)taken!);
                logger.LogDebug("Connection {ConnectionId}: handover taken ({Pending}).", connectionId, pending);
                return pending;
            }
            if (waited.Elapsed >= bound)
            {
                // The old server died before writing it, or is stuck behind a long call.
                logger.LogWarning("Connection {ConnectionId}: no handover record within {Wait}; its call runs unmarked.", connectionId, bound);
                return null;
            }
            await Task.Delay(NextPoll(waited, bound), ct);
        }
    }

    // The marker's limits (GracefulDelivery checks the client id; scoped to a user it grows by the
    // user id), and numbers a Lua double holds exactly.
    private static bool IsValid(DeliveryId id) =>
        id.ClientId is { Length: > 0 and <= 1024 } && id.N >= 1 && id.N <= (1L << 53) && id.W >= 0 && id.W < id.N;

    private RedisKey[] SenderKeys(string clientId)
    {
        var p = $"{_o.KeyPrefix}delivery:{{{clientId}}}:";
        return [p + "floor", p + "done", p + "running"];
    }

    private RedisKey HandoverKey(string connectionId) => $"{_o.KeyPrefix}handover:{connectionId}";

    private static long Ms(TimeSpan t) => (long)t.TotalMilliseconds;

    // The poll interval, cut short at the bound so the last attempt comes on time.
    private TimeSpan NextPoll(Stopwatch waited, TimeSpan bound)
    {
        var left = bound - waited.Elapsed;
        return left < TimeSpan.Zero ? TimeSpan.Zero : left < _o.PollInterval ? left : _o.PollInterval;
    }
}

// Program.cs (NuGet StackExchange.Redis; the connection string of your Redis, e.g. Azure Cache for Redis):
// builder.Services.AddSingleton<IConnectionMultiplexer>(ConnectionMultiplexer.Connect(redisConnectionString));
// builder.Services.AddSingleton<IDeliveryLedger, RedisDeliveryLedger>();
// builder.Services.AddSignalR(o => o.AddFilter<DeliveryFilter>());
