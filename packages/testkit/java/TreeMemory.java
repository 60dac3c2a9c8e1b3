import java.util.ArrayList;
import java.util.List;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.data.ACL;
import org.apache.zookeeper.server.DataTree;

/**
 * Heap used by Apache ZooKeeper's own DataTree for N znodes of S data bytes (1000 children per
 * parent), for comparison with the zkts tree. Prints one JSON line.
 *
 * <p>Usage: TreeMemory [nodes] [size]
 */
public final class TreeMemory {
  private TreeMemory() {}

  private static long used() throws InterruptedException {
    Runtime rt = Runtime.getRuntime();
    for (int i = 0; i < 4; i++) {
      System.gc();
      Thread.sleep(100);
    }
    return rt.totalMemory() - rt.freeMemory();
  }

  public static void main(String[] args) throws Exception {
    int nodes = args.length > 0 ? Integer.parseInt(args[0]) : 1_000_000;
    int size = args.length > 1 ? Integer.parseInt(args[1]) : 100;
    int fanout = 1000;
    int parents = (nodes + fanout - 1) / fanout;
    List<ACL> acl = new ArrayList<>(ZooDefs.Ids.OPEN_ACL_UNSAFE);
    long before = used();
    DataTree tree = new DataTree();
    long zxid = 0;
    tree.createNode("/bench", new byte[0], acl, 0, -1, ++zxid, 0);
    for (int p = 0; p < parents; p++) {
      tree.createNode(String.format("/bench/p%06d", p), new byte[0], acl, 0, -1, ++zxid, 0);
    }
    int made = 0;
    long start = System.nanoTime();
    for (int c = 0; c < fanout && made < nodes; c++) {
      for (int p = 0; p < parents && made < nodes; p++) {
        byte[] data = new byte[size];
        java.util.Arrays.fill(data, (byte) 'a');
        tree.createNode(String.format("/bench/p%06d/n%06d", p, c), data, acl, 0, -1, ++zxid, made);
        made++;
      }
    }
    double secs = (System.nanoTime() - start) / 1e9;
    long after = used();
    System.out.println("{\"nodes\":" + made + ",\"heapBytes\":" + (after - before) + ",\"bytesPerNode\":"
        + ((after - before) / made) + ",\"createsPerSecond\":" + Math.round(made / secs) + "}");
  }
}
