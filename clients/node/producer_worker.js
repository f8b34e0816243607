#!/usr/bin/env node
// producer_worker.js — Solidis's job queue (JOB.*) from Node.js, with ioredis.
//
// No special client is needed: every JOB.* command goes through ioredis's
// `call` (npm install ioredis).
//
//   node producer_worker.js produce [port] [count]   # enqueue jobs on "emails"
//   node producer_worker.js work [port]              # handle them; Ctrl-C / SIGTERM
//                                                    # stops after the current job
//
// The commands used:
//   JOB.ADD queue payload [DELAY ms] [PRIORITY n] [RETRIES n] ...  -> job id
//   JOB.FETCH queue [queue ...] COUNT n LEASE ms BLOCK ms          -> [[id, queue, payload, attempt], ...]
//                                                                     or null when BLOCK ran out
//   JOB.ACK id ...               done
//   JOB.NACK id ERROR text       failed: retried later with backoff, dead after RETRIES
//   JOB.EXTEND id ms             heartbeat: keep the lease while a long job runs
// A job whose lease runs out (the worker died) goes back to ready on its own.
"use strict";
const Redis = require("ioredis");

const QUEUE = "emails";
const LEASE_MS = 30000;

async function produce(redis, count) {
  for (let i = 0; i < count; i++) {
    const payload = JSON.stringify({ to: `user${i}@example.com`, subject: "hello" });
    // Lower PRIORITY numbers run first; failed jobs are retried up to 5 times.
    const id = await redis.call("JOB.ADD", QUEUE, payload, "PRIORITY", i % 3, "RETRIES", 5);
    console.log("added", id);
  }
  // One in a minute, and one that nobody else may enqueue twice while it is pending.
  await redis.call("JOB.ADD", QUEUE, JSON.stringify({ digest: true }), "DELAY", 60000);
  await redis.call("JOB.ADD", QUEUE, JSON.stringify({ report: "daily" }), "UNIQUE", "daily-report");
}

// Your work. Throw to fail the job.
async function handle(payload) {
  const job = JSON.parse(payload);
  if (job.to && job.to.startsWith("user13@")) throw new Error("mailbox full");
  console.log("  sending", job);
}

async function work(redis) {
  // A blocking JOB.FETCH holds its connection: heartbeats and ACKs use another.
  const fetcher = redis.duplicate();
  let stopping = false;
  const stop = () => {
    console.log("stopping after the current job");
    stopping = true;
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);

  while (!stopping) {
    // BLOCK waits on the server (no polling); 2 s bounds how long a stop waits.
    const jobs = await fetcher.call("JOB.FETCH", QUEUE, "COUNT", 1, "LEASE", LEASE_MS, "BLOCK", 2000);
    for (const [id, , payload, attempt] of jobs || []) {
      console.log("job", id, "attempt", attempt);
      // Heartbeat: renew the lease every third of it while the handler runs.
      const hb = setInterval(() => redis.call("JOB.EXTEND", id, LEASE_MS).catch(() => {}), LEASE_MS / 3);
      try {
        await handle(payload);
        await redis.call("JOB.ACK", id);
      } catch (e) {
        await redis.call("JOB.NACK", id, "ERROR", String(e && e.message ? e.message : e));
        console.log("  failed:", e.message);
      } finally {
        clearInterval(hb);
      }
    }
  }
  fetcher.disconnect();
}

async function main() {
  const [mode, port = "6379", count = "20"] = process.argv.slice(2);
  if (mode !== "produce" && mode !== "work") {
    console.error("usage: node producer_worker.js produce|work [port] [count]");
    process.exit(2);
  }
  const redis = new Redis({ host: "127.0.0.1", port: Number(port) });
  if (mode === "produce") await produce(redis, Number(count));
  else await work(redis);
  redis.disconnect();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
