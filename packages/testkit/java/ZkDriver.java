import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.zookeeper.AddWatchMode;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.Op;
import org.apache.zookeeper.OpResult;
import org.apache.zookeeper.WatchedEvent;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.ZooKeeper;
import org.apache.zookeeper.data.ACL;
import org.apache.zookeeper.data.ClientInfo;
import org.apache.zookeeper.data.Id;
import org.apache.zookeeper.data.Stat;

/**
 * A JSON-lines driver over the Apache ZooKeeper Java client, for compatibility tests.
 *
 * <p>Each stdin line is one request: {"id": n, "op": "...", "client": "name", ...}. Each request gets
 * exactly one stdout line: {"id": n, "ok": true, ...} or {"id": n, "ok": false, "code": c, "codeName":
 * "...", "message": "..."}. Watch events of any client are printed as they arrive: {"event": true,
 * "client": "...", "type": "NodeCreated", "typeCode": 1, "state": "SyncConnected", "path": "..."}.
 * Longs (zxids, times, session ids) are written as decimal strings; data is base64 (null stays null).
 */
public final class ZkDriver {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final PrintStream OUT = new PrintStream(System.out, false, StandardCharsets.UTF_8);
  private static final Map<String, ZooKeeper> CLIENTS = new HashMap<>();
  private static final Object LOCK = new Object();

  private ZkDriver() {}

  public static void main(String[] args) throws Exception {
    String defaultConnect = args.length > 0 ? args[0] : "127.0.0.1:2181";
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    emit(JSON.createObjectNode().put("ready", true));
    String line;
    while ((line = in.readLine()) != null) {
      if (line.isBlank()) {
        continue;
      }
      JsonNode req;
      try {
        req = JSON.readTree(line);
      } catch (Exception e) {
        ObjectNode err = JSON.createObjectNode();
        err.put("ok", false).put("clientError", "BadJson").put("message", String.valueOf(e.getMessage()));
        emit(err);
        continue;
      }
      ObjectNode res = JSON.createObjectNode();
      res.set("id", req.get("id"));
      try {
        handle(req, res, defaultConnect);
        res.put("ok", true);
      } catch (KeeperException e) {
        res.put("ok", false);
        res.put("code", e.code().intValue());
        res.put("codeName", e.code().name());
        res.put("message", String.valueOf(e.getMessage()));
        List<OpResult> results = e.getResults();
        if (results != null) {
          res.set("results", opResults(results));
        }
      } catch (IllegalArgumentException e) {
        res.put("ok", false).put("clientError", "IllegalArgument").put("message", String.valueOf(e.getMessage()));
      } catch (Exception e) {
        res.put("ok", false).put("clientError", e.getClass().getSimpleName()).put("message", String.valueOf(e.getMessage()));
      }
      emit(res);
      if ("exit".equals(req.path("op").asText())) {
        break;
      }
    }
    for (ZooKeeper zk : CLIENTS.values()) {
      zk.close();
    }
    OUT.flush();
    System.exit(0);
  }

  private static void emit(ObjectNode node) {
    synchronized (LOCK) {
      OUT.println(node.toString());
      OUT.flush();
    }
  }

  private static ZooKeeper client(JsonNode req) {
    String name = req.path("client").asText("default");
    ZooKeeper zk = CLIENTS.get(name);
    if (zk == null) {
      throw new IllegalStateException("no client " + name + " (connect first)");
    }
    return zk;
  }

  private static byte[] data(JsonNode req) {
    JsonNode d = req.get("data");
    if (d == null || d.isNull()) {
      return null;
    }
    return Base64.getDecoder().decode(d.asText());
  }

  private static String b64(byte[] b) {
    return b == null ? null : Base64.getEncoder().encodeToString(b);
  }

  private static List<ACL> acl(JsonNode req) {
    JsonNode a = req.get("acl");
    List<ACL> out = new ArrayList<>();
    if (a == null || a.isNull()) {
      out.add(new ACL(31, new Id("world", "anyone")));
      return out;
    }
    for (JsonNode e : a) {
      out.add(new ACL(e.path("perms").asInt(), new Id(e.path("scheme").asText(), e.path("id").asText())));
    }
    return out;
  }

