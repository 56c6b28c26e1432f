#!/usr/bin/env bash
# The user's path, from packages rather than from source: packs UdpSessions, UdpSessions.Hosting and the udps tool into
# a local folder and checks their metadata, installs the tool from that folder into a temporary tool path and runs
# `udps demo` with it, then builds a tiny console program (generated here) that references the packed UdpSessions
# package, not the project, and echoes one datagram over loopback. Exits non-zero at the first step that fails.
#   scripts/pack-check.sh              everything in a temporary folder, removed afterwards
#   scripts/pack-check.sh --keep DIR   the packages stay in DIR (e.g. to install them by hand: README, "Install")
# Needs the .NET SDK and NuGet (the console program's dependencies); builds in its own folder, so the tree's bin/ and
# obj/ are left alone.
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

keep=
case "${1:-}" in
  --keep) keep=${2:?usage: $0 [--keep DIR]} ;;
  "") ;;
  *) echo "usage: $0 [--keep DIR]" >&2; exit 2 ;;
esac

work=$(mktemp -d /tmp/udps-pack-check.XXXXXX)
trap 'rm -rf "$work"' EXIT
feed=${keep:-$work/packages}
mkdir -p "$feed" "$work/unpacked"
step() { echo "pack-check: $*"; }
fail() { echo "pack-check: FAIL: $*" >&2; exit 1; }

version=$(dotnet msbuild src/UdpSessions/UdpSessions.csproj -nologo -getProperty:Version)
step "packing version $version into $feed"
for project in src/UdpSessions src/UdpSessions.Hosting src/udps; do
  # ContinuousIntegrationBuild: deterministic paths (/_/) and SourceLink, as a release build.
  timeout 600 dotnet pack "$project" -c Release -o "$feed" --artifacts-path "$work/artifacts" \
    -p:ContinuousIntegrationBuild=true -nologo -v quiet -clp:NoSummary \
    || fail "dotnet pack $project"
done

