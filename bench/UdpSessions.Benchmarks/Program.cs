using BenchmarkDotNet.Running;

// dotnet run -c Release --project bench/UdpSessions.Benchmarks -- --filter '*'   (see bench/README.md)
BenchmarkSwitcher.FromAssembly(typeof(UdpSessions.Benchmarks.Fixtures).Assembly).Run(args);