  private static ObjectNode stat(Stat s) {
    if (s == null) {
      return null;
    }
    ObjectNode n = JSON.createObjectNode();
    n.put("czxid", Long.toString(s.getCzxid()));
    n.put("mzxid", Long.toString(s.getMzxid()));
    n.put("ctime", Long.toString(s.getCtime()));
    n.put("mtime", Long.toString(s.getMtime()));
    n.put("version", s.getVersion());
    n.put("cversion", s.getCversion());
    n.put("aversion", s.getAversion());
    n.put("ephemeralOwner", Long.toString(s.getEphemeralOwner()));
    n.put("dataLength", s.getDataLength());
    n.put("numChildren", s.getNumChildren());
    n.put("pzxid", Long.toString(s.getPzxid()));
    return n;
  }

  private static ArrayNode aclJson(List<ACL> acl) {
    ArrayNode arr = JSON.createArrayNode();
    for (ACL a : acl) {
      ObjectNode n = JSON.createObjectNode();
      n.put("perms", a.getPerms());
      n.put("scheme", a.getId().getScheme());
      n.put("id", a.getId().getId());
      arr.add(n);
    }
    return arr;
  }

  private static ArrayNode opResults(List<OpResult> results) {
    ArrayNode arr = JSON.createArrayNode();
    for (OpResult r : results) {
      ObjectNode n = JSON.createObjectNode();
      if (r instanceof OpResult.CreateResult) {
        OpResult.CreateResult c = (OpResult.CreateResult) r;
        n.put("type", "create").put("path", c.getPath());
        n.set("stat", stat(c.getStat()));
      } else if (r instanceof OpResult.DeleteResult) {
        n.put("type", "delete");
      } else if (r instanceof OpResult.SetDataResult) {
        n.put("type", "setData");
        n.set("stat", stat(((OpResult.SetDataResult) r).getStat()));
      } else if (r instanceof OpResult.CheckResult) {
        n.put("type", "check");
      } else if (r instanceof OpResult.ErrorResult) {
        n.put("type", "error").put("code", ((OpResult.ErrorResult) r).getErr());
      } else {
        n.put("type", r.getClass().getSimpleName());
      }
      arr.add(n);
    }
    return arr;
  }

  private static Watcher eventPrinter(String name, CountDownLatch connected) {
    return (WatchedEvent e) -> {
      if (e.getState() == Watcher.Event.KeeperState.SyncConnected && e.getType() == Watcher.Event.EventType.None) {
        connected.countDown();
      }
      ObjectNode n = JSON.createObjectNode();
      n.put("event", true).put("client", name);
      n.put("type", e.getType().name()).put("typeCode", e.getType().getIntValue());
      n.put("state", e.getState().name());
      n.put("path", e.getPath());
      emit(n);
    };
  }

