namespace UdpSessions.Hosting;

/// <summary>
/// One <c>AddUdpSessions</c> call: the server's name ("" for the unnamed one, the name of its options) and where its
/// handler comes from (null: the async API). Kept in the service collection, so that a second registration of a
/// name is seen at once.
/// </summary>
internal sealed record UdpSessionsRegistration(string Name, Func<IServiceProvider, SessionHandler?> Handler)
{
    /// <summary>"the unnamed UdpSessions server" or "the UdpSessions server 'admin'", for messages.</summary>
    public string Description => Name.Length == 0 ? "the unnamed UdpSessions server" : $"the UdpSessions server '{Name}'";
}
