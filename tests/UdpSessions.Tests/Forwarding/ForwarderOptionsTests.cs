using System.Net;

namespace UdpSessions.Tests.Forwarding;

/// <summary>Forwarder settings: the README's example is valid as written, and bad settings are refused by name.</summary>
public class ForwarderOptionsTests
{
    [Fact]
    public void The_readme_example_is_valid()
    {
        var options = new UdpForwarderOptions { Server = { EndPoint = IPEndPoint.Parse("0.0.0.0:5353") }, Upstreams = { new UpstreamOptions(IPEndPoint.Parse("10.0.0.2:53")) } };
        options.Validate();
        Assert.Equal(UpstreamBalancing.ConsistentHash, options.Balancing);
    }

    [Theory]
    [InlineData("none", "Upstreams")]
    [InlineData("twice", "Upstreams")]
    [InlineData("weight", "Upstreams")]
    [InlineData("port0", "Upstreams")]
    [InlineData("mixed-round-robin", "Upstreams")]
    [InlineData("responses", "ResponsesPerRequest")]
    [InlineData("probe", "Health.Probe.Payload")]
    [InlineData("tcp", "Server")]
    public void Bad_settings_are_refused_by_name(string problem, string name)
    {
        var options = new UdpForwarderOptions();
        IPEndPoint upstream = IPEndPoint.Parse("127.0.0.1:53");
        if (problem != "none")
        {
            options.Upstreams.Add(new UpstreamOptions(upstream));
        }

        switch (problem)
        {
            case "twice": options.Upstreams.Add(new UpstreamOptions(upstream)); break;
            case "weight": options.Upstreams.Add(new UpstreamOptions(IPEndPoint.Parse("127.0.0.2:53")) { Weight = 0 }); break;
            case "port0": options.Upstreams.Add(new UpstreamOptions(IPEndPoint.Parse("127.0.0.2:0"))); break;
            case "mixed-round-robin":
                options.Upstreams.Add(new UpstreamOptions(IPEndPoint.Parse("[::1]:53")));
                options.Balancing = UpstreamBalancing.RoundRobin;
                break;
            case "responses": options.ResponsesPerRequest = 0; break;
            case "probe": options.Health.Probe = new UpstreamProbeOptions(); break;
            case "tcp": options.Server.Transport = SessionTransport.Tcp; break;
        }

        ArgumentException error = Assert.ThrowsAny<ArgumentException>(options.Validate);
        Assert.Equal(name, error.ParamName);
    }
}
