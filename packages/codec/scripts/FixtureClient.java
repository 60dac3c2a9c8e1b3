// Drives Apache ZooKeeper's own Java client through a fixed script of requests, so that a recording
// proxy between it and the server can capture real protocol frames (see capture-fixtures.ts).
// Usage: java -cp <classes>:zookeeper.jar FixtureClient <host:port>
// It prints "DROP <session id in hex>" when it wants the proxy to cut that session's connection, then
// waits for the reconnect.

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.apache.zookeeper.AddWatchMode;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.Op;
import org.apache.zookeeper.OpResult;
import org.apache.zookeeper.WatchedEvent;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.ZooKeeper;
import org.apache.zookeeper.admin.ZooKeeperAdmin;
import org.apache.zookeeper.data.ACL;
import org.apache.zookeeper.data.Id;
import org.apache.zookeeper.data.Stat;

public final class FixtureClient {
    private static final Semaphore connected = new Semaphore(0);
    private static final Semaphore disconnected = new Semaphore(0);
    private static final Semaphore dataChanged = new Semaphore(0);
    private static final Semaphore connected2 = new Semaphore(0);
    private static final Semaphore disconnected2 = new Semaphore(0);

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static void step(String name) {
        System.out.println("STEP " + name);
        System.out.flush();
    }

