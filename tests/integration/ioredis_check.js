// ioredis against a server: node ioredis_check.js PORT [redis]
// Runs every check, prints "ok <name>" or "FAIL <name>: <why>" for each, and
// exits 1 if any failed. With "redis" as the 2nd argument (a real redis-server)
// the JOB.* check is left out. ioredis comes from tests/node_modules (make npm-deps).
"use strict";
const assert = require("assert/strict");
const Redis = require("ioredis");

const port = Number(process.argv[2]);
const isRedis = process.argv[3] === "redis";
const clients = [];
function client(opts = {}) {
  const c = new Redis({ host: "127.0.0.1", port, maxRetriesPerRequest: 1, ...opts });
  clients.push(c);
  return c;
}
const sleep = (ms) => new Promise((res) => setTimeout(res, ms));
const sorted = (a) => [...a].sort();

const checks = [];
const check = (name, fn) => checks.push([name, fn]);

check("strings", async (r) => {
  assert.equal(await r.set("s", "v"), "OK");
  assert.equal(await r.get("s"), "v");
  assert.equal(await r.get("missing"), null);
  assert.equal(await r.set("s", "w", "NX"), null);
  assert.equal(await r.set("s", "w", "XX", "GET"), "v");
  assert.equal(await r.set("e", "1", "EX", 100), "OK");
  assert.ok((await r.ttl("e")) > 90);
  assert.equal(await r.pttl("s"), -1);
  assert.equal(await r.incr("n"), 1);
  assert.equal(await r.incrby("n", 41), 42);
  assert.equal(await r.decr("n"), 41);
  assert.equal(await r.incrbyfloat("f", "1.5"), "1.5");
  assert.equal(await r.append("s", "xy"), 3);
  assert.equal(await r.strlen("s"), 3);
  assert.equal(await r.getrange("s", 1, -1), "xy");
  assert.deepEqual(await r.mget("s", "missing", "n"), ["wxy", null, "41"]);
  assert.equal(await r.mset({ a: "1", b: "2" }), "OK");
  assert.equal(await r.exists("a", "b", "missing"), 2);
  assert.equal(await r.getdel("a"), "1");
  assert.equal(await r.del("b", "missing"), 1);
  assert.equal(await r.type("s"), "string");
  assert.equal(await r.expire("s", 100), 1);
  assert.equal(await r.persist("s"), 1);
  assert.deepEqual(sorted(await r.keys("*")), ["e", "f", "n", "s"]);
  const buf = await r.getBuffer("s");
  assert.ok(Buffer.isBuffer(buf) && buf.toString() === "wxy");
  await r.set("bin", Buffer.from([0, 255, 13, 10]));
  assert.deepEqual([...(await r.getBuffer("bin"))], [0, 255, 13, 10]);
});

check("hashes", async (r) => {
  assert.equal(await r.hset("h", { a: "1", b: "2" }), 2);
  assert.equal(await r.hset("h", "a", "3", "c", "4"), 1);
  assert.deepEqual(await r.hgetall("h"), { a: "3", b: "2", c: "4" });
  assert.deepEqual(await r.hgetall("nohash"), {});
  assert.equal(await r.hget("h", "a"), "3");
  assert.deepEqual(await r.hmget("h", "a", "zz", "c"), ["3", null, "4"]);
  assert.equal(await r.hsetnx("h", "a", "9"), 0);
  assert.equal(await r.hincrby("h", "a", 10), 13);
  assert.equal(await r.hincrbyfloat("h", "f", "0.25"), "0.25");
  assert.equal(await r.hexists("h", "b"), 1);
  assert.equal(await r.hlen("h"), 4);
  assert.deepEqual(sorted(await r.hkeys("h")), ["a", "b", "c", "f"]);
  assert.deepEqual(sorted(await r.hvals("h")), ["0.25", "13", "2", "4"]);
  assert.equal(await r.hdel("h", "b", "zz"), 1);
  assert.equal(await r.hstrlen("h", "a"), 2);
  assert.equal(await r.hmset("h2", { x: "1" }), "OK");
  const seen = {};
  await new Promise((res, rej) => {
    r.hscanStream("h", { count: 1 }).on("data", (kv) => {
      for (let i = 0; i < kv.length; i += 2) seen[kv[i]] = kv[i + 1];
    }).on("end", res).on("error", rej);
  });
  assert.deepEqual(seen, { a: "13", c: "4", f: "0.25" });
});

