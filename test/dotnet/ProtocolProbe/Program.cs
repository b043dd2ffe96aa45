// Prints every service message of the real SDK's protocol library, serialized by the library itself
// with placeholder values ("S_<member>" strings, 7 for Int32, 9 for the tracing id…): the golden
// bytes of test/unit/fixtures/service-protocol-1.34.0.txt. Run it again when the SDK version moves:
//   dotnet run --project test/dotnet/ProtocolProbe > test/unit/fixtures/service-protocol-<version>.txt
using System.Buffers;
using System.Reflection;
using System.Runtime.CompilerServices;
using Microsoft.Azure.SignalR.Protocol;
var asm = typeof(ServiceProtocol).Assembly;
var proto = new ServiceProtocol();
foreach (var t in asm.GetTypes().Where(t => typeof(ServiceMessage).IsAssignableFrom(t) && !t.IsAbstract).OrderBy(t => t.Name)) {
  var m = (ServiceMessage)RuntimeHelpers.GetUninitializedObject(t);
  var props = new List<string>();
  foreach (var p in t.GetProperties(BindingFlags.Public|BindingFlags.Instance)) {
    props.Add($"{p.Name}:{p.PropertyType.Name}");
    if (!p.CanWrite) continue;
    object v = null;
    var pt = p.PropertyType;
    if (pt == typeof(string)) v = "S_" + p.Name;
    else if (pt == typeof(int)) v = 7; else if (pt == typeof(long)) v = 8L; else if (pt == typeof(ulong?)) v = (ulong?)9; else if (pt == typeof(int?)) v = (int?)5;
    else if (pt == typeof(bool)) v = true;
    else if (pt == typeof(ReadOnlySequence<byte>)) v = new ReadOnlySequence<byte>(new byte[]{0xAB});
    else if (pt == typeof(ReadOnlyMemory<byte>)) v = new ReadOnlyMemory<byte>(new byte[]{0xAB});
    else if (pt == typeof(IReadOnlyList<string>) || pt == typeof(string[])) v = new[]{"L_"+p.Name};
    else if (pt == typeof(IDictionary<string, ReadOnlyMemory<byte>>)) v = new Dictionary<string, ReadOnlyMemory<byte>>{{"json", new byte[]{0xCD}}};
    else if (pt == typeof(System.Security.Claims.Claim[])) v = new[]{ new System.Security.Claims.Claim("c", "v") };
    else if (pt == typeof(IDictionary<string, Microsoft.Extensions.Primitives.StringValues>)) v = new Dictionary<string, Microsoft.Extensions.Primitives.StringValues>{{"h", "hv"}};
    else if (pt.IsEnum) v = Enum.GetValues(pt).GetValue(Enum.GetValues(pt).Length > 1 ? 1 : 0);
    try { if (v != null) p.SetValue(m, v); } catch {}
  }
  try {
    var bytes = proto.GetMessageBytes(m).ToArray();
    Console.WriteLine($"{t.Name} {Convert.ToHexString(bytes)}");
  } catch (Exception e) { Console.Error.WriteLine($"{t.Name} ERR {e.GetType().Name}: {e.Message}"); }
}