    public static void main(String[] args) throws Exception {
        String connect = args[0];
        Watcher watcher = (WatchedEvent e) -> {
            System.out.println("EVENT " + e.getType() + " " + e.getState() + " " + e.getPath());
            System.out.flush();
            if (e.getType() == Watcher.Event.EventType.None) {
                if (e.getState() == Watcher.Event.KeeperState.SyncConnected) {
                    connected.release();
                } else if (e.getState() == Watcher.Event.KeeperState.Disconnected) {
                    disconnected.release();
                }
            } else if (e.getType() == Watcher.Event.EventType.NodeDataChanged) {
                dataChanged.release();
            }
        };
        ZooKeeperAdmin zk = new ZooKeeperAdmin(connect, 4000, watcher);
        if (!connected.tryAcquire(20, TimeUnit.SECONDS)) {
            throw new IllegalStateException("no connection");
        }
        List<ACL> open = ZooDefs.Ids.OPEN_ACL_UNSAFE;
        Stat stat = new Stat();

        step("create-persistent");
        zk.create("/fx", bytes("root"), open, CreateMode.PERSISTENT);
        step("create-ephemeral");
        zk.create("/fx/eph", bytes("e"), open, CreateMode.EPHEMERAL);
        step("create-persistent-sequential");
        zk.create("/fx/seq-", bytes("s"), open, CreateMode.PERSISTENT_SEQUENTIAL);
        step("create2-ephemeral-sequential");
        zk.create("/fx/eseq-", null, open, CreateMode.EPHEMERAL_SEQUENTIAL, stat);
        step("create-container");
        zk.create("/fx/container", bytes("c"), open, CreateMode.CONTAINER);
        step("create-ttl");
        zk.create("/fx/ttl", bytes("t"), open, CreateMode.PERSISTENT_WITH_TTL, stat, 60000L);

        step("getData-watch");
        zk.getData("/fx", true, stat);
        step("setData");
        zk.setData("/fx", bytes("root-v2"), -1);
        if (!dataChanged.tryAcquire(10, TimeUnit.SECONDS)) {
            throw new IllegalStateException("no notification");
        }
        step("getChildren2");
        zk.getChildren("/fx", false, stat);
        step("getChildren");
        zk.getChildren("/fx", false);
        step("exists");
        zk.exists("/fx", false);

        step("multi");
        zk.multi(Arrays.asList(
            Op.create("/fx/m1", bytes("m"), open, CreateMode.PERSISTENT),
            Op.setData("/fx/m1", bytes("m2"), 0),
            Op.check("/fx", 1),
            Op.delete("/fx/m1", -1)));
        step("multi-error");
        try {
            zk.multi(Arrays.asList(
                Op.create("/fx/m2", bytes("m"), open, CreateMode.PERSISTENT),
                Op.delete("/fx/missing", -1)));
        } catch (KeeperException expected) {
            // the failure is the point
        }
        step("multiRead");
        zk.multi(Arrays.asList(Op.getData("/fx"), Op.getChildren("/fx")));

        step("error-reply");
        try {
            zk.getData("/fx/missing", false, null);
        } catch (KeeperException.NoNodeException expected) {
            // NoNode reply
        }

        step("acl");
        List<ACL> acl = new ArrayList<>();
        acl.add(new ACL(ZooDefs.Perms.READ | ZooDefs.Perms.WRITE, new Id("world", "anyone")));
        acl.add(new ACL(ZooDefs.Perms.ALL, new Id("ip", "127.0.0.1")));
        zk.create("/fx/acl", bytes("a"), open, CreateMode.PERSISTENT);
        zk.setACL("/fx/acl", acl, -1);
        zk.getACL("/fx/acl", stat);
        step("sync");
        CountDownLatch synced = new CountDownLatch(1);
        zk.sync("/fx", (rc, path, ctx) -> synced.countDown(), null);
        synced.await(10, TimeUnit.SECONDS);
        step("counts");
        zk.getAllChildrenNumber("/fx");
        zk.getEphemerals("/fx");
        step("auth");
        zk.addAuthInfo("digest", bytes("user:secret"));
        step("whoAmI");
        zk.whoAmI();
        step("delete");
        zk.delete("/fx/acl", -1);
        step("reconfig");
        try {
            zk.reconfigure(null, null, "server.1=127.0.0.1:2888:3888:participant;2181", -1, null);
        } catch (KeeperException expected) {
            // standalone servers refuse reconfig
        }

        step("remove-watches");
        zk.create("/fx/r", bytes("r"), open, CreateMode.PERSISTENT);
        Watcher removable = (WatchedEvent e) -> { };
        zk.getData("/fx/r", removable, null);
        zk.removeWatches("/fx/r", removable, Watcher.WatcherType.Data, false);
        zk.exists("/fx/r", removable);
        zk.removeAllWatches("/fx/r", Watcher.WatcherType.Any, false);

        step("watches");
        zk.create("/fx/w", bytes("w"), open, CreateMode.PERSISTENT);
        zk.getData("/fx/w", true, null);
        zk.exists("/fx/not-yet", true);
        zk.getChildren("/fx", true);
        zk.addWatch("/fx/p", AddWatchMode.PERSISTENT);
        zk.addWatch("/fx", AddWatchMode.PERSISTENT_RECURSIVE);
        step("second-session");
        // Only one-shot watches: on reconnect this client sends the original SetWatches.
        Watcher watcher2 = (WatchedEvent e) -> {
            if (e.getType() == Watcher.Event.EventType.None) {
                if (e.getState() == Watcher.Event.KeeperState.SyncConnected) {
                    connected2.release();
                } else if (e.getState() == Watcher.Event.KeeperState.Disconnected) {
                    disconnected2.release();
                }
            }
        };
        ZooKeeper zk2 = new ZooKeeper(connect, 4000, watcher2);
        if (!connected2.tryAcquire(20, TimeUnit.SECONDS)) {
            throw new IllegalStateException("no second connection");
        }
        zk2.getData("/fx/w", true, null);
        zk2.exists("/fx/not-there", true);
        zk2.getChildren("/fx/w", true);
        System.out.println("DROP " + Long.toHexString(zk2.getSessionId()));
        System.out.flush();
        if (!disconnected2.tryAcquire(20, TimeUnit.SECONDS) || !connected2.tryAcquire(30, TimeUnit.SECONDS)) {
            throw new IllegalStateException("no reconnect of the second session");
        }
        step("second-close");
        zk2.close();

        step("ping");
        Thread.sleep(2500);

        step("reconnect");
        System.out.println("DROP " + Long.toHexString(zk.getSessionId()));
        System.out.flush();
        if (!disconnected.tryAcquire(20, TimeUnit.SECONDS) || !connected.tryAcquire(30, TimeUnit.SECONDS)) {
            throw new IllegalStateException("no reconnect");
        }
        step("after-reconnect");
        zk.setData("/fx/w", bytes("w2"), -1);
        if (!dataChanged.tryAcquire(10, TimeUnit.SECONDS)) {
            throw new IllegalStateException("no notification after reconnect");
        }
        step("close");
        zk.close();
        System.out.println("DONE");
        System.out.flush();
    }
}