check("lists", async (r) => {
  assert.equal(await r.rpush("l", "a", "b", "c"), 3);
  assert.equal(await r.lpush("l", "z"), 4);
  assert.deepEqual(await r.lrange("l", 0, -1), ["z", "a", "b", "c"]);
  assert.equal(await r.llen("l"), 4);
  assert.equal(await r.lindex("l", -1), "c");
  assert.equal(await r.lpop("l"), "z");
  assert.deepEqual(await r.lpop("l", 2), ["a", "b"]);
  assert.equal(await r.lpop("nolist"), null);
  assert.equal(await r.rpush("l", "d", "c"), 3);
  assert.equal(await r.lpos("l", "c"), 0);
  assert.deepEqual(await r.lpos("l", "c", "COUNT", 0), [0, 2]);
  assert.equal(await r.linsert("l", "BEFORE", "d", "x"), 4);
  assert.equal(await r.lrem("l", 0, "c"), 2);
  assert.equal(await r.lset("l", 0, "X"), "OK");
  assert.equal(await r.lmove("l", "l2", "LEFT", "RIGHT"), "X");
  assert.equal(await r.rpoplpush("l", "l2"), "d");
  assert.deepEqual(await r.lrange("l2", 0, -1), ["d", "X"]);
  assert.equal(await r.ltrim("l2", 0, 0), "OK");
  assert.deepEqual(await r.lmpop(2, "nolist", "l2", "LEFT"), ["l2", ["d"]]);
  assert.equal(await r.exists("l", "l2"), 0);
});

check("sets", async (r) => {
  assert.equal(await r.sadd("s1", "a", "b", "c", "a"), 3);
  assert.equal(await r.sadd("s2", ["b", "c", "d"]), 3);
  assert.deepEqual(sorted(await r.smembers("s1")), ["a", "b", "c"]);
  assert.equal(await r.sismember("s1", "a"), 1);
  assert.deepEqual(await r.smismember("s1", "a", "z"), [1, 0]);
  assert.equal(await r.scard("s1"), 3);
  assert.deepEqual(sorted(await r.sinter("s1", "s2")), ["b", "c"]);
  assert.deepEqual(sorted(await r.sunion("s1", "s2")), ["a", "b", "c", "d"]);
  assert.deepEqual(await r.sdiff("s1", "s2"), ["a"]);
  assert.equal(await r.sinterstore("s3", "s1", "s2"), 2);
  assert.equal(await r.sintercard(2, "s1", "s2"), 2);
  assert.equal(await r.smove("s1", "s2", "a"), 1);
  assert.equal(await r.srem("s2", "a", "zz"), 1);
  const popped = await r.spop("s3", 5);
  assert.deepEqual(sorted(popped), ["b", "c"]);
  assert.equal(await r.spop("s3"), null);
  assert.deepEqual(await r.smembers("s3"), []);
  assert.equal(typeof (await r.srandmember("s2")), "string");
});

