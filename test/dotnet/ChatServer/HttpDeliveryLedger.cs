// The delivery ledger several app-server processes share, over HTTP (DELIVERY_LEDGER_URL): the
// test serves it from the kit's DeliveryLedger (test/e2e/ledger-server.ts), standing for the
// database or distributed cache a real deployment would use behind IDeliveryLedger.
using System.Net.Http.Json;

namespace ChatServer;

public sealed class HttpDeliveryLedger(string baseUrl) : IDeliveryLedger
{
    private readonly HttpClient _http = new() { BaseAddress = new Uri(baseUrl), Timeout = TimeSpan.FromSeconds(30) };

    private record Begun(bool begin);
    private record Taken(DeliveryId? pending);
    private record Handover(string connectionId, DeliveryId? pending);

    public async Task<bool> TryBeginAsync(DeliveryId id, CancellationToken ct)
    {
        var response = await _http.PostAsJsonAsync("begin", id, ct);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<Begun>(ct))!.begin;
    }

    public async Task CompleteAsync(DeliveryId id) =>
        (await _http.PostAsJsonAsync("complete", id)).EnsureSuccessStatusCode();

    public async Task HandOverAsync(string connectionId, DeliveryId? pending) =>
        (await _http.PostAsJsonAsync("handover", new Handover(connectionId, pending))).EnsureSuccessStatusCode();

    public async Task<DeliveryId?> TakeHandoverAsync(string connectionId, CancellationToken ct)
    {
        var response = await _http.PostAsJsonAsync("take", new Handover(connectionId, null), ct);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<Taken>(ct))!.pending;
    }
}
