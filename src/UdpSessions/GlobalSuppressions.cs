using System.Diagnostics.CodeAnalysis;

// RS0026 warns that two overloads with optional parameters can become ambiguous when one of them gains a parameter. The
// two StartAsync overloads cannot be confused (one is static and takes the options first); the rule stays on for the
// rest of the API.
[assembly: SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Scope = "member",
    Target = "~M:UdpSessions.SessionServer.StartAsync(UdpSessions.SessionServerOptions,UdpSessions.SessionHandler,Microsoft.Extensions.Logging.ILoggerFactory,System.Threading.CancellationToken)~System.Threading.Tasks.ValueTask{UdpSessions.SessionServer}",
    Justification = "A static factory and an instance method: never ambiguous.")]
[assembly: SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Scope = "member",
    Target = "~M:UdpSessions.SessionServer.StartAsync(System.Threading.CancellationToken)~System.Threading.Tasks.ValueTask",
    Justification = "A static factory and an instance method: never ambiguous.")]
[assembly: SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Scope = "member",
    Target = "~M:UdpSessions.UdpForwarder.StartAsync(UdpSessions.UdpForwarderOptions,Microsoft.Extensions.Logging.ILoggerFactory,System.Threading.CancellationToken)~System.Threading.Tasks.ValueTask{UdpSessions.UdpForwarder}",
    Justification = "A static factory and an instance method: never ambiguous (as SessionServer.StartAsync).")]
[assembly: SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Scope = "member",
    Target = "~M:UdpSessions.UdpForwarder.StartAsync(System.Threading.CancellationToken)~System.Threading.Tasks.ValueTask",
    Justification = "A static factory and an instance method: never ambiguous (as SessionServer.StartAsync).")]
[assembly: SuppressMessage("Naming", "CA1710:Identifiers should have correct suffix", Scope = "type", Target = "~T:UdpSessions.SessionGroup",
    Justification = "A group of sessions (a room) that datagrams are sent to; that it can be enumerated is secondary, and 'SessionCollection' would hide what it is for.")]