check("sorted sets", async (r) => {
  assert.equal(await r.zadd("z", 1, "a", 2.5, "b", 3, "c"), 3);
  assert.equal(await r.zadd("z", "CH", 5, "a"), 1);
  assert.equal(await r.zscore("z", "b"), "2.5");
  assert.equal(await r.zscore("z", "zz"), null);
  assert.deepEqual(await r.zmscore("z", "a", "zz"), ["5", null]);
  assert.equal(await r.zincrby("z", "0.5", "b"), "3");
  assert.deepEqual(await r.zrange("z", 0, -1, "WITHSCORES"), ["b", "3", "c", "3", "a", "5"]);
  assert.deepEqual(await r.zrevrange("z", 0, 0), ["a"]);
  assert.deepEqual(await r.zrangebyscore("z", "(3", "+inf"), ["a"]);
  assert.deepEqual(await r.zrangebyscore("z", "-inf", "+inf", "LIMIT", 1, 1), ["c"]);
  assert.deepEqual(await r.zrange("z", "+inf", "-inf", "BYSCORE", "REV", "LIMIT", 0, 2), ["a", "c"]);
  assert.equal(await r.zrank("z", "c"), 1);
  assert.equal(await r.zrevrank("z", "c"), 1);
  assert.equal(await r.zrank("z", "zz"), null);
  assert.equal(await r.zcard("z"), 3);
  assert.equal(await r.zcount("z", 3, 3), 2);
  assert.deepEqual(await r.zpopmin("z"), ["b", "3"]);
  assert.deepEqual(await r.zpopmax("z", 5), ["a", "5", "c", "3"]);
  assert.equal(await r.zadd("z", "+inf", "top", "-inf", "bottom", "0.5", "tiny"), 3);
  assert.deepEqual(await r.zrange("z", 0, -1, "WITHSCORES"), ["bottom", "-inf", "tiny", "0.5", "top", "inf"]);
  assert.equal(await r.zadd("z", "INCR", 2, "tiny"), "2.5");
  assert.equal(await r.zrem("z", "top", "zz"), 1);
  assert.equal(await r.zremrangebyscore("z", "-inf", "(0"), 1);
  assert.deepEqual(await r.zrange("z", 0, -1), ["tiny"]);
  assert.deepEqual(await r.zmpop(1, "z", "MIN"), ["z", [["tiny", "2.5"]]]);
});

check("pipeline", async (r) => {
  const res = await r.pipeline().set("p", "1").incr("p").get("p").hset("ph", "f", "v").hgetall("ph")
    .lpush("p", "x").incr("nonint").exec();
  assert.equal(res.length, 7);
  assert.deepEqual(res.slice(0, 5), [[null, "OK"], [null, 2], [null, "2"], [null, 1], [null, { f: "v" }]]);
  assert.ok(res[5][0] instanceof Error && /^WRONGTYPE/.test(res[5][0].message), String(res[5][0]));
  assert.deepEqual(res[6], [null, 1]);
  // A pipeline whose command is unknown: that reply is an error, the others are fine.
  const res2 = await r.pipeline().call("NOSUCHCMD", "x").get("p").exec();
  assert.ok(res2[0][0] instanceof Error && /unknown command/i.test(res2[0][0].message), String(res2[0][0]));
  assert.deepEqual(res2[1], [null, "2"]);
  // Many commands in one write.
  const p = r.pipeline();
  for (let i = 0; i < 500; i++) p.rpush("big", String(i));
  const many = await p.exec();
  assert.deepEqual(many[499], [null, 500]);
});

check("multi/exec", async (r) => {
  await r.set("str", "abc");
  const res = await r.multi().set("m", "1").incr("str").incr("m").get("m").exec();
  assert.deepEqual(res[0], [null, "OK"]);
  assert.ok(res[1][0] instanceof Error && /not an integer/.test(res[1][0].message), String(res[1][0]));
  assert.deepEqual(res.slice(2), [[null, 2], [null, "2"]]);
  // An error while queueing (unknown command): EXECABORT, nothing applied.
  await assert.rejects(r.multi().set("m2", "x").call("NOSUCHCMD").exec(), /EXECABORT/);
  assert.equal(await r.exists("m2"), 0);
  // A wrong argument count is refused at queue time as well.
  await assert.rejects(r.multi().set("m2", "x").call("GET").exec(), /EXECABORT/);
  assert.equal(await r.exists("m2"), 0);
  // multi({pipeline: false}): each command answered QUEUED.
  assert.equal(await r.multi({ pipeline: false }), "OK");
  assert.equal(await r.set("m3", "y"), "QUEUED");
  assert.deepEqual(await r.exec(), [[null, "OK"]]);
  assert.equal(await r.discard().catch((e) => e.message), "ERR DISCARD without MULTI");
});

