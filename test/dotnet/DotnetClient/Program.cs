// A real .NET SignalR client (Microsoft.AspNetCore.SignalR.Client) that tests drive over stdin and
// watch over stdout, one JSON object a line each way. It exists so end-to-end tests can show what a
// .NET client sees against the kit and real ASP.NET Core hubs — above all the client's own log
// warnings ("Failed to find handler for ..."), which are how a stray server convention shows up.
//
//   dotnet DotnetClient.dll --url <hub url> [--transport WebSockets|ServerSentEvents|LongPolling]
//       [--protocol json|messagepack] [--stateful] [--reconnect] [--log-level Warning]
//
// stdin, one command a line ("id" is echoed on the reply; every command gets exactly one reply):
//   {"op":"start"} {"op":"stop"}
//   {"op":"invoke"|"send", "method", "args":[...], "upload":[...]?}   upload = a client-to-server
//       stream passed as the last argument
//   {"op":"stream", "method", "args":[...]}                           server-to-client stream
//   {"op":"on", "method", "argc"}              prints each call as an "invocation" line
//   {"op":"handle", "method", "argc", "result"?, "error"?}   a client-result handler: returns
//       `result` (or throws `error`) and prints the call as an "invocation" line
// stdout: {"type":"ready"} first, then "log", "reply", "item", "invocation", "reconnecting",
//   "reconnected", "closed" lines. Bytes travel as {"$bytes": base64} both ways.
// End of stdin stops the connection and exits.
using System.Collections;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

var output = new Output();
Options opts;
try
{
    opts = Options.Parse(args);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine(e.Message);
    return 2;
}

var builder = new HubConnectionBuilder()
    .WithUrl(opts.Url, opts.Transport)
    .ConfigureLogging(l => l.ClearProviders().AddProvider(new JsonLineLoggerProvider(output)).SetMinimumLevel(opts.LogLevel));
if (opts.MessagePack) builder.AddMessagePackProtocol();
if (opts.Stateful) builder.WithStatefulReconnect();
if (opts.Reconnect) builder.WithAutomaticReconnect();
await using var connection = builder.Build();

connection.Closed += e => { output.Write(new JsonObject { ["type"] = "closed", ["error"] = e?.Message }); return Task.CompletedTask; };
connection.Reconnecting += e => { output.Write(new JsonObject { ["type"] = "reconnecting", ["error"] = e?.Message }); return Task.CompletedTask; };
connection.Reconnected += id => { output.Write(new JsonObject { ["type"] = "reconnected", ["connectionId"] = id }); return Task.CompletedTask; };

output.Write(new JsonObject { ["type"] = "ready" });
var running = new List<Task>();
while (await Console.In.ReadLineAsync() is { } line)
{
    if (string.IsNullOrWhiteSpace(line)) continue;
    // Commands run concurrently (a stream may be open while invokes go on); replies carry the id.
    running.Add(Run(line));
}
await Task.WhenAll(running);
await connection.StopAsync();
return 0;

async Task Run(string line)
{
    JsonNode? id = null;
    try
    {
        var cmd = JsonNode.Parse(line) as JsonObject ?? throw new FormatException("a command is a JSON object");
        id = cmd["id"]?.DeepClone();
        var result = await Execute(cmd, id);
        output.Write(new JsonObject { ["type"] = "reply", ["id"] = id, ["ok"] = true, ["result"] = result });
    }
    catch (Exception e)
    {
        output.Write(new JsonObject { ["type"] = "reply", ["id"] = id, ["ok"] = false, ["error"] = e.Message, ["errorType"] = e.GetType().Name });
    }
}

async Task<JsonNode?> Execute(JsonObject cmd, JsonNode? id)
{
    var op = (string?)cmd["op"] ?? throw new FormatException("missing op");
    string Method() => (string?)cmd["method"] ?? throw new FormatException($"{op} needs a method");
    object?[] Args()
    {
        var list = (cmd["args"] as JsonArray)?.Select(Json.ToClr).ToList() ?? [];
        if (cmd["upload"] is JsonArray upload) list.Add(Json.Upload(upload.Select(Json.ToClr).ToArray()));
        return [.. list];
    }
    Type[] Params() => Enumerable.Repeat(typeof(object), (int?)cmd["argc"] ?? 1).ToArray();

    switch (op)
    {
        case "start":
            await connection.StartAsync();
            return new JsonObject { ["connectionId"] = connection.ConnectionId };
        case "stop":
            await connection.StopAsync();
            return null;
        case "invoke":
            return Json.ToNode(await connection.InvokeCoreAsync(Method(), typeof(object), Args()));
        case "send":
            await connection.SendCoreAsync(Method(), Args());
            return null;
        case "stream":
            var count = 0;
            await foreach (var item in connection.StreamAsyncCore<object>(Method(), Args()))
            {
                output.Write(new JsonObject { ["type"] = "item", ["id"] = id?.DeepClone(), ["item"] = Json.ToNode(item) });
                count++;
            }
            return count;
        case "on":
        {
            var method = Method();
            Func<object?[], object, Task> handler = (a, _) =>
            {
                output.Write(Json.Invocation(method, a));
                return Task.CompletedTask;
            };
            connection.On(method, Params(), handler, method);
            return null;
        }
        case "handle":
        {
            var method = Method();
            var result = Json.ToClr(cmd["result"]);
            var error = (string?)cmd["error"];
            Func<object?[], object, Task<object?>> handler = (a, _) =>
            {
                output.Write(Json.Invocation(method, a));
                return error is null ? Task.FromResult(result) : Task.FromException<object?>(new InvalidOperationException(error));
            };
            connection.On(method, Params(), handler, method);
            return null;
        }
        default:
            throw new FormatException($"unknown op '{op}'");
    }
}

