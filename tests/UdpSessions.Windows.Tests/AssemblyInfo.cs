using System.Runtime.Versioning;

// The whole lane runs on Windows (under Wine in CI); it only compiles elsewhere.
[assembly: SupportedOSPlatform("windows")]