check("watch", async (r) => {
  const other = client();
  await r.set("w", "0");
  assert.equal(await r.watch("w"), "OK");
  await other.set("w", "changed");
  assert.equal(await r.multi().set("w", "mine").exec(), null);
  assert.equal(await r.get("w"), "changed");
  // Untouched watch: EXEC runs.
  await r.watch("w");
  assert.deepEqual(await r.multi().set("w", "mine").exec(), [[null, "OK"]]);
  assert.equal(await r.unwatch(), "OK");
});

check("blpop", async (r) => {
  const t0 = Date.now();
  assert.equal(await r.blpop("bl", 0.2), null);
  const waited = Date.now() - t0;
  assert.ok(waited >= 150 && waited < 2000, "blpop waited " + waited + " ms");
  const pusher = client();
  setTimeout(() => pusher.rpush("bl2", "hello"), 100);
  assert.deepEqual(await r.blpop("bl", "bl2", 2), ["bl2", "hello"]);
  await pusher.rpush("bl", "x", "y");
  assert.deepEqual(await r.brpop("bl", 1), ["bl", "y"]);
  assert.equal(await r.blmove("bl", "bl3", "LEFT", "LEFT", 1), "x");
  await r.zadd("bz", 1, "m");
  assert.deepEqual(await r.bzpopmin("bz", 1), ["bz", "m", "1"]);
});

check("pub/sub", async (r) => {
  const sub = client();
  const got = [];
  sub.on("message", (ch, msg) => got.push(["message", ch, msg]));
  sub.on("pmessage", (pat, ch, msg) => got.push(["pmessage", pat, ch, msg]));
  assert.equal(await sub.subscribe("ch1", "ch2"), 2);
  assert.equal(await sub.psubscribe("news.*"), 3);
  assert.equal(await r.publish("ch1", "hi"), 1);
  assert.equal(await r.publish("news.today", "extra"), 1);
  assert.equal(await r.publish("nobody", "x"), 0);
  assert.deepEqual(await r.pubsub("NUMSUB", "ch1", "nobody"), ["ch1", 1, "nobody", 0]);
  assert.equal(await r.pubsub("NUMPAT"), 1);
  for (let i = 0; i < 100 && got.length < 2; i++) await sleep(10);
  assert.deepEqual(got, [["message", "ch1", "hi"], ["pmessage", "news.*", "news.today", "extra"]]);
  assert.equal(await sub.unsubscribe("ch1"), 2);
  assert.equal(await r.publish("ch1", "gone"), 0);
  assert.equal(await r.publish("ch2", "still"), 1);
  for (let i = 0; i < 100 && got.length < 3; i++) await sleep(10);
  assert.deepEqual(got[2], ["message", "ch2", "still"]);
  // (ioredis's argument-less unsubscribe() never resolves while patterns remain,
  // against redis-server as well: name them.)
  assert.equal(await sub.unsubscribe("ch2"), 1);
  assert.equal(await sub.punsubscribe("news.*"), 0);
  // Out of subscriber mode, the connection runs ordinary commands again.
  assert.equal(await sub.ping(), "PONG");
  assert.equal(got.length, 3);
  // Buffers too.
  const bsub = client();
  const bgot = [];
  bsub.on("messageBuffer", (ch, msg) => bgot.push(msg));
  await bsub.subscribe("bin");
  await r.publish("bin", Buffer.from([0, 1, 2]));
  for (let i = 0; i < 100 && bgot.length < 1; i++) await sleep(10);
  assert.deepEqual([...bgot[0]], [0, 1, 2]);
});