# Each package, unpacked: its nuspec metadata, its readme, its symbol package with SourceLink in the PDB.
for id in UdpSessions UdpSessions.Hosting udps; do
  nupkg=$feed/$id.$version.nupkg snupkg=$feed/$id.$version.snupkg
  [[ -f $nupkg ]] || fail "$nupkg was not created"
  [[ -f $snupkg ]] || fail "$snupkg (symbols) was not created"
  unzip -q -o "$nupkg" -d "$work/unpacked/$id" && unzip -q -o "$snupkg" -d "$work/unpacked/$id.symbols" || fail "$id: cannot unzip"
  for expected in '<license type="expression">MIT</license>' '<readme>README.md</readme>' \
      '<repository type="git" url="https://github.com/udpsessions/udpsessions"' '<projectUrl>https://github.com/udpsessions/udpsessions</projectUrl>'; do
    grep -qF "$expected" "$work/unpacked/$id/$id.nuspec" || fail "$id: the nuspec lacks $expected"
  done
  [[ -f $work/unpacked/$id/README.md ]] || fail "$id: README.md is not in the package"
  pdbs=("$work/unpacked/$id.symbols"/lib/net10.0/*.pdb "$work/unpacked/$id.symbols"/tools/net10.0/any/*.pdb)
  grep -lqa 'raw.githubusercontent.com/udpsessions/udpsessions/' "${pdbs[@]}" 2>/dev/null || fail "$id: no SourceLink in its symbols"
  step "$id $version: licence, readme, repository, symbols with SourceLink ($(du -k "$nupkg" | cut -f1) KiB)"
done
grep -q '<packageType name="DotnetTool"' "$work/unpacked/udps/udps.nuspec" || fail "udps is not packed as a .NET tool"
[[ -f $work/unpacked/udps/tools/net10.0/any/DotnetToolSettings.xml ]] || fail "udps: no DotnetToolSettings.xml"
[[ -f $work/unpacked/UdpSessions/lib/net10.0/UdpSessions.xml ]] || fail "UdpSessions: no XML documentation"

# Restores from here on go to a fresh package folder: a package of the same version restored earlier (the global
# folder keeps the first one it saw) must not stand in for the one packed now.
export NUGET_PACKAGES=$work/nuget-packages

# NuGet reads the local folder for our packages (source mapping: never a same-named package from elsewhere).
cat > "$work/nuget.config" <<XML
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <clear />
    <add key="local" value="$feed" />
    <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
  </packageSources>
  <packageSourceMapping>
    <packageSource key="local">
      <package pattern="UdpSessions" />
      <package pattern="UdpSessions.*" />
      <package pattern="udps" />
    </packageSource>
    <packageSource key="nuget.org">
      <package pattern="*" />
    </packageSource>
  </packageSourceMapping>
</configuration>
XML

step "installing the udps tool from $feed into a temporary tool path"
timeout 300 dotnet tool install udps --version "$version" --tool-path "$work/tools" --configfile "$work/nuget.config" \
  || fail "dotnet tool install udps"
installed=$("$work/tools/udps" --version)
[[ $installed == "$version"* ]] || fail "the installed udps reports version $installed, not $version"
step "running the installed tool: udps demo"
timeout 120 "$work/tools/udps" demo --seconds 2 || fail "udps demo (from the installed tool) failed"
# The pictures need SkiaSharp's native library for this platform: from the package, it must have been kept.
echo '{ "categories": ["a", "b"], "series": ["s"], "panels": [ { "title": "t", "values": [[1, 2]] } ] }' > "$work/chart.json"
timeout 60 "$work/tools/udps" plot bars "$work/chart.json" --out "$work/chart.png" && [[ -s $work/chart.png ]] \
  || fail "udps plot (from the installed tool) drew nothing"

step "building a console program that references the UdpSessions $version package"
consumer=$work/consumer
mkdir -p "$consumer"
cp "$work/nuget.config" "$consumer/nuget.config"
cat > "$consumer/Consumer.csproj" <<XML
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <OutputType>Exe</OutputType>
    <TargetFramework>net10.0</TargetFramework>
    <Nullable>enable</Nullable>
    <ImplicitUsings>enable</ImplicitUsings>
    <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
  </PropertyGroup>
  <ItemGroup>
    <PackageReference Include="UdpSessions" Version="$version" />
  </ItemGroup>
</Project>
XML
cat > "$consumer/Program.cs" <<'CS'
using System.Net;
using System.Net.Sockets;
using UdpSessions;

// One datagram through a UdpSessions echo server over loopback; exit 1 unless the same bytes come back.
await using SessionServer server = await SessionServer.StartAsync(
    new SessionServerOptions { EndPoint = new IPEndPoint(IPAddress.Loopback, 0) }, new Echo());
using var client = new UdpClient(AddressFamily.InterNetwork);
byte[] datagram = "one datagram through the packed UdpSessions"u8.ToArray();
await client.SendAsync(datagram, server.LocalEndPoint);
try
{
    using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
    UdpReceiveResult reply = await client.ReceiveAsync(timeout.Token);
    if (!reply.Buffer.AsSpan().SequenceEqual(datagram))
    {
        Console.Error.WriteLine($"consumer: the echo differs from what was sent ({reply.Buffer.Length} bytes)");
        return 1;
    }

    Console.WriteLine($"consumer: {reply.Buffer.Length} bytes echoed by {server.LocalEndPoint} ({server.EngineDescription}), " +
        $"UdpSessions from {typeof(SessionServer).Assembly.Location}");
    return 0;
}
catch (OperationCanceledException)
{
    Console.Error.WriteLine("consumer: no echo within 10 s");
    return 1;
}

sealed class Echo : SessionHandler
{
    public override void OnDatagram(Session session, ReadOnlySpan<byte> datagram) => session.Send(datagram);
}
CS
timeout 300 dotnet build "$consumer" -c Release -o "$consumer/out" -nologo -v quiet -clp:NoSummary || fail "building the console program"
grep -q "\"UdpSessions/$version\": {" "$consumer/obj/project.assets.json" \
  && grep -A1 "\"UdpSessions/$version\": {" "$consumer/obj/project.assets.json" | grep -q '"type": "package"' \
  || fail "the console program did not resolve UdpSessions $version as a package"
timeout 60 dotnet "$consumer/out/Consumer.dll" || fail "the console program's echo"

step "PASS: packages packed and checked, tool installed and its demo passed, the package echoed a datagram"