  private static void handle(JsonNode req, ObjectNode res, String defaultConnect) throws Exception {
    String op = req.path("op").asText();
    String path = req.path("path").asText(null);
    switch (op) {
      case "connect": {
        String name = req.path("client").asText("default");
        String cs = req.path("connectString").asText(defaultConnect);
        int timeout = req.path("sessionTimeout").asInt(30000);
        CountDownLatch connected = new CountDownLatch(1);
        ZooKeeper zk = new ZooKeeper(cs, timeout, eventPrinter(name, connected));
        if (!connected.await(req.path("connectTimeoutMs").asInt(20000), TimeUnit.MILLISECONDS)) {
          zk.close();
          throw new IllegalStateException("could not connect to " + cs);
        }
        ZooKeeper old = CLIENTS.put(name, zk);
        if (old != null) {
          old.close();
        }
        res.put("sessionId", Long.toString(zk.getSessionId()));
        res.put("sessionTimeout", zk.getSessionTimeout());
        return;
      }
      case "close": {
        String name = req.path("client").asText("default");
        ZooKeeper zk = CLIENTS.remove(name);
        if (zk != null) {
          zk.close();
        }
        return;
      }
      case "exit":
        return;
      case "create": {
        Stat s = new Stat();
        CreateMode mode = CreateMode.fromFlag(req.path("mode").asInt(0));
        long ttl = req.has("ttl") && !req.get("ttl").isNull() ? req.get("ttl").asLong() : -1;
        String created = client(req).create(path, data(req), acl(req), mode, s, ttl);
        res.put("path", created);
        res.set("stat", stat(s));
        return;
      }
      case "delete":
        client(req).delete(path, req.path("version").asInt(-1));
        return;
      case "exists":
        res.set("stat", stat(client(req).exists(path, req.path("watch").asBoolean(false))));
        return;
      case "getData": {
        Stat s = new Stat();
        byte[] d = client(req).getData(path, req.path("watch").asBoolean(false), s);
        res.put("data", b64(d));
        res.set("stat", stat(s));
        return;
      }
      case "setData":
        res.set("stat", stat(client(req).setData(path, data(req), req.path("version").asInt(-1))));
        return;
      case "getChildren": {
        List<String> children = client(req).getChildren(path, req.path("watch").asBoolean(false));
        ArrayNode arr = res.putArray("children");
        children.forEach(arr::add);
        return;
      }
      case "getChildren2": {
        Stat s = new Stat();
        List<String> children = client(req).getChildren(path, req.path("watch").asBoolean(false), s);
        ArrayNode arr = res.putArray("children");
        children.forEach(arr::add);
        res.set("stat", stat(s));
        return;
      }
      case "getACL": {
        Stat s = new Stat();
        List<ACL> a = client(req).getACL(path, s);
        res.set("acl", aclJson(a));
        res.set("stat", stat(s));
        return;
      }
      case "setACL":
        res.set("stat", stat(client(req).setACL(path, acl(req), req.path("version").asInt(-1))));
        return;
      case "multi": {
        List<Op> ops = new ArrayList<>();
        for (JsonNode o : req.path("ops")) {
          String t = o.path("op").asText();
          String p = o.path("path").asText();
          switch (t) {
            case "create": {
              CreateMode mode = CreateMode.fromFlag(o.path("mode").asInt(0));
              if (o.has("ttl") && !o.get("ttl").isNull()) {
                ops.add(Op.create(p, data(o), acl(o), mode, o.get("ttl").asLong()));
              } else {
                ops.add(Op.create(p, data(o), acl(o), mode));
              }
              break;
            }
            case "delete":
              ops.add(Op.delete(p, o.path("version").asInt(-1)));
              break;
            case "setData":
              ops.add(Op.setData(p, data(o), o.path("version").asInt(-1)));
              break;
            case "check":
              ops.add(Op.check(p, o.path("version").asInt(-1)));
              break;
            default:
              throw new IllegalArgumentException("unknown multi op " + t);
          }
        }
        res.set("results", opResults(client(req).multi(ops)));
        return;
      }
      case "sync": {
        CountDownLatch done = new CountDownLatch(1);
        int[] rc = new int[1];
        client(req).sync(path, (r, p, ctx) -> {
          rc[0] = r;
          done.countDown();
        }, null);
        if (!done.await(20, TimeUnit.SECONDS)) {
          throw new IllegalStateException("sync timed out");
        }
        if (rc[0] != 0) {
          throw KeeperException.create(KeeperException.Code.get(rc[0]), path);
        }
        return;
      }
      case "addAuth":
        client(req).addAuthInfo(req.path("scheme").asText(), req.path("auth").asText().getBytes(StandardCharsets.UTF_8));
        return;
      case "addWatch":
        client(req).addWatch(path, req.path("mode").asInt(0) == 1 ? AddWatchMode.PERSISTENT_RECURSIVE : AddWatchMode.PERSISTENT);
        return;
      case "removeWatches": {
        int type = req.path("watcherType").asInt(3);
        Watcher.WatcherType wt = Watcher.WatcherType.fromInt(type);
        client(req).removeAllWatches(path, wt, req.path("local").asBoolean(false));
        return;
      }
      case "getEphemerals": {
        List<String> eph = req.has("prefix") ? client(req).getEphemerals(req.get("prefix").asText()) : client(req).getEphemerals();
        ArrayNode arr = res.putArray("paths");
        eph.forEach(arr::add);
        return;
      }
      case "getAllChildrenNumber":
        res.put("count", client(req).getAllChildrenNumber(path));
        return;
      case "whoAmI": {
        ArrayNode arr = res.putArray("clientInfo");
        for (ClientInfo ci : client(req).whoAmI()) {
          arr.add(JSON.createObjectNode().put("authScheme", ci.getAuthScheme()).put("user", ci.getUser()));
        }
        return;
      }
      case "sessionId":
        res.put("sessionId", Long.toString(client(req).getSessionId()));
        return;
      default:
        throw new IllegalArgumentException("unknown op " + op);
    }
  }
}