check("scan", async (r) => {
  for (let i = 0; i < 30; i++) await r.set("scan:" + i, i);
  await r.set("other", "x");
  const keys = [];
  await new Promise((res, rej) => {
    r.scanStream({ match: "scan:*", count: 7 }).on("data", (k) => keys.push(...k)).on("end", res).on("error", rej);
  });
  assert.equal(new Set(keys).size, 30);
});

check("connection options", async (r) => {
  // connectionName (CLIENT SETNAME on connect), db (SELECT), keyPrefix.
  const c = client({ connectionName: "ioredis-check", db: 3, keyPrefix: "pre:" });
  assert.equal(await c.client("GETNAME"), "ioredis-check");
  await c.set("k", "v");
  assert.equal(await r.select(3), "OK");
  assert.deepEqual(await r.keys("*"), ["pre:k"]);
  assert.equal(await r.select(0), "OK");
  assert.deepEqual(await r.keys("*"), []);
  // Auto-pipelining: concurrent commands batched into one write.
  const ap = client({ enableAutoPipelining: true });
  const got = await Promise.all(Array.from({ length: 50 }, () => ap.incr("ap")));
  assert.deepEqual(got.slice(-1), [50]);
  // The ready check reads INFO; a subscribed connection may PING.
  assert.match(await r.info("server"), /redis_version:\d+\.\d+/);
  const sub = client();
  await sub.subscribe("c");
  assert.deepEqual(await sub.ping(), ["pong", ""]);
  assert.equal(await ap.quit(), "OK");
  await assert.rejects(ap.get("ap"), /Connection is closed/);
});

if (!isRedis) {
  check("JOB.* through call()", async (r) => {
    const q = "ioredis-" + Date.now();
    const id = await r.call("JOB.ADD", q, '{"n":1}', "PRIORITY", 1);
    assert.equal(typeof id, "string");
    const jobs = await r.call("JOB.FETCH", q, "COUNT", 1, "LEASE", 5000);
    assert.deepEqual(jobs, [[id, q, '{"n":1}', 1]]);
    assert.equal(await r.call("JOB.FETCH", q, "COUNT", 1, "BLOCK", 100), null);
    const g = await r.call("JOB.GET", id);
    const m = {};
    for (let i = 0; i < g.length; i += 2) m[g[i]] = g[i + 1];
    assert.equal(m.state, "running");
    assert.equal(await r.call("JOB.ACK", id), 1);
    assert.equal(await r.call("JOB.ACK", id), 0);
    // A blocking fetch woken by an add from another connection.
    const adder = client();
    setTimeout(() => adder.call("JOB.ADD", q, "later"), 100);
    const woke = await r.call("JOB.FETCH", q, "BLOCK", 2000);
    assert.equal(woke[0][2], "later");
    assert.equal(await r.call("JOB.ACK", woke[0][0]), 1);
    // A pipeline of job commands.
    const res = await r.pipeline().call("JOB.ADD", q, "a").call("JOB.ADD", q, "b").exec();
    assert.ok(res.every(([e, v]) => e === null && typeof v === "string"));
    await assert.rejects(r.call("JOB.ACK"), /wrong number of arguments/);
  });
}

async function main() {
  const r = client();
  let failed = 0;
  for (const [name, fn] of checks) {
    try {
      await r.flushall();
      await fn(r);
      console.log("ok " + name);
    } catch (e) {
      failed++;
      console.log("FAIL " + name + ": " + (e && e.stack ? e.stack.split("\n").slice(0, 6).join("\n  ") : e));
    }
  }
  for (const c of clients) c.disconnect();
  console.log(failed ? failed + " failed" : "all " + checks.length + " passed");
  process.exit(failed ? 1 : 0);
}

main().catch((e) => {
  console.error(e);
  process.exit(2);
});