sealed record Options(string Url, HttpTransportType Transport, bool MessagePack, bool Stateful, bool Reconnect, LogLevel LogLevel)
{
    public static Options Parse(string[] args)
    {
        string? url = null;
        var transport = HttpTransportType.WebSockets;
        var messagePack = false;
        bool stateful = false, reconnect = false;
        var level = LogLevel.Warning;
        for (var i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--url": url = Value(); break;
                case "--transport": transport = Enum.Parse<HttpTransportType>(Value(), ignoreCase: true); break;
                case "--protocol":
                    var p = Value();
                    messagePack = p switch { "json" => false, "messagepack" => true, _ => throw new ArgumentException($"unknown protocol '{p}'") };
                    break;
                case "--stateful": stateful = true; break;
                case "--reconnect": reconnect = true; break;
                case "--log-level": level = Enum.Parse<LogLevel>(Value(), ignoreCase: true); break;
                default: throw new ArgumentException($"unknown argument '{args[i]}'");
            }
        }
        return new Options(url ?? throw new ArgumentException("--url is required"), transport, messagePack, stateful, reconnect, level);
    }
}

/// <summary>stdout, one JSON object a line, whole lines only (log lines come from any thread).</summary>
sealed class Output
{
    private readonly Lock gate = new();
    private readonly TextWriter stdout = new StreamWriter(Console.OpenStandardOutput()) { AutoFlush = true };

    public void Write(JsonObject line)
    {
        var text = line.ToJsonString();
        lock (gate) stdout.WriteLine(text);
    }
}

static class Json
{
    /// <summary>JSON from the test into what the hub protocols serialize (both JSON and MessagePack).</summary>
    public static object? ToClr(JsonNode? n) => n switch
    {
        null => null,
        JsonObject o when o.Count == 1 && o["$bytes"] is JsonValue b => Convert.FromBase64String((string)b!),
        JsonObject o => o.ToDictionary(kv => kv.Key, kv => ToClr(kv.Value)),
        JsonArray a => a.Select(ToClr).ToArray(),
        JsonValue v => v.GetValueKind() switch
        {
            JsonValueKind.String => v.GetValue<string>(),
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            // The narrowest type that holds it, as a .NET caller would pass it (a hub's int parameter binds from an int).
            JsonValueKind.Number => Number(JsonSerializer.SerializeToElement(v)),
            _ => null,
        },
        _ => null,
    };

    // Each branch boxed on its own: a ?: over int, long and double would widen them all to double.
    private static object Number(JsonElement e) => e.TryGetInt32(out var i) ? (object)i : e.TryGetInt64(out var l) ? (object)l : e.GetDouble();

    /// <summary>Whatever a protocol handed us (JsonElement from JSON, dictionaries and arrays from MessagePack) back into JSON.</summary>
    public static JsonNode? ToNode(object? v) => v switch
    {
        null => null,
        JsonElement e => e.ValueKind == JsonValueKind.Null ? null : JsonNode.Parse(e.GetRawText()),
        string s => JsonValue.Create(s),
        byte[] bytes => new JsonObject { ["$bytes"] = Convert.ToBase64String(bytes) },
        IDictionary d => ToObject(d),
        IEnumerable list => new JsonArray(list.Cast<object?>().Select(ToNode).ToArray()),
        _ => JsonSerializer.SerializeToNode(v, v.GetType()),
    };

    private static JsonObject ToObject(IDictionary d)
    {
        // IDictionary's own enumerator: a generic dictionary enumerated as IEnumerable yields KeyValuePairs.
        var o = new JsonObject();
        for (var e = d.GetEnumerator(); e.MoveNext();) o[Convert.ToString(e.Key, System.Globalization.CultureInfo.InvariantCulture)!] = ToNode(e.Value);
        return o;
    }

    public static JsonObject Invocation(string method, object?[] args) =>
        new() { ["type"] = "invocation", ["method"] = method, ["args"] = new JsonArray(args.Select(ToNode).ToArray()) };

    public static async IAsyncEnumerable<object?> Upload(object?[] items, [EnumeratorCancellation] CancellationToken ct = default)
    {
        foreach (var item in items)
        {
            ct.ThrowIfCancellationRequested();
            await Task.Yield();
            yield return item;
        }
    }
}

sealed class JsonLineLoggerProvider(Output output) : ILoggerProvider
{
    public ILogger CreateLogger(string category) => new JsonLineLogger(category, output);
    public void Dispose() { }
}

sealed class JsonLineLogger(string category, Output output) : ILogger
{
    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
    public bool IsEnabled(LogLevel level) => level != LogLevel.None;

    public void Log<TState>(LogLevel level, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        output.Write(new JsonObject
        {
            ["type"] = "log",
            ["level"] = level.ToString(),
            ["category"] = category,
            ["eventId"] = eventId.Name,
            ["message"] = formatter(state, exception),
            ["exception"] = exception?.ToString(),
        });
}
