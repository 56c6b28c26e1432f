using System.Net;

namespace UdpSessions.Tests;

/// <summary>Invalid settings are refused with an ArgumentException that names the setting.</summary>
public class OptionsTests
{
    public static TheoryData<string, Action<SessionServerOptions>> InvalidSettings() => new()
    {
        { nameof(SessionServerOptions.IoThreads), o => o.IoThreads = 0 },
        { nameof(SessionServerOptions.IoThreads), o => o.IoThreads = 1025 },
        { nameof(SessionServerOptions.MaxDatagramSize), o => o.MaxDatagramSize = 0 },
        { nameof(SessionServerOptions.MaxDatagramSize), o => o.MaxDatagramSize = 65_528 },
        { nameof(SessionServerOptions.IdleTimeout), o => o.IdleTimeout = TimeSpan.FromMilliseconds(5) },
        { nameof(SessionServerOptions.IdleTimeout), o => o.IdleTimeout = TimeSpan.FromDays(2) },
        { nameof(SessionServerOptions.IdleTimeout), o => o.IdleTimeout = TimeSpan.FromSeconds(-5) },
        { nameof(SessionServerOptions.MaxSessions), o => o.MaxSessions = 0 },
        { nameof(SessionServerOptions.SocketBudget), o => o.SocketBudget = -1 },
        { nameof(SessionServerOptions.AcceptBacklog), o => o.AcceptBacklog = 0 },
        { nameof(SessionServerOptions.ReceiveQueueCapacity), o => o.ReceiveQueueCapacity = 0 },
        { nameof(SessionServerOptions.ListenerReceiveBufferSize), o => o.ListenerReceiveBufferSize = -1 },
        { nameof(SessionServerOptions.SessionReceiveBufferSize), o => o.SessionReceiveBufferSize = -1 },
        { nameof(SessionServerOptions.SendBufferSize), o => o.SendBufferSize = -1 },
        { nameof(SessionServerOptions.Engine), o => o.Engine = (EngineKind)42 },
        { nameof(SessionServerOptions.EpollMode), o => o.EpollMode = (EpollMode)42 },
        { nameof(SessionServerOptions.MaxNewSessionsPerSecond), o => o.MaxNewSessionsPerSecond = 0 },
        { nameof(SessionServerOptions.MaxNewSessionsPerSecondPerSource), o => o.MaxNewSessionsPerSecondPerSource = -1 },
        { nameof(SessionServerOptions.SourcePrefixLengthIPv4), o => o.SourcePrefixLengthIPv4 = 33 },
        { nameof(SessionServerOptions.SourcePrefixLengthIPv6), o => o.SourcePrefixLengthIPv6 = 129 },
        { nameof(SessionServerOptions.SourcePrefixLengthIPv6), o => o.SourcePrefixLengthIPv6 = -1 },
        { nameof(SessionServerOptions.SourceTableSize), o => o.SourceTableSize = 15 },
    };

    [Theory]
    [MemberData(nameof(InvalidSettings))]
    public void An_invalid_setting_throws_ArgumentException_naming_it(string setting, Action<SessionServerOptions> makeInvalid)
    {
        var options = new SessionServerOptions();
        makeInvalid(options);

        ArgumentException thrown = Assert.Throws<ArgumentException>(options.Validate);
        Assert.Equal(setting, thrown.ParamName);
        Assert.Contains(setting, thrown.Message, StringComparison.Ordinal);

        // The server constructor validates too, before binding anything.
        thrown = Assert.Throws<ArgumentException>(() => new SessionServer(options));
        Assert.Equal(setting, thrown.ParamName);
    }

    [Fact]
    public void A_missing_endpoint_throws_ArgumentNullException_naming_it()
    {
        var options = new SessionServerOptions { EndPoint = null! };
        ArgumentNullException thrown = Assert.Throws<ArgumentNullException>(options.Validate);
        Assert.Equal(nameof(SessionServerOptions.EndPoint), thrown.ParamName);
    }

    [Fact]
    public void Valid_boundary_values_pass()
    {
        new SessionServerOptions
        {
            IoThreads = 1,
            MaxDatagramSize = 65_527,
            IdleTimeout = Timeout.InfiniteTimeSpan,
            MaxSessions = 1,
            SocketBudget = 0,
            AcceptBacklog = 1,
            ReceiveQueueCapacity = 1,
            EndPoint = new IPEndPoint(IPAddress.IPv6Loopback, 0),
        }.Validate();
        new SessionServerOptions { IdleTimeout = TimeSpan.FromMilliseconds(10) }.Validate();
        new SessionServerOptions
        {
            MaxNewSessionsPerSecond = 1,
            MaxNewSessionsPerSecondPerSource = 10_000_000,
            SourcePrefixLengthIPv4 = 0,
            SourcePrefixLengthIPv6 = 128,
            SourceTableSize = 16,
        }.Validate();
        new SessionServerOptions { IdleTimeout = TimeSpan.FromDays(1) }.Validate();
    }

    [Fact]
    public async Task The_server_keeps_a_validated_copy_of_the_options()
    {
        var options = new SessionServerOptions { EndPoint = new IPEndPoint(IPAddress.Loopback, 0), IoThreads = 1 };
        await using var server = new SessionServer(options);
        options.IoThreads = 0;
        Assert.Equal(1, server.Options.IoThreads);
        Assert.NotSame(options, server.Options);
    }

    [Fact]
    public async Task Starting_twice_throws_and_starting_after_stop_throws_ObjectDisposed()
    {
        var server = new SessionServer(new SessionServerOptions { EndPoint = new IPEndPoint(IPAddress.Loopback, 0), IoThreads = 1 });
        await server.StartAsync(TestContext.Current.CancellationToken);
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await server.StartAsync(TestContext.Current.CancellationToken));
        await server.DisposeAsync();
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await server.StartAsync(TestContext.Current.CancellationToken));
    }
}
