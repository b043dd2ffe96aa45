// The app's "database": messages with global increasing ids, shared by every app-server process
// through a tiny HTTP store the test runs (CHAT_STORE_URL), or in memory for a single process.
using System.Net.Http.Json;

namespace ChatServer;

public record ChatMessage(int id, string clientMsgId, string user, int seq, string text, string serverId);

public interface IChatStore
{
    Task<(ChatMessage message, bool isNew)> AddAsync(ChatMessage m);
    Task<ChatMessage[]> SinceAsync(int sinceId);
}

public sealed class MemoryChatStore : IChatStore
{
    private readonly List<ChatMessage> _messages = new();
    private readonly Dictionary<string, ChatMessage> _byClientId = new();

    public Task<(ChatMessage, bool)> AddAsync(ChatMessage m)
    {
        lock (_messages)
        {
            if (_byClientId.TryGetValue(m.clientMsgId, out var old)) return Task.FromResult((old, false));
            var stored = m with { id = _messages.Count + 1 };
            _messages.Add(stored);
            _byClientId[m.clientMsgId] = stored;
            return Task.FromResult((stored, true));
        }
    }

    public Task<ChatMessage[]> SinceAsync(int sinceId)
    {
        lock (_messages) return Task.FromResult(_messages.Skip(sinceId).ToArray());
    }
}

public sealed class HttpChatStore(string baseUrl) : IChatStore
{
    private readonly HttpClient _http = new() { BaseAddress = new Uri(baseUrl) };

    private record AddResult(ChatMessage message, bool isNew);

    public async Task<(ChatMessage, bool)> AddAsync(ChatMessage m)
    {
        var response = await _http.PostAsJsonAsync("messages", m);
        response.EnsureSuccessStatusCode();
        var r = (await response.Content.ReadFromJsonAsync<AddResult>())!;
        return (r.message, r.isNew);
    }

    public async Task<ChatMessage[]> SinceAsync(int sinceId) =>
        (await _http.GetFromJsonAsync<ChatMessage[]>($"messages?since={sinceId}"))!;
}
