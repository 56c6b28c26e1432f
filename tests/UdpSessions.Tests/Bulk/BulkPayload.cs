namespace UdpSessions.Tests.Bulk;

/// <summary>Runs of datagrams whose every byte says which run, datagram and position it is, so that any loss, cut, merge or reordering shows.</summary>
internal static class BulkPayload
{
    /// <summary>The lengths of a run: <paramref name="count"/> datagrams of <paramref name="size"/> bytes, the last one shorter when it can be.</summary>
    public static int[] Lengths(int count, int size) =>
        [.. Enumerable.Range(0, count).Select(k => k == count - 1 && count > 1 && size > 1 ? Math.Max(1, (size * 2) / 3) : size)];

    public static byte[] Datagram(int run, int index, int length)
    {
        var datagram = new byte[length];
        for (int j = 0; j < length; j++)
        {
            datagram[j] = (byte)((run * 131) + (index * 31) + (j * 7));
        }

        return datagram;
    }

    /// <summary>The datagrams of a run, back to back, as <see cref="Session.SendBatch"/> takes them.</summary>
    public static byte[] Concatenated(int run, int[] lengths) =>
        [.. lengths.SelectMany((length, index) => Datagram(run, index, length))];
}
